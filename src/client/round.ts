/**
 * One training task of the federation protocol, shared by the Node client (client.ts) and the browser client's
 * worker (src/web/client/worker.ts): fetch the global parameters and client inputs, train with the same local
 * training as the simulation, upload the parameters with an uploadId (a retry re-sends the same id, so the server
 * counts it once) and read the server's verdict. Browser-safe: fetch and Web Crypto only.
 */
import type { Dataset } from '../data/dataset.js';
import type { LocalResult } from '../fl/strategy.js';
import type { TaskMessage, UploadResult } from '../protocol/index.js';
import { runLocalTraining, type LocalProgress, type LocalTrainer, type TrainTask } from '../fl/local-training.js';
import { ProtocolError, readJson, type FedHttp } from './http.js';

export type TrainTaskMessage = Extract<TaskMessage, { type: 'train' }>;

export interface ClientRoundReport {
  round: number;
  attempt: number;
  steps: number;
  loss: number;
  accuracy: number;
  seconds: number;
  /** Server's verdict on the upload. */
  outcome: 'accepted' | 'duplicate' | 'rejected';
  message?: string;
}

export interface RoundIO {
  http: FedHttp;
  clientId: number;
  /** The client's key (sent as x-fedman-client-key). */
  key: string;
  paramCount: number;
  /** The global parameters of a version (cached or downloaded by the caller). */
  params(version: number): Promise<Float32Array>;
  /** Runs the training (e.g. through a queue when virtual clients share one Trainer); default: directly. */
  run?<T>(fn: () => Promise<T>): Promise<T>;
  /** Progress of the local training (steps done, last loss). */
  onProgress?: LocalProgress;
}

export interface TrainedRound {
  report: ClientRoundReport;
  result: LocalResult;
  upload: UploadResult | null;
}

export const clientKeyHeader = (key: string): Record<string, string> => ({ 'x-fedman-client-key': key });

/** A client-term input (e.g. SCAFFOLD's correction) of the round in progress. */
export async function downloadClientInput(
  http: FedHttp, kind: string, q: { clientId: number; round: number; attempt: number }, paramCount: number, headers: Record<string, string>,
): Promise<Float32Array> {
  const p = `/v1/client-inputs/${encodeURIComponent(kind)}?clientId=${q.clientId}&round=${q.round}&attempt=${q.attempt}`;
  const res = await http.fetch(p, { headers, timeoutMs: 300_000 });
  if (!res.ok) await readJson(res, p);
  const b = new Uint8Array(await res.arrayBuffer());
  if (b.byteLength !== paramCount * 4) throw new ProtocolError(res.status, `client input '${kind}' has ${b.byteLength} bytes, expected ${paramCount * 4}`, p);
  return new Float32Array(b.buffer, b.byteOffset, paramCount);
}

/** The local-training task a train message describes, over the client's sample indices into `train`. */
export function trainTaskOf(t: TrainTaskMessage, clientId: number, indices: Int32Array, inputs: Record<string, Float32Array>): TrainTask {
  return {
    clientId, round: t.round, indices, hypers: t.config.hypers, inputs, epochs: t.config.epochs, steps: t.config.localSteps,
    batchSize: t.config.batchSize, shuffleSeed: t.config.shuffleSeed,
  };
}

/** Trains one task and uploads the result. */
export async function trainAndUpload(io: RoundIO, trainer: LocalTrainer, train: Dataset, indices: Int32Array, t: TrainTaskMessage): Promise<TrainedRound> {
  const { http, clientId } = io;
  const keyHeader = clientKeyHeader(io.key);
  const uploadId = globalThis.crypto.randomUUID();
  const global = await io.params(t.paramsVersion);
  const inputs: Record<string, Float32Array> = {};
  for (const kind of t.config.clientInputs) {
    inputs[kind] = await downloadClientInput(http, kind, { clientId, round: t.round, attempt: t.attempt }, io.paramCount, keyHeader);
  }
  const task = trainTaskOf(t, clientId, indices, inputs);
  const train1 = () => runLocalTraining(trainer, train, global, task, io.onProgress);
  const r = await (io.run ? io.run(train1) : train1());
  const meta = {
    round: t.round, attempt: t.attempt, clientId, uploadId, numSamples: r.numSamples, steps: r.steps, samples: r.samples,
    metrics: { loss: r.loss, ce: r.ce, man: r.man, accuracy: r.accuracy }, seconds: r.seconds,
  };
  const body = new Uint8Array(r.params.buffer, r.params.byteOffset, r.params.byteLength);
  const res = await http.fetch('/v1/update', {
    method: 'POST', body, timeoutMs: 300_000,
    headers: { ...keyHeader, 'content-type': 'application/octet-stream', 'x-fedman-meta': JSON.stringify(meta) },
  });
  const report: ClientRoundReport = { round: t.round, attempt: t.attempt, steps: r.steps, loss: r.loss, accuracy: r.accuracy, seconds: r.seconds, outcome: 'accepted' };
  if (res.status === 409) {
    // A late upload (the round closed or restarted) is not counted; the client goes on with the next task.
    report.outcome = 'rejected';
    report.message = (await readJson<never>(res, '/v1/update').catch((e: ProtocolError) => e)).message;
    return { report, result: r, upload: null };
  }
  const upload = await readJson<UploadResult>(res, '/v1/update');
  report.outcome = upload.duplicate ? 'duplicate' : 'accepted';
  return { report, result: r, upload };
}
