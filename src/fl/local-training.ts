/**
 * What a client does with its Trainer in a round: local training from the global model, and evaluation of the
 * global model on a slice of the test set. The simulation's executors (in-process and worker threads), the Node
 * client and the browser client's worker all run this code, so they produce identical results. Every task fully
 * resets the Trainer (parameters, optimiser state, hyperparameters, client inputs), so a result depends only on the
 * task and the global model, never on what ran before.
 */
import type { Trainer } from '../runtime/trainer.js';
import type { TrainerLike } from '../runtime/trainer-interface.js';
import { FedmanError } from '../util/errors.js';
import type { Dataset } from '../data/dataset.js';
import { Rng } from '../util/rng.js';
import type { LocalResult } from './strategy.js';

export interface TrainTask {
  clientId: number;
  round: number;
  /** The client's sample indices into the training set. */
  indices: Int32Array;
  /** Every hyperparameter to set (lr, weight_decay, clip_norm, man_zeta, momentum + the strategy's own). */
  hypers: Record<string, number>;
  /** Client-term inputs (anchor, correction, ...); inputs the artifacts have but the task lacks are zeros. */
  inputs: Record<string, Float32Array>;
  /** Local epochs (used when `steps` is null). */
  epochs: number;
  /** Local optimiser steps instead of epochs. */
  steps: number | null;
  batchSize: number;
  /** Seed of this client's shuffling this round (null = partition order). */
  shuffleSeed: number | null;
}

export interface EvalSums { lossSum: number; correct: number; samples: number }

/** Progress of local training: optimiser steps done so far in this task, and the last step's loss. */
export type LocalProgress = (steps: number, loss: number) => void;

/** A trainer of either engine (fedman's Trainer, or ORT's TrainingSession, which has no client-term inputs). */
export type LocalTrainer = TrainerLike & Partial<Pick<Trainer, 'setClientInput'>>;

export async function runLocalTraining(trainer: LocalTrainer, train: Dataset, global: Float32Array, task: TrainTask, onProgress?: LocalProgress): Promise<LocalResult> {
  await trainer.setParams(global);
  await trainer.resetOptimizerState();
  trainer.setHypers(task.hypers);
  const zeros = new Float32Array(global.length);
  for (const kind of trainer.manifest.clientInputs) {
    if (!trainer.setClientInput) throw new FedmanError(`the '${trainer.engine}' engine has no client-term input '${kind}'`);
    trainer.setClientInput(kind, task.inputs[kind] ?? zeros);
  }
  const rng = task.shuffleSeed === null ? null : new Rng(task.shuffleSeed);
  let loss = 0, ce = 0, man = 0, acc = 0, samples = 0, steps = 0, seconds = 0;
  const epoch = async (maxSteps?: number) => {
    const before = steps;
    const onStep = onProgress && ((k: number, _total: number, st: { loss: number }) => onProgress(before + k, st.loss));
    const m = await trainer.trainEpoch(train, { batchSize: task.batchSize, seed: rng ? rng.nextUint32() : null, indices: task.indices, maxSteps, onStep });
    loss += m.loss * m.samples; ce += m.ce * m.samples; man += m.man * m.samples; acc += m.accuracy * m.samples;
    samples += m.samples; steps += m.steps; seconds += m.seconds;
    return m.steps;
  };
  if (task.indices.length > 0) {
    if (task.steps !== null) {
      while (steps < task.steps) if ((await epoch(task.steps - steps)) === 0) break;
    } else {
      for (let e = 0; e < task.epochs; e++) await epoch();
    }
  }
  const d = Math.max(samples, 1);
  return {
    clientId: task.clientId,
    params: steps > 0 ? await trainer.readParams() : Float32Array.from(global),
    numSamples: task.indices.length,
    steps, samples, seconds,
    loss: loss / d, ce: ce / d, man: man / d, accuracy: acc / d,
  };
}

/** Evaluates `params` on test samples [start, end). */
export async function evalRange(trainer: Trainer, test: Dataset, params: Float32Array, start: number, end: number, batchSize: number): Promise<EvalSums> {
  trainer.setParams(params);
  const idx = Int32Array.from({ length: end - start }, (_, i) => start + i);
  const r = await trainer.evaluate(test, batchSize, idx);
  // A classifier's accuracy is a count of samples; per-pixel or multi-label accuracy is a fraction of them.
  const perSample = (trainer.manifest.target?.perSample ?? 1) === 1;
  return { lossSum: r.loss * r.samples, correct: perSample ? Math.round(r.accuracy * r.samples) : r.accuracy * r.samples, samples: r.samples };
}
