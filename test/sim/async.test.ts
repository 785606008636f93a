/**
 * Asynchronous buffered aggregation and heterogeneous fleets end to end, on tiny MNIST subsets and the zoo MLP: a
 * fleet that only adds the clock, determinism whatever the worker count (sync and async on a straggler fleet),
 * resuming an async run, algorithms that compose, trace-driven availability, and the outputs.
 */
import t from 'tap';
import path from 'node:path';
import { readFile, writeFile } from 'node:fs/promises';
import { simulate } from '../../src/sim/engine.js';
import { mergeConfig } from '../../src/config/index.js';
import { readCheckpoint } from '../../src/sim/checkpoint.js';
import { compareSvg, loadRuns, compareTable } from '../../src/sim/compare.js';
import { Fleet } from '../../src/sim/fleet/fleet.js';
import { DEFAULT_FLEET } from '../../src/config/fleet.js';
import { maxDiff } from '../helpers/vectors.js';
import { tmpDir } from '../data/tmpdir.js';

const tmp = tmpDir(t, 'fedman-async-');
let runs = 0;
const BASE = {
  data: 'mnist', limit: 300, testLimit: 200, model: 'mlp', clients: 6, participation: 1, partition: { scheme: 'iid' },
  rounds: 3, localEpochs: 1, batchSize: 25, lr: 0.1, lrDecay: 0.9, man: 0.05, workers: 0,
};
/** Log-normal speeds (task ≈ 1.6 s of transfers + 1 s of compute at the median) and 30% offline in 10 s cycles. */
const STRAGGLERS = { samplesPerSecond: { kind: 'lognormal', median: 50, sigma: 1 }, availability: { offlineFraction: 0.3, cycleSeconds: 10 } };
const ASYNC = { mode: 'async', concurrency: 3, bufferSize: 2, maxStaleness: 1 };

async function run(overrides: Record<string, unknown>, out = path.join(tmp, `run-${runs++}`)) {
  const r = await simulate(mergeConfig(BASE, overrides), { out });
  return { ...r, out };
}

t.test('a sync run on a fleet of equal, always-online clients is today\'s run, plus its clock', async (t) => {
  const cfg = { clientsPerRound: 3, algorithm: 'fedavgm' };
  const plain = await run(cfg);
  const clocked = await run({ ...cfg, fleet: { samplesPerSecond: 80 } });
  t.equal(maxDiff(clocked.global, plain.global), 0, 'bitwise the same model');
  const a = plain.report.rounds, b = clocked.report.rounds;
  const strip = ({ seconds: _s, evalSeconds: _e, simSeconds: _c, dropped: _d, ...rest }: (typeof a)[number]) => rest;
  t.same(b.map(strip), a.map(strip), 'same participants and metrics');
  t.ok(a.every((m) => m.simSeconds === undefined), 'no clock without a fleet');
  // Every client takes the same transfers; the round lasts as long as its largest participant's task.
  const fleet = Fleet.create({ ...DEFAULT_FLEET, samplesPerSecond: 80 }, 6, 0);
  const bytes = 4 * clocked.report.model.paramCount;
  let clock = 0;
  for (const m of b) {
    clock += Math.max(...m.participants.map((c) => fleet.taskSeconds(c, clocked.report.partition.clients[c]!.length, bytes, bytes)));
    t.ok(Math.abs(m.simSeconds! - clock) < 1e-9, `round ${m.round} ends at ${m.simSeconds!.toFixed(3)} s`);
    t.equal(m.dropped, 0);
  }
  const csv = await readFile(path.join(clocked.out, 'metrics.csv'), 'utf8');
  t.match(csv.split('\n')[0], /,seconds,sim_seconds,dropped$/);
});

t.test('determinism: workers 0, 1 and 2 train bitwise the same model, sync and async on a straggler fleet', async (t) => {
  for (const mode of ['sync', 'async']) {
    const cfg = { fleet: STRAGGLERS, ...(mode === 'async' ? { aggregation: ASYNC, algorithm: 'fedprox' } : {}) };
    const results = [];
    for (const workers of [0, 1, 2]) results.push(await run({ ...cfg, workers }));
    const [a, b, c] = results;
    t.equal(maxDiff(a!.global, b!.global), 0, `${mode}: 1 worker = main thread`);
    t.equal(maxDiff(a!.global, c!.global), 0, `${mode}: 2 workers = main thread`);
    const key = (r: typeof a) => r!.report.rounds.map((m) => [m.participants, m.simSeconds, m.dropped, m.meanStaleness, m.testAccuracy]);
    t.same(key(c), key(a), `${mode}: same participants, clock and metrics`);
    const rounds = a!.report.rounds;
    t.ok(rounds.every((m, i) => i === 0 || m.simSeconds! > rounds[i - 1]!.simSeconds!), `${mode}: the clock advances`);
    t.ok(rounds.some((m) => m.dropped! > 0), `${mode}: clients went offline mid-task`);
    t.ok(rounds.some((m) => m.participants.length > 1), `${mode}: several updates were aggregated together`);
    if (mode === 'async') {
      t.ok(rounds.every((m) => m.participants.length === 2), 'each version holds bufferSize updates');
      t.ok(rounds.every((m) => m.maxStaleness! <= 1), 'nothing staler than maxStaleness');
      t.equal(a!.report.config.aggregation.mode, 'async');
    }
  }
});

