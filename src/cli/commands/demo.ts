/**
 * `fedman demo` (what `npm start` runs): the default experiment on the embedded MNIST data — the paper CNN,
 * 100 clients, Dirichlet δ = 0.3 label skew, 10% participation — FedAvg against FedAvg + MAN, same seed and
 * partition. Sized for about 10 minutes on 2 cores; rerunning resumes. Prints the comparison and the report paths.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { mergeConfig } from '../../config/index.js';
import { simulate } from '../../sim/engine.js';
import { loadRuns, compareTable, compareSvg } from '../../sim/compare.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { int, num } from '../parse.js';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('default experiment: FedAvg vs FedAvg + MAN on MNIST (paper CNN, 100 clients, Dirichlet 0.3, 10% participation)')
    .option('--out <dir>', 'output directory (one sub-directory per run; rerun to resume)', 'runs/demo')
    .option('--rounds <n>', 'communication rounds per run', int('--rounds', 1), 30)
    .option('--epochs <n>', 'local epochs per round', int('--epochs', 1), 2)
    .option('--man <zeta>', 'MAN strength ζ for the MAN run', num('--man', { min: 0 }), 0.15)
    .option('--model <name>', 'zoo model', 'cnn-mnist')
    .option('--eval-every <n>', 'evaluate the global model every n rounds', int('--eval-every', 1), 5)
    .option('--test-limit <n>', 'test samples used for evaluation', int('--test-limit', 1), 10000)
    .option('--seed <n>', 'seed (partition, sampling, initial weights)', int('--seed'), 0)
    .option('--flatness <samples>', 'training samples for the final models\' Hessian top eigenvalue (0 = skip)', int('--flatness'), 500)
    .action(async (o) => {
      const base = {
        data: 'mnist', model: o.model, clients: 100, partition: { scheme: 'dirichlet-equal', alpha: 0.3 }, participation: 0.1,
        rounds: o.rounds, localEpochs: o.epochs, evalEvery: o.evalEvery, testLimit: o.testLimit, seed: o.seed, algorithm: 'fedavg',
        flatnessSamples: o.flatness,
      };
      const runs = [
        { dir: path.join(o.out, 'fedavg'), name: 'FedAvg', man: 0 },
        { dir: path.join(o.out, 'fedavg-man'), name: `FedAvg + MAN (ζ = ${o.man})`, man: o.man },
      ];
      for (const run of runs) {
        process.stderr.write(`\n== ${run.name}: ${o.rounds} rounds → ${run.dir}\n`);
        const config = mergeConfig({ ...base, name: run.name, man: run.man }, {}, 'demo');
        await simulate(config, { out: run.dir, log: (line) => process.stderr.write(line + '\n') });
      }
      const loaded = await loadRuns(runs.map((r) => r.dir));
      const svg = path.join(o.out, 'accuracy.svg');
      await writeFileAtomic(svg, compareSvg(loaded));
      console.log('\n' + compareTable(loaded.map((r) => r.summary)));
      const eig = loaded.map((r, i) => (r.report.flatness ? `${runs[i]!.name}: ${r.report.flatness.topEigenvalue.eigenvalue.toFixed(3)}` : null)).filter(Boolean);
      if (eig.length) console.log(`\ntop Hessian eigenvalue of the training loss (CE) at the final global model (lower = flatter):\n  ${eig.join('\n  ')}`);
      console.log(`\nreports: ${runs.map((r) => path.join(r.dir, 'report.json')).join(', ')}\ncombined plot: ${svg}`);
    });
}
