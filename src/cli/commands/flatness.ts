/** `fedman flatness`: top Hessian eigenvalue (and Hutchinson trace) of a model's training loss on a data subset. */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { loadDataset, DATASET_SPEC_HELP } from '../../data/registry.js';
import { measureFlatness, type FlatnessReport } from '../../flatness/index.js';
import { parseManLayers } from '../../training/man.js';
import { zooNames } from '../../../models/index.js';
import { device, DEVICE_HELP, int, num } from '../parse.js';

function choice<T extends string>(flag: string, values: readonly T[]) {
  return (v: string): T => {
    if ((values as readonly string[]).includes(v)) return v as T;
    throw new InvalidArgumentError(`${flag} expects one of ${values.join(', ')}, got '${v}'`);
  };
}

export function registerFlatness(program: Command): void {
  program
    .command('flatness')
    .description('flatness of the training loss: top Hessian eigenvalue (Lanczos or power iteration) and Hessian trace (Hutchinson), from exact Hessian-vector products')
    .requiredOption('--model <model>', `a .onnx model (e.g. a simulation's global.onnx), an artifacts directory, or a zoo name (${zooNames().join(', ')})`)
    .option('--data <spec>', `dataset:\n${DATASET_SPEC_HELP}`, 'mnist')
    .option('--split <name>', 'train or test', choice('--split', ['train', 'test'] as const), 'train')
    .option('--samples <n>', 'use the first N samples of the split', int('--samples', 1), 1000)
    .option('--batch-size <n>', 'samples per Hessian-vector product batch (memory vs speed; the result is the same)', int('--batch-size', 1), 128)
    .option('--man <zeta>', 'include MAN with strength ζ in the loss (0 = cross-entropy only)', num('--man', { min: 0 }), 0)
    .option('--man-layers <spec>', "activations MAN penalises: 'auto' or comma-separated tensor names", 'auto')
    .option('--method <m>', 'lanczos (accurate on indefinite Hessians) or power (the paper protocol: PyHessian power iteration)', choice('--method', ['lanczos', 'power'] as const), 'lanczos')
    .option('--iters <n>', 'maximum iterations (power) or Lanczos steps', int('--iters', 1), 100)
    .option('--tol <x>', 'relative tolerance: change of the estimate (power) or residual bound (lanczos)', num('--tol', { min: 0 }), 1e-3)
    .option('--trace <k>', 'also estimate the trace with K Rademacher vectors (0 = skip)', int('--trace', 0), 0)
    .option('--seed <n>', 'seed of the start and Rademacher vectors', int('--seed'), 0)
    .option('--normalize', "normalise inputs with the dataset's standard channel statistics (as the model was trained)")
    .option('--threads <n>', 'ONNX Runtime intra-op threads (0 = all cores)', int('--threads', 0), 0)
    .option('--device <name>', DEVICE_HELP, device(), 'cpu')
    .option('--json', 'print the result as JSON')
    .action(async (o) => {
      const data = await loadDataset(o.data, { limit: o.samples, testLimit: o.samples, normalize: !!o.normalize });
      const ds = o.split === 'test' ? data.test : data.train;
      const r = await measureFlatness(o.model, ds, {
        samples: o.samples, batchSize: o.batchSize, zeta: o.man, manLayers: parseManLayers(o.manLayers),
        method: o.method, maxIter: o.iters, tol: o.tol, trace: o.trace, seed: o.seed, threads: o.threads, device: o.device,
      });
      if (o.json) process.stdout.write(JSON.stringify({ model: o.model, data: o.data, split: o.split, ...r }) + '\n');
      else for (const line of formatFlatness(o.model, ds.name, r)) console.log(line);
    });
}

/** Human-readable summary lines of a flatness measurement. */
export function formatFlatness(model: string, dataName: string, r: FlatnessReport): string[] {
  const e = r.topEigenvalue;
  const loss = r.zeta > 0 ? `CE + MAN (ζ = ${r.zeta}, ${r.manLayers.length} layers)` : 'CE';
  const lines = [
    `${model}: ${r.paramCount.toLocaleString('en-US')} parameters; Hessian of the mean ${loss} over ${r.samples} samples of ${dataName} (loss ${r.totalLoss.toFixed(5)})`,
    `top eigenvalue ${e.eigenvalue.toPrecision(6)} (${e.method}, ${e.iterations} iterations, ${e.converged ? 'converged' : 'NOT converged'}`
      + `${e.method === 'lanczos' ? `, residual ${e.residual!.toExponential(1)}, smallest Ritz value ${e.minRitz!.toPrecision(4)}` : ''}`
      + `${e.shift !== undefined ? `, shifted by ${e.shift.toPrecision(4)}: the dominant eigenvalue was negative` : ''})`,
  ];
  if (r.trace) lines.push(`trace ${r.trace.trace.toPrecision(5)} ± ${r.trace.stderr.toPrecision(3)} (Hutchinson, ${r.trace.vectors} Rademacher vectors; ± one standard error)`);
  lines.push(`${r.seconds.toFixed(1)} s (${(1000 * r.secondsPerHvp).toFixed(0)} ms per Hessian-vector product)`);
  return lines;
}
