/**
 * A simulation worker thread: loads the artifacts once into its own Trainer and serves train / eval / export
 * requests from the pool (pool.ts), one at a time in arrival order. Datasets arrive as SharedArrayBuffer-backed
 * arrays, so all workers share one copy.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Trainer } from '../runtime/trainer.js';
import type { Dataset } from '../data/dataset.js';
import { evalRange, runLocalTraining } from '../fl/local-training.js';
import type { WorkerData, WorkerRequest, WorkerReply } from './pool.js';

const port = parentPort!;
const data = workerData as WorkerData;

function errorInfo(err: unknown): { name: string; message: string; stack?: string } {
  const e = err as Error;
  return { name: e?.name ?? 'Error', message: e?.message ?? String(err), stack: e?.stack };
}

let trainer: Trainer;
try {
  trainer = await Trainer.load(data.artifactsDir, { threads: data.threads, device: data.device });
} catch (err) {
  port.postMessage({ type: 'ready', error: errorInfo(err) } satisfies WorkerReply);
  process.exit(0);
}
const train: Dataset = data.train;
const test: Dataset = data.test;
let global: Float32Array | null = null;

function needGlobal(): Float32Array {
  if (!global) throw new Error('worker: no global model set');
  return global;
}

async function handle(req: WorkerRequest): Promise<void> {
  try {
    switch (req.op) {
      case 'params': {
        const p = await trainer.readParams();
        port.postMessage({ type: 'result', id: req.id, result: p } satisfies WorkerReply, [p.buffer as ArrayBuffer]);
        return;
      }
      case 'setGlobal':
        global = req.params;
        port.postMessage({ type: 'result', id: req.id, result: null } satisfies WorkerReply);
        return;
      case 'train': {
        const r = await runLocalTraining(trainer, train, req.start ?? needGlobal(), req.task);
        port.postMessage({ type: 'result', id: req.id, result: r } satisfies WorkerReply, [r.params.buffer as ArrayBuffer]);
        return;
      }
      case 'eval': {
        const r = await evalRange(trainer, test, needGlobal(), req.start, req.end, data.evalBatchSize);
        port.postMessage({ type: 'result', id: req.id, result: r } satisfies WorkerReply);
        return;
      }
      case 'export':
        trainer.setParams(needGlobal());
        await trainer.exportInference(req.file);
        port.postMessage({ type: 'result', id: req.id, result: null } satisfies WorkerReply);
        return;
      case 'close':
        await trainer.release();
        port.postMessage({ type: 'result', id: req.id, result: null } satisfies WorkerReply);
        return;
    }
  } catch (err) {
    port.postMessage({ type: 'error', id: req.id, error: errorInfo(err) } satisfies WorkerReply);
  }
}

let chain: Promise<void> = Promise.resolve();
port.on('message', (req: WorkerRequest) => {
  chain = chain.then(() => handle(req));
});
port.postMessage({ type: 'ready' } satisfies WorkerReply);
