/**
 * Asynchronous against synchronous aggregation in simulation, at equal simulated wall-clock time, on a
 * straggler-heavy fleet: log-normal training speeds (σ = 1: the slowest of 100 clients ~10× slower than the
 * median), 30% of the clients offline at any moment (on/off periods averaging 42 and 18 minutes). MNIST, the zoo
 * MLP, FedAvg. Three runs: sync rounds that wait for every participant, sync rounds with a deadline (what arrived
 * by then is aggregated), and FedBuff-style async (same clients training at once as the deadline run samples).
 * The first run sets the simulated-time horizon, the others run until they reach it. Reported: simulated hours to
 * the target test accuracy, and the accuracy at the horizon.
 *
 *   npx tsx bench/async-sim.ts [--rounds 150] [--target 0.85]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { mergeConfig } from '../src/config/index.js';
import { simulate } from '../src/sim/engine.js';
import type { RoundMetrics } from '../src/fl/round/index.js';

export interface AsyncSimRun {
  label: string;
  rounds: number;
  /** Simulated hours at the end, and to the first evaluation at or above the target (null: not reached). */
  simHours: number; hoursToTarget: number | null; roundsToTarget: number | null;
  finalAccuracy: number;
  /** Test accuracy of the last evaluated model at or before the common horizon. */
  accuracyAtHorizon: number;
  wallSeconds: number;
  meanDropped: number;
  /** Client updates aggregated (the training work done). */
  updates: number;
}

export interface AsyncSimBench { target: number; horizonHours: number; runs: AsyncSimRun[]; command: string; fleet: unknown; base: Record<string, unknown> }

export const FLEET = {
  samplesPerSecond: { kind: 'lognormal', median: 20, sigma: 1 }, downlinkMbps: 20, uplinkMbps: 5,
  availability: { offlineFraction: 0.3, cycleSeconds: 3600 },
};

export async function benchAsyncSim(opts: { rounds?: number; target?: number; workers?: number } = {}): Promise<AsyncSimBench> {
  const rounds = opts.rounds ?? 150, target = opts.target ?? 0.85;
  const base = {
    data: 'mnist', limit: 20000, testLimit: 2000, model: 'mlp', clients: 100, partition: 'dirichlet-equal:0.3',
    localEpochs: 2, batchSize: 50, lr: 0.05, lrDecay: 1, rounds, evalEvery: 5, workers: opts.workers ?? Math.min(2, os.cpus().length), fleet: FLEET,
  };
  const variants: [string, Record<string, unknown>][] = [
    ['sync, waits for all 10', { clientsPerRound: 10 }],
    ['sync, 10 per round, 60 s deadline', { clientsPerRound: 10, fleet: { ...FLEET, roundDeadline: 60 } }],
    ['async, 20 training, buffer 10', { aggregation: { mode: 'async', concurrency: 20, bufferSize: 10 } }],
  ];
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fedman-asyncbench-'));
  const done: { label: string; metrics: RoundMetrics[]; wall: number }[] = [];
  const lastHours = (m: RoundMetrics[]) => m[m.length - 1]!.simSeconds! / 3600;
  try {
    // The first run sets the simulated-time horizon; the others are extended (resumed with more rounds) to reach it.
    let horizon = Infinity;
    for (const [label, o] of variants) {
      const out = path.join(dir, String(done.length));
      const t0 = performance.now();
      let n = rounds;
      let r = await simulate(mergeConfig({ ...base, ...o, rounds: n }), { out });
      while (horizon !== Infinity && lastHours(r.report.rounds) < horizon && n < 20 * rounds) {
        n = Math.min(20 * rounds, Math.ceil(n * Math.min(4, (1.05 * horizon) / lastHours(r.report.rounds))) + 1);
        r = await simulate(mergeConfig({ ...base, ...o, rounds: n }), { out });
      }
      if (horizon === Infinity) horizon = lastHours(r.report.rounds);
      done.push({ label, metrics: r.report.rounds, wall: (performance.now() - t0) / 1000 });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const hours = (m: RoundMetrics) => m.simSeconds! / 3600;
  const horizon = Math.min(...done.map((d) => hours(d.metrics[d.metrics.length - 1]!)));
  const runs = done.map(({ label, metrics, wall }) => {
    const evaluated = metrics.filter((m) => m.testAccuracy !== undefined);
    const hit = evaluated.find((m) => m.testAccuracy! >= target);
    const atHorizon = evaluated.filter((m) => hours(m) <= horizon + 1e-9).pop();
    return {
      label, rounds: metrics.length, simHours: hours(metrics[metrics.length - 1]!), hoursToTarget: hit ? hours(hit) : null, roundsToTarget: hit?.round ?? null,
      finalAccuracy: evaluated[evaluated.length - 1]!.testAccuracy!, accuracyAtHorizon: atHorizon?.testAccuracy ?? 0, wallSeconds: wall,
      meanDropped: metrics.reduce((s, m) => s + (m.dropped ?? 0), 0) / metrics.length,
      updates: metrics.reduce((s, m) => s + m.participants.length, 0),
    };
  });
  return { target, horizonHours: horizon, runs, fleet: FLEET, base, command: `npx tsx bench/async-sim.ts --rounds ${rounds} --target ${target}` };
}

export function asyncSimMarkdown(b: AsyncSimBench): string {
  const f = (x: number | null, d = 2) => (x === null ? 'not reached' : x.toFixed(d));
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  return `## Async vs sync aggregation at equal simulated time (issue 15)

\`${b.command}\`: MNIST (first ${b.base.limit} training samples, ${b.base.testLimit} test), the zoo MLP, FedAvg, 100 clients
(Dirichlet δ = 0.3), ${b.base.localEpochs} local epochs, batch ${b.base.batchSize}, lr ${b.base.lr}, evaluation every ${b.base.evalEvery} rounds/versions. Fleet: training
speed log-normal (median 20 samples/s, σ = 1), 20 Mbit/s down, 5 Mbit/s up, 30% of the clients offline at any
moment (on/off periods of mean 42 and 18 minutes). The first run's ${b.runs[0]!.rounds} rounds set the simulated-time horizon
(${b.horizonHours.toFixed(2)} h); the others run (resuming with more rounds or versions) until they reach it. An async version holds 10 updates,
the training work of a 10-client round. Accuracy is on ${b.base.testLimit} test samples, evaluated every ${b.base.evalEvery} rounds/versions.

| run | simulated h to ${pct(b.target)} | rounds/versions to ${pct(b.target)} | accuracy at ${b.horizonHours.toFixed(2)} h | rounds/versions | updates aggregated | dropped per round | wall s |
|---|---|---|---|---|---|---|---|
${b.runs.map((r) => `| ${r.label} | ${f(r.hoursToTarget)} | ${r.roundsToTarget ?? 'not reached'} | ${pct(r.accuracyAtHorizon)} | ${r.rounds} | ${r.updates} | ${r.meanDropped.toFixed(2)} | ${r.wallSeconds.toFixed(0)} |`).join('\n')}
`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name: string) => { const i = process.argv.indexOf(name); return i > 0 ? Number(process.argv[i + 1]) : undefined; };
  const b = await benchAsyncSim({ rounds: arg('--rounds'), target: arg('--target') });
  process.stdout.write(asyncSimMarkdown(b));
}
