/**
 * A pool of worker threads, each with its own Trainer (artifacts loaded once per worker). Train and eval tasks go
 * to whichever worker is idle; results carry no trace of which worker ran them (each task resets the Trainer),
 * so scheduling never changes results. Datasets are copied once into SharedArrayBuffers shared by all workers.
 *
 * Running from TypeScript sources (tsx or tap), a worker starts from worker-bootstrap.mjs, which registers tsx's
 * loader inside the worker thread before importing worker.ts; from compiled JavaScript it starts from worker.js.
 */
import { Worker } from 'node:worker_threads';
import type { Dataset } from '../data/dataset.js';
import type { Device } from '../runtime/device.js';
import type { LocalResult } from '../fl/strategy.js';
import { FedmanError } from '../util/errors.js';
import type { ClientExecutor, ExecutorSetup } from './executor.js';
import type { EvalSums, TrainTask } from '../fl/local-training.js';

export interface WorkerData {
  artifactsDir: string;
  threads: number;
  device: Device;
  evalBatchSize: number;
  train: Dataset;
  test: Dataset;
}

export type WorkerRequest =
  | { id: number; op: 'params' }
  | { id: number; op: 'setGlobal'; params: Float32Array }
  | { id: number; op: 'train'; task: TrainTask; start?: Float32Array }
  | { id: number; op: 'eval'; start: number; end: number }
  | { id: number; op: 'export'; file: string }
  | { id: number; op: 'close' };

interface ErrorInfo { name: string; message: string; stack?: string }

export type WorkerReply =
  | { type: 'ready'; error?: ErrorInfo }
  | { type: 'result'; id: number; result: unknown }
  | { type: 'error'; id: number; error: ErrorInfo };

/** A copy of a dataset whose samples and labels live in SharedArrayBuffers (shared, not copied, by postMessage). */
export function shareDataset(ds: Dataset): Dataset {
  const x = new Float32Array(new SharedArrayBuffer(ds.x.byteLength));
  x.set(ds.x);
  const y = new Int32Array(new SharedArrayBuffer(ds.y.byteLength));
  y.set(ds.y);
  return { name: ds.name, x, y, n: ds.n, sampleShape: [...ds.sampleShape], numClasses: ds.numClasses };
}

function workerEntry(): URL {
  return import.meta.url.endsWith('.ts') ? new URL('./worker-bootstrap.mjs', import.meta.url) : new URL('./worker.js', import.meta.url);
}

function toError(e: ErrorInfo, where: string): Error {
  if (e.name === 'FedmanError') return new FedmanError(e.message);
  const err = new Error(`${where}: ${e.message}`);
  if (e.stack) err.stack = `${err.message}\n(worker) ${e.stack}`;
  return err;
}

interface Pending { resolve: (v: unknown) => void; reject: (e: Error) => void }
interface Slot { index: number; worker: Worker; busy: boolean; pending: Map<number, Pending> }
/** A request before the pool numbers it. */
type Request = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

interface Job { req: Request; transfer: ArrayBuffer[]; resolve: (v: unknown) => void; reject: (e: Error) => void }

export class WorkerPool implements ClientExecutor {
  private nextId = 1;
  private queue: Job[] = [];
  private failure: Error | null = null;
  private closing = false;

  private constructor(private readonly slots: Slot[]) {
    for (const s of slots) this.watch(s);
  }

  get parallelism(): number {
    return this.slots.length;
  }

