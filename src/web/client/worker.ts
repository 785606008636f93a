/**
 * The browser client's worker: joins the federation, downloads the artifacts and its shard of the federation's
 * data, then long-polls for tasks and trains each one with onnxruntime-web through the same task runner as the Node
 * client (src/client/round.ts), so the page's UI thread never waits on training: on the GPU through WebGPU when the
 * browser has an adapter and the server's artifacts a WebGPU lowering, else on wasm (`?device=` decides instead).
 * It also classifies drawn samples with the latest global model, locally.
 */
import { FedHttp, ProtocolError, readJson, sleep } from '../../client/http.js';
import { clientKeyHeader, trainAndUpload } from '../../client/round.js';
import { makeDataset, type Dataset } from '../../data/dataset.js';
import { loadArtifactsFromUrl } from '../../runtime/artifact-source.js';
import { loadBackend, type Session } from '../../runtime/backend.js';
import { chooseBrowserDevice } from '../../runtime/browser-device.js';
import { decodeSafetensors } from '../../runtime/safetensors.js';
import { Trainer } from '../../runtime/trainer.js';
import type { JoinResponse, TaskMessage } from '../../protocol/index.js';
import { SerialQueue } from '../../util/serial-queue.js';
import type { FromWorker, StartMessage, ToWorker } from './messages.js';

const scope = self as unknown as { postMessage(m: FromWorker): void; onmessage: ((e: MessageEvent<ToWorker>) => void) | null };
const post = (m: FromWorker) => scope.postMessage(m);

const POLL_SECONDS = 20;

let trainer: Trainer | null = null;
/** Training and predictions both set the trainer's parameters: one at a time. */
const exclusive = new SerialQueue();
let http: FedHttp | null = null;
/** The newest global parameters this worker has, for local predictions. */
let latest: { version: number; params: Float32Array } | null = null;
let predictor: { version: number; session: Session } | null = null;

async function fetchParams(version: number): Promise<Float32Array> {
  if (latest?.version === version) return latest.params;
  const p = `/v1/params?version=${version}`;
  const res = await http!.fetch(p, { timeoutMs: 300_000 });
  if (!res.ok) await readJson(res, p);
  const params = new Float32Array(await res.arrayBuffer());
  if (!latest || version >= latest.version) latest = { version, params };
  return params;
}

async function loadShard(clientId: number, key: string): Promise<Dataset> {
  const p = `/v1/client-data?clientId=${clientId}`;
  const res = await http!.fetch(p, { headers: clientKeyHeader(key), timeoutMs: 300_000 });
  if (!res.ok) await readJson(res, p);
  const { tensors, metadata } = decodeSafetensors(new Uint8Array(await res.arrayBuffer()), 'client data');
  const x = tensors.get('x')!, y = tensors.get('y')!;
  return makeDataset({
    name: `${metadata.data ?? 'data'}[client ${clientId}]`, x: x.data, y: Int32Array.from(y.data), n: y.dims[0]!,
    sampleShape: x.dims.slice(1), numClasses: Number(metadata.numClasses),
  });
}

