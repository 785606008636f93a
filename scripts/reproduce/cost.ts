/** The cost model behind `--dry-run`'s estimate and the runner's ETA. */
import type { RunSpec } from './grid.js';
import type { FlatnessSettings, Scale } from './scales.js';

/** Relative cost of a round (local passes per step): SAM-type steps take two forward-backward passes. */
const ALGO_COST: Record<string, number> = { fedavg: 1, fedsam: 2, feddyn: 1, fedspeed: 2 };

const FULL_SIZES: Record<string, { train: number; test: number }> = { mnist: { train: 60000, test: 10000 }, 'fashion-mnist': { train: 60000, test: 10000 } };

/**
 * Measured on the 2-core development machine while it was shared (load average 6-8), `small` scale, Fashion-MNIST
 * δ = 0.3, 8 rounds: one training sample through the paper CNN's train step (forward + backward + update, batch
 * 50) took ~1.5 ms of wall time (FedAvg ± MAN, 1 or 2 workers alike on the busy machine: ~3 s per round of ~5
 * clients × 400 sample-steps); a SAM-type step about twice that or more (FedSAM + MAN ~8 s/round); evaluation
 * ~0.6 ms per test sample; one Hessian-vector product ~8 ms per sample. Used only for the --dry-run estimate.
 */
export const MS_PER_SAMPLE_STEP = 1.5;
const MS_PER_HVP_SAMPLE = 8;
/**
 * Typical HVPs of one flatness measurement besides the trace's (power iteration + 1): on a FedAvg + MAN model after
 * 8 `small` rounds it converged in 6 iterations (500 samples, 4 s per HVP, 70 s in all with 10 trace vectors).
 */
const TYPICAL_POWER_HVPS = 16;

/** Estimated cost of a run in "sample-steps" (training samples × passes + evaluation forward passes / 3). */
function runCost(scale: Scale, spec: RunSpec, trainN: number, testN: number): number {
  const perRound = scale.clients * scale.participation * Math.floor(trainN / scale.clients) * scale.localEpochs * ALGO_COST[spec.algorithm]!;
  const evals = Math.ceil(scale.rounds / scale.evalEvery);
  return scale.rounds * perRound + (evals * testN) / 3;
}

/** runCost on the scale's training and test subsets. */
export function specCost(scale: Scale, spec: RunSpec): number {
  return runCost(scale, spec, scale.limit ?? FULL_SIZES[spec.dataset]!.train, scale.testLimit ?? FULL_SIZES[spec.dataset]!.test);
}

/** Hessian-vector products of one flatness measurement's power iteration, as typically seen. */
export function powerHvps(f: FlatnessSettings): number {
  return Math.min(TYPICAL_POWER_HVPS, f.maxIter + 1);
}

/** Estimated seconds to measure the flatness of `models` final models. */
export function flatnessSeconds(f: FlatnessSettings, models: number): number {
  return (models * (powerHvps(f) + f.trace) * f.samples * MS_PER_HVP_SAMPLE) / 1000;
}
