/**
 * Model serving (Open Inference Protocol V2, src/server/inference/) on loopback: metadata, JSON and binary infer
 * against in-process ONNX Runtime, versions and hot swaps (in-flight requests survive), validation 400s, 404s,
 * auth, dynamic batching.
 */
import t from 'tap';
import { writeFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { buildApp, type FedmanApp } from '../../src/server/app.js';
import { Batcher } from '../../src/server/inference/batcher.js';
import { decodeResponse, encodeBinaryRequest } from '../../src/server/inference/codec.js';
import { SessionPool } from '../../src/server/inference/sessions.js';
import { decodeModel, encodeModel } from '../../src/onnx/model-io.js';
import { DataType } from '../../src/onnx/proto.js';
import { float32Tensor, tensorDims, tensorToFloat32 } from '../../src/onnx/tensor.js';
import type { ModelVersions } from '../../src/server/model-versions.js';
import { tmpDir } from '../data/tmpdir.js';
import { TOKENS, serverConfig } from './helpers.js';

const INF = { authorization: `Bearer ${TOKENS.inference}` };
const config = serverConfig({ clients: 2, rounds: 3 });

const fed = await buildApp({ config, stateDir: tmpDir(t, 'fedman-inf-') });
const base = await fed.app.listen({ host: '127.0.0.1', port: 0 });
t.teardown(() => fed.app.close());

const meta = await (await fetch(`${base}/v2/models/mlp`, { headers: INF })).json() as any;
const IN = meta.inputs[0].name as string, OUT = meta.outputs[0].name as string;
const SAMPLE = [1, 1, 28, 28];
function sample(seed: number, rows = 1): Float32Array {
  const x = new Float32Array(rows * 784);
  for (let i = 0; i < x.length; i++) x[i] = Math.sin(seed * 97 + i * 0.37) * 0.5 + 0.5;
  return x;
}

async function reference(models: ModelVersions, version: number, x: Float32Array, rows = 1): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(models.get(version)!.onnxPath);
  try {
    const out = await s.run({ [IN]: new ort.Tensor('float32', x, [rows, 1, 28, 28]) });
    return out[OUT]!.data as Float32Array;
  } finally { await s.release(); }
}

const jsonInfer = (url: string, body: unknown, headers: Record<string, string> = INF) =>
  fetch(url, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) });
const jsonBody = (x: Float32Array, shape = SAMPLE) => ({ inputs: [{ name: IN, datatype: 'FP32', shape, data: Array.from(x) }] });

/** A new version whose weights are the latest's scaled by `scale` (as a round would produce). */
async function addScaledVersion(f: FedmanApp, scale: number): Promise<number> {
  const last = f.models.latest()!;
  const model = decodeModel(await last.bytes());
  model.graph!.initializer = model.graph!.initializer!.map((init) =>
    init.dataType === DataType.FLOAT ? float32Tensor(init.name!, tensorDims(init), tensorToFloat32(init).map((v) => v * scale)) : init);
  const params = await last.params();
  const version = last.version + 1;
  await f.models.add({ version, round: version, createdAt: new Date().toISOString(), paramCount: params.length, model: last.model }, params,
    (file) => writeFile(file, encodeModel(model)));
  return version;
}

t.test('health, server and model metadata', async (t) => {
  t.same(await (await fetch(`${base}/v2/health/live`)).json(), { live: true });
  t.same(await (await fetch(`${base}/v2/health/ready`)).json(), { ready: true });
  const server = await (await fetch(`${base}/v2`)).json() as any;
  t.equal(server.name, 'fedman');
  t.ok(server.extensions.includes('binary_tensor_data'));
  t.same(meta, {
    name: 'mlp', versions: ['0'], platform: 'onnx_onnxv1',
    inputs: [{ name: IN, datatype: 'FP32', shape: [-1, 1, 28, 28] }], outputs: [{ name: OUT, datatype: 'FP32', shape: [-1, 10] }],
  });
  const v0 = await (await fetch(`${base}/v2/models/mlp/versions/0`, { headers: INF })).json();
  t.same(v0, meta);
  t.same(await (await fetch(`${base}/v2/models/mlp/ready`, { headers: INF })).json(), { name: 'mlp', ready: true });
  t.same(await (await fetch(`${base}/v2/models/mlp/versions/0/ready`, { headers: INF })).json(), { name: 'mlp', ready: true });
});