  /** Starts `size` workers and waits until each has loaded its Trainer. */
  static async create(setup: ExecutorSetup, size: number): Promise<WorkerPool> {
    if (!(size >= 1) || !Number.isInteger(size)) throw new FedmanError(`worker count must be a positive integer, got ${size}`);
    const data: WorkerData = {
      artifactsDir: setup.artifactsDir, threads: setup.threads, device: setup.device, evalBatchSize: setup.evalBatchSize,
      train: isShared(setup.train) ? setup.train : shareDataset(setup.train),
      test: isShared(setup.test) ? setup.test : shareDataset(setup.test),
    };
    const entry = workerEntry();
    const workers = Array.from({ length: size }, () => new Worker(entry, { workerData: data, execArgv: [] }));
    const ready = workers.map((w, i) => new Promise<void>((resolve, reject) => {
      const onMsg = (m: WorkerReply) => {
        if (m.type !== 'ready') return;
        w.off('message', onMsg); w.off('error', onErr); w.off('exit', onExit);
        if (m.error) reject(toError(m.error, `worker ${i}`)); else resolve();
      };
      const onErr = (e: Error) => { w.off('message', onMsg); w.off('exit', onExit); reject(new Error(`worker ${i} failed to start: ${e.message}`)); };
      const onExit = (code: number) => { w.off('message', onMsg); w.off('error', onErr); reject(new Error(`worker ${i} exited (code ${code}) while starting`)); };
      w.on('message', onMsg); w.once('error', onErr); w.once('exit', onExit);
    }));
    const settled = await Promise.allSettled(ready);
    const bad = settled.find((s) => s.status === 'rejected') as PromiseRejectedResult | undefined;
    if (bad) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw bad.reason;
    }
    return new WorkerPool(workers.map((worker, index) => ({ index, worker, busy: false, pending: new Map() })));
  }

  private watch(slot: Slot): void {
    slot.worker.on('message', (m: WorkerReply) => {
      if (m.type === 'ready') return;
      const p = slot.pending.get(m.id);
      if (!p) return;
      slot.pending.delete(m.id);
      if (m.type === 'result') p.resolve(m.result); else p.reject(toError(m.error, `worker ${slot.index}`));
    });
    const fail = (err: Error) => {
      if (this.closing) return;
      this.failure ??= err;
      for (const p of slot.pending.values()) p.reject(err);
      slot.pending.clear();
      for (const j of this.queue.splice(0)) j.reject(err);
    };
    slot.worker.on('error', (e) => fail(new Error(`worker ${slot.index} crashed: ${e.message}`)));
    slot.worker.on('exit', (code) => fail(new Error(`worker ${slot.index} exited unexpectedly (code ${code})`)));
  }

  private send(slot: Slot, req: Request, transfer: ArrayBuffer[] = []): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.worker.postMessage({ ...req, id } as WorkerRequest, transfer);
    });
  }

  /** Queues a task for the next idle worker. */
  private submit(req: Request, transfer: ArrayBuffer[] = []): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.queue.push({ req, transfer, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (slot.busy) continue;
      const job = this.queue.shift()!;
      slot.busy = true;
      this.send(slot, job.req, job.transfer).then(
        (v) => { slot.busy = false; job.resolve(v); this.dispatch(); },
        (e: Error) => { slot.busy = false; job.reject(e); this.dispatch(); },
      );
    }
  }

  async initialParams(): Promise<Float32Array> {
    return (await this.send(this.slots[0]!, { op: 'params' })) as Float32Array;
  }

  async setGlobal(params: Float32Array): Promise<void> {
    await Promise.all(this.slots.map((s) => this.send(s, { op: 'setGlobal', params })));
  }

  async train(task: TrainTask, start?: Float32Array): Promise<LocalResult> {
    return (await this.submit(start ? { op: 'train', task, start } : { op: 'train', task })) as LocalResult;
  }

  async evalRange(start: number, end: number): Promise<EvalSums> {
    return (await this.submit({ op: 'eval', start, end })) as EvalSums;
  }

  async exportModel(file: string): Promise<void> {
    await this.send(this.slots[0]!, { op: 'export', file });
  }

  async close(): Promise<void> {
    if (!this.failure) await Promise.allSettled(this.slots.map((s) => this.send(s, { op: 'close' })));
    this.closing = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}

function isShared(ds: Dataset): boolean {
  return ds.x.buffer instanceof SharedArrayBuffer && ds.y.buffer instanceof SharedArrayBuffer;
}
