/**
 * What every training engine offers, so callers can train the same artifacts on fedman's own train-step graph
 * (Trainer: one InferenceSession per step on onnxruntime-node/-web) or on ONNX Runtime's training API
 * (OrtTrainingTrainer: onnxruntime-web 1.19.2's TrainingSession on the `--format ort-training` files).
 *
 * Parameter access is synchronous in Trainer and asynchronous in ORT's TrainingSession, hence `Awaitable`:
 * `await` the result whatever the engine.
 */
import type { ArtifactManifest } from '../training/manifest.js';
import type { BackendName } from './backend.js';
import type { Device } from './device.js';
import type { Dataset, Labels } from '../data/dataset.js';

export type Awaitable<T> = T | Promise<T>;
export type TrainerEngine = 'fedman' | 'ort-training';
export const TRAINER_ENGINES: readonly TrainerEngine[] = ['fedman', 'ort-training'];

export interface TrainerOptions {
  backend?: BackendName;
  /** 'cpu' (default) or 'webgpu': the GPU through ONNX Runtime's WebGPU execution provider. */
  device?: Device;
  /** Intra-op threads (0 = ORT's default). */
  threads?: number;
}

export interface StepMetrics { loss: number; ce: number; man: number; correct: number; gradNorm: number; size: number }

export interface EpochMetrics {
  loss: number; ce: number; man: number; accuracy: number; samples: number; steps: number; seconds: number; samplesPerSecond: number;
}

export interface EvalMetrics { loss: number; accuracy: number; samples: number }

export interface EpochOptions {
  batchSize: number;
  /** Shuffle seed; null means no shuffling (samples in dataset order). */
  seed: number | null;
  /** Restrict to these sample indices (a client's partition). */
  indices?: ArrayLike<number>;
  /** Stop after this many steps (local steps instead of epochs). */
  maxSteps?: number;
  onStep?: (step: number, total: number, m: StepMetrics) => void;
}

export interface TrainerLike {
  readonly engine: TrainerEngine;
  readonly manifest: ArtifactManifest;
  /** Optimiser steps since the last optimiser-state reset. */
  readonly steps: number;
  /** Sets a runtime hyperparameter (man_zeta, clip_norm, ...); engines reject names they cannot change. */
  setHyper(name: string, value: number): void;
  setHypers(values: Record<string, number | undefined>): void;
  getHyper(name: string): number;
  /** All trainable parameters as one flat vector in manifest order (a copy). */
  getParams(): Awaitable<Float32Array>;
  /** The same on any device (Trainer's getParams is synchronous and refuses state held in GPU memory). */
  readParams(): Promise<Float32Array>;
  setParams(flat: Float32Array): Awaitable<void>;
  /** Zeroes the optimiser state and the step count. */
  resetOptimizerState(): Awaitable<void>;
  /** One optimiser step on a batch (x: size × sample values, y: size int64 labels, or the targets manifest.target
   *  describes). */
  step(x: Float32Array, y: Labels, size: number): Promise<StepMetrics>;
  trainEpoch(ds: Dataset, opts: EpochOptions): Promise<EpochMetrics>;
  evaluate(ds: Dataset, batchSize?: number, indices?: ArrayLike<number>): Promise<EvalMetrics>;
  release(): Promise<void>;
}