t.test('JSON infer equals in-process ONNX Runtime; binary round trip equals JSON', async (t) => {
  const x = sample(1, 2);
  const want = await reference(fed.models, 0, x, 2);
  const r = await jsonInfer(`${base}/v2/models/mlp/infer`, { id: 'req-1', ...jsonBody(x, [2, 1, 28, 28]) });
  t.equal(r.status, 200);
  t.match(r.headers.get('content-type'), /application\/json/);
  const j = await r.json() as any;
  t.match(j, { model_name: 'mlp', model_version: '0', id: 'req-1' });
  t.same(j.outputs[0].shape, [2, 10]);
  t.equal(j.outputs[0].datatype, 'FP32');
  t.same(Float32Array.from(j.outputs[0].data), want, 'JSON output equals in-process ORT');
  // nested data is accepted too
  const nested = [[Array.from({ length: 28 }, (_, i) => Array.from(x.subarray(i * 28, i * 28 + 28)))]];
  const rn = await jsonInfer(`${base}/v2/models/mlp/infer`, { inputs: [{ name: IN, datatype: 'FP32', shape: SAMPLE, data: nested }] });
  t.same(Float32Array.from(((await rn.json()) as any).outputs[0].data), want.subarray(0, 10), 'nested data');

  const { body, headerLength } = encodeBinaryRequest({ inputs: [{ name: IN, datatype: 'FP32', shape: [2, 1, 28, 28], data: x }], binaryOutput: true });
  const rb = await fetch(`${base}/v2/models/mlp/infer`, {
    method: 'POST', headers: { ...INF, 'content-type': 'application/octet-stream', 'inference-header-content-length': String(headerLength) }, body: new Uint8Array(body),
  });
  t.equal(rb.status, 200);
  t.equal(rb.headers.get('content-type'), 'application/octet-stream');
  const hl = Number(rb.headers.get('inference-header-content-length'));
  const dec = decodeResponse(Buffer.from(await rb.arrayBuffer()), hl);
  t.same(dec.json.outputs[0].parameters, { binary_data_size: 80 });
  t.same(dec.outputs[OUT]!.data, want, 'binary output equals JSON output');
  // binary input, JSON output (outputs[].parameters.binary_data false)
  const b2 = encodeBinaryRequest({ inputs: [{ name: IN, datatype: 'FP32', shape: [2, 1, 28, 28], data: x }], outputs: [{ name: OUT, binary: false }] });
  const r2 = await fetch(`${base}/v2/models/mlp/infer`, { method: 'POST', headers: { ...INF, 'inference-header-content-length': String(b2.headerLength) }, body: new Uint8Array(b2.body) });
  t.same(Float32Array.from(((await r2.json()) as any).outputs[0].data), want);
});

