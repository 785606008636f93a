/**
 * Picks a training engine for an artifacts directory. The engines are imported on demand, so that a caller that
 * names one never loads the other (the 'ort-training' engine needs onnxruntime-web's training bundle and Node).
 */
import { FedmanError } from '../util/errors.js';
import { TRAINER_ENGINES, type TrainerEngine, type TrainerLike, type TrainerOptions } from './trainer-interface.js';

export interface LoadTrainerOptions extends TrainerOptions {
  /** 'fedman' (default): fedman's train-step graph; 'ort-training': ORT's TrainingSession (needs --format ort-training). */
  engine?: TrainerEngine;
}

export async function loadTrainer(dir: string, opts: LoadTrainerOptions = {}): Promise<TrainerLike> {
  const engine = opts.engine ?? 'fedman';
  if (engine === 'fedman') return (await import('./trainer.js')).Trainer.load(dir, opts);
  if (engine === 'ort-training' && (opts.device ?? 'cpu') !== 'cpu') {
    throw new FedmanError(`the 'ort-training' engine runs ORT 1.19's TrainingSession, which has no WebGPU training: use --device cpu, or --engine fedman for --device ${opts.device}`);
  }
  if (engine === 'ort-training') return (await import('./ort-training-trainer.js')).OrtTrainingTrainer.load(dir, opts);
  throw new FedmanError(`unknown trainer engine '${engine as string}'; expected one of ${TRAINER_ENGINES.join(', ')}`);
}