async function run(m: StartMessage): Promise<void> {
  http = new FedHttp(m.server, { token: m.token || undefined, retryForMs: 600_000, log: (l) => post({ type: 'phase', phase: 'waiting', detail: l }) });
  post({ type: 'phase', phase: 'joining' });
  const j = await http.json<JoinResponse>('POST', '/v1/join', { name: m.name, key: m.key });
  post({ type: 'phase', phase: 'loading', detail: 'downloading the artifacts and this client\'s data' });
  const auth: Record<string, string> = m.token ? { authorization: `Bearer ${m.token}` } : {};
  const choice = await chooseBrowserDevice(m.device ?? 'auto');
  const files = await loadArtifactsFromUrl(`${http.base}/v1/artifacts/`, (u) => fetch(u, { headers: auth }), { webgpu: choice.device === 'webgpu' });
  const { device, detail } = files.webgpu || choice.device === 'cpu' ? choice : choice.fallback('the server\'s artifacts have no WebGPU graphs');
  // wasm threads need cross-origin isolation (the pages fedman serves have it); one thread was faster for the
  // paper CNN on a 2-core machine (docs/benchmarks.md), hence the default.
  const threads = globalThis.crossOriginIsolated ? Math.max(1, Math.min(m.threads ?? 1, navigator.hardwareConcurrency || 1)) : 1;
  if (device === 'cpu') (await loadBackend('web')).ort.env.wasm.numThreads = threads;
  trainer = await Trainer.fromArtifacts(files, { backend: 'web', device, threads, dir: `${http.base}/v1/artifacts/` });
  const data = await loadShard(j.clientId, m.key);
  const indices = Int32Array.from({ length: data.n }, (_, i) => i);
  post({ type: 'joined', clientId: j.clientId, rejoined: j.rejoined, federation: j.federation, numSamples: data.n, threads, device, deviceDetail: detail });

  const poll = Math.min(POLL_SECONDS, j.limits.longPollSeconds);
  for (;;) {
    post({ type: 'phase', phase: 'waiting' });
    const t = await http.json<TaskMessage>('POST', `/v1/task?timeout=${poll}`, { clientId: j.clientId, numSamples: data.n }, {
      headers: clientKeyHeader(m.key), timeoutMs: (poll + 30) * 1000,
    });
    if (t.type === 'done') {
      await fetchParams(t.finalVersion);
      post({ type: 'phase', phase: 'done', detail: t.reason });
      return;
    }
    if (t.type === 'wait') { post({ type: 'phase', phase: 'waiting', detail: t.reason }); await sleep(Math.min(t.retryAfter, 5) * 1000); continue; }
    post({ type: 'phase', phase: 'training', round: t.round });
    const t0 = performance.now();
    let lastPost = 0;
    const onProgress = (steps: number, loss: number) => {
      const now = performance.now();
      if (now - lastPost < 250) return;
      lastPost = now;
      post({ type: 'progress', round: t.round, steps, loss, samplesPerSecond: (steps * t.config.batchSize) / ((now - t0) / 1000) });
    };
    const r = await trainAndUpload(
      { http, clientId: j.clientId, key: m.key, paramCount: j.federation.paramCount, params: fetchParams, onProgress, run: (fn) => exclusive.run(fn) }, trainer, data, indices, t);
    post({
      type: 'round', report: r.report, samplesPerSecond: r.result.samples / Math.max(r.result.seconds, 1e-9), task: t,
      ...(r.upload ? { received: r.upload.received, expected: r.upload.expected } : {}),
    });
    // The next version is what the next task starts from; fetch it ahead for predictions.
    await fetchParams(t.paramsVersion + 1).catch(() => undefined);
  }
}

/** Classifies with the latest global model; waits for a training step in progress (both set the parameters). */
function predict(id: number, x: Float32Array): Promise<void> {
  return exclusive.run(() => predictNow(id, x));
}

async function predictNow(id: number, x: Float32Array): Promise<void> {
  if (!trainer || !latest) throw new Error('no global model yet: join first');
  const { ort, sessionOptions } = await loadBackend('web', trainer.device);
  if (predictor?.version !== latest.version) {
    trainer.setParams(latest.params);
    // The BN buffers may still be in GPU memory after training; the export reads them on the host.
    await trainer.toHost();
    const session = await ort.InferenceSession.create(trainer.exportInferenceBytes(), sessionOptions());
    await predictor?.session.release();
    predictor = { version: latest.version, session };
  }
  const dims = trainer.manifest.input.dims.slice(1).map(Number);
  const s = predictor.session;
  const out = await s.run({ [s.inputNames[0]!]: new ort.Tensor('float32', x, [1, ...dims]) });
  const logits = out[s.outputNames[0]!]!.data as Float32Array;
  const mx = Math.max(...logits);
  const e = Array.from(logits, (v) => Math.exp(v - mx));
  const z = e.reduce((a, b) => a + b, 0);
  post({ type: 'prediction', id, version: predictor.version, probabilities: e.map((v) => v / z) });
}

scope.onmessage = (e) => {
  const m = e.data;
  const fail = (err: unknown) => post({ type: 'error', message: (err as Error)?.message ?? String(err), ...(err instanceof ProtocolError ? { status: err.status } : {}) });
  if (m.type === 'start') run(m).catch(fail);
  else if (m.type === 'predict') predict(m.id, m.x).catch(fail);
};