t.test('400s name the input and field', async (t) => {
  const x = sample(2);
  const url = `${base}/v2/models/mlp/infer`;
  const cases: [unknown, RegExp][] = [
    [{ inputs: [{ name: 'nope', datatype: 'FP32', shape: SAMPLE, data: Array.from(x) }] }, /input 'nope'.*name/],
    [{ inputs: [{ name: IN, datatype: 'FP64', shape: SAMPLE, data: Array.from(x) }] }, new RegExp(`input '${IN}': field 'datatype' is FP64, the model expects FP32`)],
    [{ inputs: [{ name: IN, datatype: 'FP32', shape: [1, 784], data: Array.from(x) }] }, new RegExp(`input '${IN}': field 'shape' \\[1, 784\\] does not match`)],
    [{ inputs: [{ name: IN, datatype: 'FP32', shape: [1, 1, 28, 27], data: Array.from(x) }] }, /field 'shape'/],
    [{ inputs: [{ name: IN, datatype: 'FP32', shape: SAMPLE, data: Array.from(x).slice(1) }] }, new RegExp(`input '${IN}': field 'data' has 783 elements, shape \\[1, 1, 28, 28\\] needs 784`)],
    [{ inputs: [{ name: IN, datatype: 'FP32', shape: SAMPLE, data: [...Array.from(x).slice(1), 'a'] }] }, /field 'data\[783\]'/],
    [{ inputs: [] }, /field 'inputs' must be a non-empty array/],
    [{ inputs: [{ name: IN, datatype: 'FP32', shape: SAMPLE, data: Array.from(x) }], outputs: [{ name: 'zz' }] }, /output 'zz'/],
  ];
  for (const [body, re] of cases) {
    const r = await jsonInfer(url, body);
    const j = await r.json() as any;
    t.equal(r.status, 400, JSON.stringify(j));
    t.match(j.error, re);
  }
  const notJson = await fetch(url, { method: 'POST', headers: { ...INF, 'content-type': 'application/json' }, body: '{"inputs": [' });
  t.equal(notJson.status, 400);
  const { body, headerLength } = encodeBinaryRequest({ inputs: [{ name: IN, datatype: 'FP32', shape: SAMPLE, data: x }] });
  const bin = (h: string, b: Buffer = body) => fetch(url, { method: 'POST', headers: { ...INF, 'inference-header-content-length': h }, body: new Uint8Array(b) });
  for (const [h, b, re] of [
    ['abc', body, /Inference-Header-Content-Length' must be a non-negative integer/],
    [String(body.length + 10), body, /body has only/],
    [String(headerLength - 3), body, /JSON .* is not valid/],
    [String(headerLength), body.subarray(0, body.length - 4), /binary_data_size' runs past the end/],
    [String(headerLength), Buffer.concat([body, Buffer.alloc(4)]), /add up to 3136 bytes, but 3140/],
  ] as [string, Buffer, RegExp][]) {
    const r = await bin(h, b);
    t.equal(r.status, 400, h);
    t.match(((await r.json()) as any).error, re);
  }
  const wrongSize = Buffer.from(JSON.stringify({ inputs: [{ name: IN, datatype: 'FP32', shape: SAMPLE, parameters: { binary_data_size: 100 } }] }));
  const ws = await bin(String(wrongSize.length), Buffer.concat([wrongSize, Buffer.alloc(100)]));
  t.equal(ws.status, 400);
  t.match(((await ws.json()) as any).error, new RegExp(`input '${IN}': field 'parameters.binary_data_size' is 100 bytes, .* needs 3136`));
});

t.test('404 unknown model/version; 401/403 on infer', async (t) => {
  const body = jsonBody(sample(3));
  for (const url of ['/v2/models/other/infer', '/v2/models/mlp/versions/99/infer', '/v2/models/mlp/versions/x/infer']) {
    const r = await jsonInfer(`${base}${url}`, body);
    t.equal(r.status, 404, url);
    t.type(((await r.json()) as any).error, 'string');
  }
  t.equal((await fetch(`${base}/v2/models/other`, { headers: INF })).status, 404);
  t.equal((await fetch(`${base}/v2/models/mlp/versions/7/ready`, { headers: INF })).status, 404);
  const none = await jsonInfer(`${base}/v2/models/mlp/infer`, body, {});
  t.equal(none.status, 401);
  const wrong = await jsonInfer(`${base}/v2/models/mlp/infer`, body, { authorization: `Bearer ${TOKENS.client}` });
  t.equal(wrong.status, 403);
  const bogus = await jsonInfer(`${base}/v2/models/mlp/infer`, body, { authorization: 'Bearer nope-nope' });
  t.equal(bogus.status, 401);
  const admin = await jsonInfer(`${base}/v2/models/mlp/infer`, body, { authorization: `Bearer ${TOKENS.admin}` });
  t.equal(admin.status, 200);
  const m = await fed.metrics.registry.getSingleMetricAsString('fedman_inference_requests_total');
  t.match(m, /model="mlp",code="200"/);
  t.match(m, /code="400"/);
});

t.test('versions: versioned path vs latest after a new version', async (t) => {
  const x = sample(4);
  const v1 = await addScaledVersion(fed, 1.5);
  const latest = await (await jsonInfer(`${base}/v2/models/mlp/infer`, jsonBody(x))).json() as any;
  const at0 = await (await jsonInfer(`${base}/v2/models/mlp/versions/0/infer`, jsonBody(x))).json() as any;
  t.equal(latest.model_version, String(v1));
  t.equal(at0.model_version, '0');
  t.same(Float32Array.from(latest.outputs[0].data), await reference(fed.models, v1, x));
  t.same(Float32Array.from(at0.outputs[0].data), await reference(fed.models, 0, x));
  t.not(JSON.stringify(latest.outputs[0].data), JSON.stringify(at0.outputs[0].data));
  const md = await (await fetch(`${base}/v2/models/mlp`, { headers: INF })).json() as any;
  t.same(md.versions, ['0', String(v1)]);
});

t.test('dynamic batching and hot swap with a request in flight', async (t) => {
  const batcher = new Batcher(ort.Tensor as never, { maxBatch: 4, maxDelayMs: 3000 });
  const fb = await buildApp({ config, stateDir: tmpDir(t, 'fedman-inf-b-'), inference: { batching: batcher, threads: 1 } });
  t.teardown(() => fb.app.close());
  const url = `${await fb.app.listen({ host: '127.0.0.1', port: 0 })}/v2/models/mlp/infer`;
  const xs = [sample(10), sample(11), sample(12, 2)];
  const t0 = Date.now();
  const rs = await Promise.all(xs.map((x, i) => jsonInfer(url, jsonBody(x, [i === 2 ? 2 : 1, 1, 28, 28])).then((r) => r.json() as Promise<any>)));
  t.equal(batcher.counts.runs, 1, 'one run for three requests (4 rows = maxBatch)');
  t.equal(batcher.counts.maxRows, 4);
  t.ok(Date.now() - t0 < 3000, 'the batch ran when it was full, not after maxDelayMs');
  for (const [i, x] of xs.entries()) {
    const got = Float32Array.from(rs[i].outputs[0].data);
    const want = await reference(fb.models, 0, x, i === 2 ? 2 : 1);
    t.same(rs[i].outputs[0].shape, [i === 2 ? 2 : 1, 10]);
    t.same(got, want, `request ${i}: batched equals unbatched`);
  }
  // A lone request waits maxDelayMs in the batcher, holding its lease on version 0 while version 1 appears.
  const x = sample(20);
  const inflight = jsonInfer(url, jsonBody(x)).then((r) => r.json() as Promise<any>);
  await new Promise((r) => setTimeout(r, 500));
  const v1 = await addScaledVersion(fb, 0.5);
  const after = await (await jsonInfer(url, jsonBody(x))).json() as any;
  const done = await inflight;
  t.equal(done.model_version, '0', 'the in-flight request finished on the version it started with');
  t.same(Float32Array.from(done.outputs[0].data), await reference(fb.models, 0, x));
  t.equal(after.model_version, String(v1), 'new requests use the new version');
  t.same(Float32Array.from(after.outputs[0].data), await reference(fb.models, v1, x));
});

t.test('session pool: old versions released once unused', async (t) => {
  const pool = new SessionPool(fed.models);
  t.teardown(() => pool.close());
  const l0 = await pool.acquire(fed.models.get(0)!);
  const l1 = await pool.acquire(fed.models.latest()!);
  t.same(pool.loaded(), [0, fed.models.latest()!.version]);
  l1.release();
  t.same(pool.loaded(), [0, fed.models.latest()!.version], 'in use: kept');
  l0.release();
  t.same(pool.loaded(), [fed.models.latest()!.version], 'unused old version released; latest kept');
  await addScaledVersion(fed, 1);
  t.same(pool.loaded(), [], 'a new version retires the previous latest');
});

t.test('/v2/health/ready answers 503 {ready: false} until a model version exists', async (t) => {
  const Fastify = (await import('fastify')).default;
  const { ModelVersions } = await import('../../src/server/model-versions.js');
  const { inferencePlugin } = await import('../../src/server/inference/plugin.js');
  const models = new ModelVersions(tmpDir(t, 'fedman-inf-empty-'));
  await models.load(0);
  const app = Fastify();
  await app.register(inferencePlugin, { models });
  t.teardown(() => app.close());
  const r = await app.inject({ method: 'GET', url: '/v2/health/ready' });
  t.equal(r.statusCode, 503);
  t.same(r.json(), { ready: false });
});
