/**
 * The simulation engine end to end on tiny MNIST subsets and the zoo MLP: FedAvg against plain local training,
 * algorithm equivalences, SCAFFOLD's control variates, determinism across worker counts, resuming.
 */
import t from 'tap';
import path from 'node:path';
import { readFile, access } from 'node:fs/promises';
import { simulate } from '../../src/sim/engine.js';
import { mergeConfig } from '../../src/config/index.js';
import { readCheckpoint } from '../../src/sim/checkpoint.js';
import { readReport } from '../../src/sim/report.js';
import { clientRoundSeed } from '../../src/fl/round/index.js';
import { Trainer } from '../../src/runtime/trainer.js';
import { loadDataset } from '../../src/data/registry.js';
import { Rng } from '../../src/util/rng.js';
import { maxDiff } from '../helpers/vectors.js';
import { tmpDir } from '../data/tmpdir.js';

const tmp = tmpDir(t, 'fedman-sim-');
let runs = 0;
const BASE = {
  data: 'mnist', limit: 300, testLimit: 200, model: 'mlp', clients: 3, participation: 1, partition: { scheme: 'iid' },
  rounds: 2, localEpochs: 1, batchSize: 50, lr: 0.1, lrDecay: 0.9, man: 0.05, workers: 0,
};

async function run(overrides: Record<string, unknown>, out = path.join(tmp, `run-${runs++}`)) {
  const r = await simulate(mergeConfig(BASE, overrides), { out });
  return { ...r, out };
}

