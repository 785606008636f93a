/**
 * What the simulation's two drivers — synchronous rounds (sync-loop.ts) and asynchronous versions (async-loop.ts)
 * — share once the engine has set a run up: the config, strategy, executor, partition and fleet, the evolving
 * global state, and how a completed round or version is evaluated, checkpointed and reported.
 */
import type { SimConfig } from '../config/index.js';
import type { Defense } from '../fl/defense/aggregator.js';
import type { ClientStateStore } from '../fl/client-state.js';
import type { TrainTask } from '../fl/local-training.js';
import { clientRoundSeed, type RoundMetrics } from '../fl/round/index.js';
import type { ServerState, Strategy } from '../fl/strategy.js';
import type { Rng } from '../util/rng.js';
import type { Checkpoint } from './checkpoint.js';
import type { ClientExecutor } from './executor.js';
import { plannedSamples, type Fleet } from './fleet/fleet.js';

export interface RunContext {
  /** The validated config, workers resolved. */
  cfg: SimConfig;
  strategy: Strategy;
  defense: Defense;
  exec: ClientExecutor;
  store: ClientStateStore | null;
  /** Each client's training-sample indices. */
  clientIdx: readonly Int32Array[];
  paramCount: number;
  /** The virtual clock's fleet (always present in async mode; null for sync runs without `fleet`). */
  fleet: Fleet | null;
  /** What the run resumes from (null: a fresh run). */
  ckpt: Checkpoint | null;
  /** The latest global model and server state. */
  state: { global: Float32Array; server: ServerState };
  /** Participant sampling (saved in checkpoints). */
  rng: Rng;
  /** Completed rounds / versions so far. */
  metrics: RoundMetrics[];
  evaluate(params: Float32Array): Promise<{ testLoss: number; testAccuracy: number }>;
  /**
   * Records a completed round / version: evaluated (every `evalEvery` and the last) and timed, checkpointed with
   * `versions` (async: earlier models still in use), reported and logged.
   */
  complete(m: RoundMetrics, t0: number, versions?: Map<number, Float32Array>): Promise<void>;
}

/** A client's local-training task; its shuffling is seeded by (seed, `seedRound`, client). */
export function trainTask(run: RunContext, clientId: number, round: number, seedRound: number, hypers: Record<string, number>, inputs: Record<string, Float32Array>): TrainTask {
  const { cfg } = run;
  return {
    clientId, round, indices: run.clientIdx[clientId]!, hypers, inputs,
    epochs: cfg.localEpochs, steps: cfg.localSteps, batchSize: cfg.batchSize,
    shuffleSeed: cfg.shuffle ? clientRoundSeed(cfg.seed, seedRound, clientId) : null,
  };
}

/** What the virtual clock needs of a task: samples each client trains on, bytes of the model and of an update. */
export function taskSize(run: RunContext): { samples: (c: number) => number; downBytes: number; upBytes: number } {
  const { cfg } = run;
  const bytes = 4 * run.paramCount;
  return { samples: (c) => plannedSamples(run.clientIdx[c]!.length, cfg.localEpochs, cfg.localSteps, cfg.batchSize), downBytes: bytes, upBytes: bytes };
}

export function roundLine(m: RoundMetrics, rounds: number, unit = 'round'): string {
  const test = m.testAccuracy !== undefined ? `  test acc ${(100 * m.testAccuracy).toFixed(2)}% loss ${m.testLoss!.toFixed(4)}` : '';
  const dp = m.dpEpsilon !== undefined ? `  ε ${m.dpEpsilon.toFixed(3)}` : '';
  const clock = m.simSeconds === undefined ? '' : m.simSeconds < 3600 ? `  sim ${m.simSeconds.toFixed(1)} s` : `  sim ${(m.simSeconds / 3600).toFixed(2)} h`;
  const stale = m.meanStaleness !== undefined ? `, staleness ${m.meanStaleness.toFixed(2)}` : '';
  const n = m.participants.length;
  return `${unit} ${m.round}/${rounds}: ${n} ${unit === 'round' ? 'client' : 'update'}${n === 1 ? '' : 's'}${stale}, lr ${m.lr.toPrecision(4)}, `
    + `loss ${m.trainLoss.toFixed(4)} (ce ${m.trainCe.toFixed(4)}, man ${m.trainMan.toFixed(5)})${test}${dp}${clock}  ${m.seconds.toFixed(2)}s`;
}
