/**
 * Train-step throughput of fedman's generated graphs on onnxruntime-node: ms/step for a zoo model with and
 * without MAN, measured interleaved (A/B/A/B...) so machine noise hits both alike.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createArtifacts } from '../src/training/artifacts.js';
import { Trainer } from '../src/runtime/trainer.js';
import { ZOO } from '../models/index.js';
import { Rng } from '../src/util/rng.js';

export interface StepTiming { msPerStep: number; samplesPerSecond: number }
export interface ManPair { model: string; batch: number; threads: number; off: StepTiming; on: StepTiming; overheadPct: number; gflopPerStep: number; gflops: number }

/** Training FLOPs of a zoo model per step: forward + weight grads + input grads (except the first layer's). */
export function trainFlops(model: string, batch: number): number {
  const entry = ZOO[model]!;
  let [c, h, w] = entry.inputShape as [number, number, number];
  let flops = 0;
  let first = true;
  for (const layer of entry.layers(entry.numClasses)) {
    if (layer.kind === 'conv') {
      const ho = h - layer.k + 1 + 2 * (layer.pad ?? 0), wo = w - layer.k + 1 + 2 * (layer.pad ?? 0);
      const f = 2 * layer.out * c * layer.k * layer.k * ho * wo * batch;
      flops += f * (first ? 2 : 3);
      [c, h, w] = [layer.out, ho, wo];
      first = false;
    } else if (layer.kind === 'maxpool') { h = Math.floor(h / layer.k); w = Math.floor(w / layer.k); }
    else if (layer.kind === 'flatten') { c = c * h * w; h = 1; w = 1; }
    else if (layer.kind === 'linear') { flops += 2 * c * layer.out * batch * (first ? 2 : 3); c = layer.out; first = false; }
  }
  return flops;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export interface TrainStepBenchOptions {
  batch?: number; threads?: number; rounds?: number; stepsPerRound?: number; zeta?: number; lr?: number;
  /** For a .onnx model: per-sample input shape and classes (zoo models know theirs). */
  inputShape?: number[]; numClasses?: number; label?: string;
}

export async function benchTrainStep(model: string, opts: TrainStepBenchOptions = {}): Promise<ManPair> {
  const batch = opts.batch ?? 50, threads = opts.threads ?? 2, rounds = opts.rounds ?? 5, steps = opts.stepsPerRound ?? 10, zeta = opts.zeta ?? 0.15;
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'fedman-bench-'));
  try {
    await createArtifacts(model, tmp, { optimizer: 'sgd' });
    const trainer = await Trainer.load(tmp, { threads });
    trainer.setHypers({ lr: opts.lr ?? 0.01, weight_decay: 1e-3, clip_norm: 10 });
    const shape = opts.inputShape ?? ZOO[model]!.inputShape;
    const classes = opts.numClasses ?? ZOO[model]!.numClasses;
    const rng = new Rng(1);
    const x = Float32Array.from({ length: batch * shape.reduce((a, b) => a * b, 1) }, () => rng.uniform());
    const y = BigInt64Array.from({ length: batch }, () => BigInt(rng.int(classes)));
    const run = async (z: number) => {
      trainer.setHyper('man_zeta', z);
      const t0 = performance.now();
      for (let i = 0; i < steps; i++) await trainer.step(x, y, batch);
      return (performance.now() - t0) / steps;
    };
    await run(0); await run(zeta); // warm-up
    const off: number[] = [], on: number[] = [];
    for (let r = 0; r < rounds; r++) { off.push(await run(0)); on.push(await run(zeta)); }
    await trainer.release();
    const mOff = median(off), mOn = median(on);
    const gflop = ZOO[model] ? trainFlops(model, batch) / 1e9 : NaN;
    return {
      model: opts.label ?? model, batch, threads,
      off: { msPerStep: mOff, samplesPerSecond: (1000 * batch) / mOff },
      on: { msPerStep: mOn, samplesPerSecond: (1000 * batch) / mOn },
      overheadPct: 100 * (mOn / mOff - 1),
      gflopPerStep: gflop,
      gflops: gflop / (mOn / 1000),
    };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
