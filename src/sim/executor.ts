/**
 * Executors run client training and evaluation. The in-process executor holds one Trainer in the main thread
 * (workers: 0); the worker pool (pool.ts) holds one Trainer per worker thread. Both run the same code (local.ts).
 */
import os from 'node:os';
import { Trainer } from '../runtime/trainer.js';
import type { Dataset } from '../data/dataset.js';
import type { Device } from '../runtime/device.js';
import type { LocalResult } from '../fl/strategy.js';
import { FedmanError } from '../util/errors.js';
import { SerialQueue } from '../util/serial-queue.js';
import { evalRange, runLocalTraining, type EvalSums, type TrainTask } from '../fl/local-training.js';

export interface ExecutorSetup {
  artifactsDir: string;
  /** ONNX Runtime intra-op threads per trainer. */
  threads: number;
  /** Where the trainers run ('cpu' or 'webgpu'). */
  device: Device;
  train: Dataset;
  test: Dataset;
  evalBatchSize: number;
}

export interface ClientExecutor {
  /** How many tasks run at once. */
  readonly parallelism: number;
  /** The artifacts' initial parameters (the zoo model's seeded initialisation). */
  initialParams(): Promise<Float32Array>;
  /** Sets the global model used by later train and eval tasks. */
  setGlobal(params: Float32Array): Promise<void>;
  /** Trains a client from the global model set last, or from `start` (asynchronous clients start from older versions). */
  train(task: TrainTask, start?: Float32Array): Promise<LocalResult>;
  /** Evaluates the global model on test samples [start, end). */
  evalRange(start: number, end: number): Promise<EvalSums>;
  /** Writes the global model as an inference ONNX file. */
  exportModel(file: string): Promise<void>;
  close(): Promise<void>;
}

export class InProcessExecutor implements ClientExecutor {
  readonly parallelism = 1;
  private global: Float32Array | null = null;
  private readonly queue = new SerialQueue();

  private readonly initial: Float32Array;

  private constructor(private readonly trainer: Trainer, private readonly setup: ExecutorSetup) {
    this.initial = trainer.getParams();  // before any step: on the host on every device
  }

  static async create(setup: ExecutorSetup): Promise<InProcessExecutor> {
    return new InProcessExecutor(await Trainer.load(setup.artifactsDir, { threads: setup.threads, device: setup.device }), setup);
  }

  private needGlobal(): Float32Array {
    if (!this.global) throw new FedmanError('executor: no global model set');
    return this.global;
  }

  async initialParams(): Promise<Float32Array> {
    return Float32Array.from(this.initial);
  }

  async setGlobal(params: Float32Array): Promise<void> {
    await this.queue.run(async () => { this.global = Float32Array.from(params); });
  }

  train(task: TrainTask, start?: Float32Array): Promise<LocalResult> {
    return this.queue.run(() => runLocalTraining(this.trainer, this.setup.train, start ?? this.needGlobal(), task));
  }

  evalRange(start: number, end: number): Promise<EvalSums> {
    return this.queue.run(() => evalRange(this.trainer, this.setup.test, this.needGlobal(), start, end, this.setup.evalBatchSize));
  }

  exportModel(file: string): Promise<void> {
    return this.queue.run(async () => {
      this.trainer.setParams(this.needGlobal());
      await this.trainer.exportInference(file);
    });
  }

  async close(): Promise<void> {
    await this.queue.run(() => this.trainer.release());
  }
}

/** Default worker count: min(cores, expected clients per round), at least 1. */
export function autoWorkers(expectedClientsPerRound: number): number {
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, Math.min(cores, expectedClientsPerRound));
}