t.test('async resume: 2 versions, then 5 with the same --out, equal a fresh 5-version run', async (t) => {
  const cfg = { aggregation: { ...ASYNC, maxStaleness: null, concurrency: 4 }, fleet: STRAGGLERS, rounds: 5, evalEvery: 2 };
  const fresh = await run(cfg);
  const out = path.join(tmp, 'resumed');
  await run({ ...cfg, rounds: 2 }, out);
  const ckpt = await readCheckpoint(out);
  t.ok(ckpt!.versions && ckpt!.versions.size > 0, `the checkpoint keeps versions ${[...(ckpt!.versions?.keys() ?? [])]} of clients in flight`);
  const second = await run({ ...cfg, rounds: 5 }, out);
  t.equal(second.startRound, 3);
  t.equal(maxDiff(second.global, fresh.global), 0, 'same final model');
  t.same(second.report.rounds.map((m) => [m.participants, m.simSeconds]), fresh.report.rounds.map((m) => [m.participants, m.simSeconds]));
  t.ok(fresh.report.rounds.some((m) => m.meanStaleness! > 0), 'stale updates were part of it');
});

t.test('algorithms compose with async: FedAdam + MAN, FedProx anchored at the start version', async (t) => {
  const cfg = { aggregation: ASYNC, fleet: STRAGGLERS, rounds: 2 };
  const avg = await run({ ...cfg, algorithm: 'fedavg' });
  const prox0 = await run({ ...cfg, algorithm: 'fedprox', algorithmOptions: { mu: 0 } });
  t.ok(maxDiff(prox0.global, avg.global) <= 1e-6, `FedProx μ = 0 ≈ FedAvg (${maxDiff(prox0.global, avg.global)})`);
  const prox = await run({ ...cfg, algorithm: 'fedprox', algorithmOptions: { mu: 1 } });
  t.ok(maxDiff(prox.global, avg.global) > 1e-6, 'μ > 0 changes the result');
  const adam = await run({ ...cfg, algorithm: 'fedadam', man: 0.1 });
  t.ok(adam.report.rounds[1]!.trainMan > 0, 'MAN term reported');
  t.ok(maxDiff(adam.global, avg.global) > 1e-6, 'the server optimiser steps');
  const halfLr = await run({ ...cfg, algorithm: 'fedavg', aggregation: { ...ASYNC, serverLr: 0.5 } });
  t.ok(maxDiff(halfLr.global, avg.global) > 1e-6, 'serverLr scales the step');
  const csv = await readFile(path.join(avg.out, 'metrics.csv'), 'utf8');
  t.match(csv.split('\n')[0], /,seconds,sim_seconds,dropped,mean_staleness,max_staleness,stale_dropped$/);
  // compare: the async run against a sync one, by versions/rounds and by simulated hours.
  const sync = await run({ fleet: STRAGGLERS, rounds: 2, participation: 0.5 });
  const loaded = await loadRuns([avg.out, sync.out], 0.05);
  t.match(compareTable(loaded.map((r) => r.summary), 0.05), /mode\s+sim h\s+to 5\.00% \(round\)\s+to 5\.00% \(sim h\)/);
  t.same(loaded.map((r) => r.summary.mode), ['async', 'sync']);
  t.match(compareSvg(loaded, 'simHours'), /simulated hours/);
});

t.test('a trace decides who is online: a client offline after its window never takes part again', async (t) => {
  const trace = path.join(tmp, 'trace.json');
  await writeFile(trace, JSON.stringify({ format: 'fedman-fleet-trace', clients: [{ id: 5, samplesPerSecond: 1000, online: [[0, 0.5]] }, { id: 2, uplinkMbps: 0.5 }] }));
  const r = await run({ fleet: { trace }, rounds: 2 });
  const [r1, r2] = r.report.rounds;
  t.same(r1!.participants, [0, 1, 2, 3, 4], 'client 5 went offline during the first round');
  t.equal(r1!.dropped, 1);
  t.same(r2!.participants, [0, 1, 2, 3, 4], 'and was not sampled again');
  t.equal(r2!.dropped, 0);
  await writeFile(trace, JSON.stringify({ format: 'fedman-fleet-trace', clients: [] }));
  await t.rejects(run({ fleet: { trace }, rounds: 3 }, r.out), /followed another fleet trace/);
});
