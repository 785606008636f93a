/**
 * Simulation overhead: wall time per round of the paper protocol (Fashion-MNIST, paper CNN, 100 clients,
 * Dirichlet 0.3, 10% participation, batch 50) against the raw train-step time of the same steps, measured in the
 * same run with the same thread layout (W workers × 1 intra-op thread): ideal round time = steps × t_step / W.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { simulate } from '../src/sim/engine.js';
import { mergeConfig } from '../src/config/index.js';
import { Trainer } from '../src/runtime/trainer.js';
import { ARTIFACTS_DIR } from '../src/sim/engine.js';
import { Rng } from '../src/util/rng.js';

export interface SimOverhead {
  rounds: number; workers: number; secondsPerRound: number; stepMs: number; stepsPerRound: number; data: string;
  /** steps × t_step / workers: perfect splitting of steps across workers. */
  idealSecondsPerRound: number; overheadPct: number;
  /** Clients are indivisible: ⌈clients / workers⌉ × steps per client × t_step (equal-size clients). */
  scheduleSecondsPerRound: number; overheadVsSchedulePct: number;
}

export async function benchSimOverhead(opts: { rounds?: number; data?: string; workers?: number } = {}): Promise<SimOverhead> {
  const rounds = opts.rounds ?? 3;
  const workers = opts.workers ?? Math.min(2, os.cpus().length);
  const data = opts.data ?? 'fashion-mnist';
  const out = await mkdtemp(path.join(os.tmpdir(), 'fedman-simbench-'));
  try {
    const config = mergeConfig({
      data, model: 'cnn-mnist', clients: 100, partition: { scheme: 'dirichlet-equal', alpha: 0.3 }, participation: 0.1,
      rounds, localEpochs: 1, batchSize: 50, man: 0.15, workers, threads: 1, evalEvery: 1000, testLimit: 500,
    });
    const r = await simulate(config, { out });
    // Evaluation is not part of the protocol's per-round cost here (evalEvery > rounds; the last round evaluates).
    const timed = r.report.rounds.slice(0, -1);
    const steps = timed.reduce((s, m) => s + m.steps, 0);
    const seconds = timed.reduce((s, m) => s + m.seconds, 0);
    const trainer = await Trainer.load(path.join(out, ARTIFACTS_DIR), { threads: 1 });
    trainer.setHypers({ lr: 0.1, man_zeta: 0.15, weight_decay: 1e-3, clip_norm: 10 });
    const rng = new Rng(2);
    const x = Float32Array.from({ length: 50 * 784 }, () => rng.uniform());
    const y = BigInt64Array.from({ length: 50 }, () => BigInt(rng.int(10)));
    for (let i = 0; i < 3; i++) await trainer.step(x, y, 50);
    const n = Math.min(40, Math.max(10, Math.round(steps / Math.max(timed.length, 1))));
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await trainer.step(x, y, 50);
    const stepMs = (performance.now() - t0) / n;
    await trainer.release();
    const per = timed.length || 1;
    const ideal = (steps * stepMs) / 1000 / workers / per;
    const schedule = timed.reduce((s, m) => s + Math.ceil(m.participants.length / workers) * (m.steps / m.participants.length) * stepMs / 1000, 0) / per;
    const actual = seconds / per;
    return {
      rounds: timed.length, workers, secondsPerRound: actual, stepMs, stepsPerRound: steps / per, data,
      idealSecondsPerRound: ideal, overheadPct: 100 * (actual / ideal - 1),
      scheduleSecondsPerRound: schedule, overheadVsSchedulePct: 100 * (actual / schedule - 1),
    };
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}