t.test('FedAvg with one client and full participation is plain local training with the Trainer', async (t) => {
  const r = await run({ clients: 1, rounds: 2, localEpochs: 2, momentum: 0.5 });
  const report = await readReport(r.out);
  const indices = report.partition.clients[0]!;
  t.equal(indices.length, 300);
  const data = await loadDataset('mnist', { limit: 300, testLimit: 200 });
  const tr = await Trainer.load(path.join(r.out, 'artifacts'), { threads: 1 });
  tr.setHypers({ weight_decay: 1e-3, clip_norm: 10, man_zeta: 0.05, momentum: 0.5 });
  for (let round = 1; round <= 2; round++) {
    tr.setHyper('lr', 0.1 * 0.9 ** (round - 1));
    tr.resetOptimizerState();
    const seeds = new Rng(clientRoundSeed(0, round, 0));
    for (let e = 0; e < 2; e++) await tr.trainEpoch(data.train, { batchSize: 50, seed: seeds.nextUint32(), indices });
  }
  const plain = tr.getParams();
  await tr.release();
  t.equal(maxDiff(r.global, plain), 0, 'bitwise equal');
  t.equal(report.rounds.length, 2);
  t.ok(report.rounds[1]!.trainMan > 0, 'MAN term reported');
  t.equal(report.rounds[1]!.lr, 0.1 * 0.9);
  await access(path.join(r.out, 'global.onnx'));
  const csv = await readFile(path.join(r.out, 'metrics.csv'), 'utf8');
  t.match(csv, /^round,lr,participants,train_loss,train_ce,train_man,train_accuracy,samples,steps,test_loss,test_accuracy,seconds\n1,/);
  t.match(await readFile(path.join(r.out, 'accuracy.svg'), 'utf8'), /^<svg[^>]*>[\s\S]*<path d="M/);
});

t.test('FedProx with μ = 0 equals FedAvg; FedAvgM with β = 0 and server lr 1 equals FedAvg', async (t) => {
  const avg = await run({ algorithm: 'fedavg' });
  const prox = await run({ algorithm: 'fedprox', algorithmOptions: { mu: 0 } });
  const avgm = await run({ algorithm: 'fedavgm', algorithmOptions: { momentum: 0, serverLr: 1 } });
  t.ok(maxDiff(prox.global, avg.global) <= 1e-6, `fedprox μ=0: ${maxDiff(prox.global, avg.global)}`);
  t.ok(maxDiff(avgm.global, avg.global) <= 1e-6, `fedavgm: ${maxDiff(avgm.global, avg.global)}`);
  const proxOn = await run({ algorithm: 'fedprox', algorithmOptions: { mu: 1 } });
  t.ok(maxDiff(proxOn.global, avg.global) > 1e-6, 'μ > 0 changes the result');
});

t.test('SCAFFOLD: the server control variate is the mean of the clients\' when all participate', async (t) => {
  const r = await run({ algorithm: 'scaffold', clientState: 'memory', rounds: 3 });
  const ck = await readCheckpoint(r.out);
  const c = ck!.server.vectors.c!;
  const clients = [...ck!.clients!.values()].map((v) => v.state.c!);
  t.equal(clients.length, 3);
  let worst = 0, norm = 0;
  for (let i = 0; i < c.length; i++) {
    const mean = (clients[0]![i]! + clients[1]![i]! + clients[2]![i]!) / 3;
    worst = Math.max(worst, Math.abs(c[i]! - mean));
    norm = Math.max(norm, Math.abs(mean));
  }
  t.ok(norm > 1e-3, `control variates are not trivially zero (max |c| = ${norm})`);
  t.ok(worst <= 1e-5 * Math.max(1, norm), `max |c − mean c_k| = ${worst}`);
});

t.test('determinism: same seed, same model; worker count does not matter; seed matters', async (t) => {
  const cfg = { algorithm: 'feddyn', clients: 5, clientsPerRound: 3, rounds: 2, partition: { scheme: 'dirichlet-equal', alpha: 0.5 } };
  const a = await run({ ...cfg, workers: 0 });
  const b = await run({ ...cfg, workers: 0 });
  const two = await run({ ...cfg, workers: 2 });
  t.equal(maxDiff(a.global, b.global), 0, 'same seed → same params');
  t.equal(maxDiff(a.global, two.global), 0, '2 worker threads = main thread');
  const ra = await readReport(a.out), rb = await readReport(two.out);
  t.same(ra.rounds.map((x) => x.participants), rb.rounds.map((x) => x.participants));
  t.same(ra.rounds.map((x) => x.testAccuracy), rb.rounds.map((x) => x.testAccuracy), 'metrics too');
  t.equal(rb.config.workers, 2);
  const c = await run({ ...cfg, seed: 1 });
  t.ok(maxDiff(a.global, c.global) > 0, 'another seed gives another model');
});

t.test('resume: 2 rounds, then 4 with the same --out, equals a fresh 4-round run', async (t) => {
  const cfg = { algorithm: 'feddc', clients: 4, participation: 0.5, rounds: 4, evalEvery: 2 };
  const fresh = await run(cfg);
  const out = path.join(tmp, 'resumed');
  const first = await run({ ...cfg, rounds: 2 }, out);
  t.equal(first.startRound, 1);
  const second = await run({ ...cfg, rounds: 4 }, out);
  t.equal(second.startRound, 3, 'continues at round 3');
  t.equal(maxDiff(second.global, fresh.global), 0, 'same final model');
  const rep = await readReport(out);
  t.same(rep.rounds.map((r) => r.round), [1, 2, 3, 4]);
  t.same(rep.rounds.map((r) => r.participants), (await readReport(fresh.out)).rounds.map((r) => r.participants));
  t.equal(rep.status.runs.length, 2);
  t.ok(rep.status.finished);
  // A resumed run must match the checkpoint's config.
  await t.rejects(run({ ...cfg, rounds: 5, man: 0.2 }, out), /holds a checkpoint of a different run \(config differs in: man\)/);
  await t.rejects(run({ ...cfg, rounds: 3 }, out), /already holds 4 completed rounds/);
});

t.test('FedSAM with ρ → 0 equals FedAvg (both passes at the same point); ρ > 0 differs; FedSpeed runs with MAN', async (t) => {
  const avg = await run({ algorithm: 'fedavg' });
  const tiny = await run({ algorithm: 'fedsam', algorithmOptions: { rho: 1e-12 } });
  t.ok(maxDiff(tiny.global, avg.global) <= 1e-6, `fedsam ρ→0: ${maxDiff(tiny.global, avg.global)}`);
  const sam = await run({ algorithm: 'fedsam' });
  t.ok(maxDiff(sam.global, avg.global) > 1e-6, 'ρ = 0.05 changes the result');
  const speed = await run({ algorithm: 'fedspeed', rounds: 1 });
  t.ok(speed.report.rounds[0]!.trainMan > 0, 'MAN term reported under FedSpeed');
  t.equal(speed.report.strategy.name, 'fedspeed');
});
