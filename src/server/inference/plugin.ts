/**
 * Model serving over the Open Inference Protocol (KServe V2) REST API, for the federation's global model:
 *
 *   GET  /v2/health/live, /v2/health/ready, /v2                     (public)
 *   GET  /v2/models/:name[/versions/:version]                       metadata       (scope 'inference')
 *   GET  /v2/models/:name[/versions/:version]/ready                                (scope 'inference')
 *   POST /v2/models/:name[/versions/:version]/infer                 JSON or binary tensor extension
 *
 * Every model version (one per completed round) is servable by number; unversioned paths use the latest, swapped in
 * as soon as it is durable while requests already running finish on the session they leased (sessions.ts).
 * Inputs are validated against the session's declared names, types and shapes (codec.ts). With `batching`,
 * concurrent requests are run together (batcher.ts).
 */
import { readFileSync } from 'node:fs';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { loadBackend } from '../../runtime/backend.js';
import type { Device } from '../../runtime/device.js';
import { ERROR_RESPONSES, Live, ModelMetadata, ModelParams, ModelReady, ModelVersionParams, Ready, ServerMetadata } from '../../protocol/index.js';
import { HttpError } from '../errors.js';
import type { ServerMetrics } from '../metrics.js';
import type { ModelVersion, ModelVersions } from '../model-versions.js';
import { Batcher, runDirect, type BatchingOptions } from './batcher.js';
import { HEADER_LENGTH, decodeRequest, encodeResponse, splitBody, type OutputTensor } from './codec.js';
import { SessionPool, type LoadedModel } from './sessions.js';

export interface InferencePluginOptions {
  models: ModelVersions;
  metrics?: ServerMetrics;
  /** Model name served (default: the versions' model name from the artifacts' manifest). */
  name?: string;
  /** Dynamic batching (off by default); a Batcher instance to share or inspect one. */
  batching?: BatchingOptions | Batcher;
  /** Largest inference request body (bytes; default 64 MiB). */
  bodyLimit?: number;
  /** intra-op threads per ONNX Runtime session. */
  threads?: number;
  /** Where sessions run: 'cpu' (default) or 'webgpu'. */
  device?: Device;
  /** A session pool to use (default: a new one, closed with the server). */
  sessions?: SessionPool;
}

function serverVersion(): string {
  for (const rel of ['../../../package.json', '../../../../package.json']) {
    try {
      const p = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (p.name === 'fedman' && p.version) return p.version;
    } catch { /* try the next */ }
  }
  return '0.0.0';
}

type ModelRequest = FastifyRequest<{ Params: { name: string; version?: string } }>;

export const inferencePlugin: FastifyPluginAsync<InferencePluginOptions> = async (app, opts) => {
  const { models, metrics } = opts;
  const pool = opts.sessions ?? new SessionPool(models, { threads: opts.threads, device: opts.device });
  const Tensor = (await loadBackend('node')).ort.Tensor as unknown as ConstructorParameters<typeof Batcher>[0];
  const batcher = opts.batching instanceof Batcher ? opts.batching : opts.batching ? new Batcher(Tensor, opts.batching) : undefined;
  const version = serverVersion();
  const modelName = () => opts.name ?? models.latest()?.model ?? 'model';
  if (!opts.sessions) app.addHook('onClose', async () => { batcher?.drain(); pool.close(); });

  /** The version a path names (404 for an unknown model or version). */
  function resolve(req: ModelRequest): ModelVersion {
    const { name, version: v } = req.params;
    if (name !== modelName()) throw new HttpError(404, `unknown model '${name}' (this server serves '${modelName()}')`);
    if (v === undefined) {
      const latest = models.latest();
      if (!latest) throw new HttpError(404, `model '${name}' has no version yet`);
      return latest;
    }
    const mv = /^\d+$/.test(v) ? models.get(Number(v)) : undefined;
    if (!mv) throw new HttpError(404, `unknown version '${v}' of model '${name}' (have ${models.list().map((x) => x.version).join(', ') || 'none'})`);
    return mv;
  }

  // Inference bodies are JSON, or JSON followed by raw tensor bytes: parse them here, whatever the content type.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: opts.bodyLimit ?? 64 * 1024 * 1024 }, (_req, body, done) => done(null, body));

  app.get('/v2/health/live', {
    schema: { response: { 200: Live, ...ERROR_RESPONSES } },
  }, async () => ({ live: true }));

  app.get('/v2/health/ready', {
    // 503 (not ready yet) answers {ready: false}, as the Open Inference Protocol has it, not an error body.
    schema: { response: { 200: Ready, 503: Ready, ...ERROR_RESPONSES } },
  }, async (_req, reply) => {
    const ready = models.latest() !== undefined;
    return reply.code(ready ? 200 : 503).send({ ready });
  });

  app.get('/v2', {
    schema: { response: { 200: ServerMetadata, ...ERROR_RESPONSES } },
  }, async () => ({ name: 'fedman', version, extensions: ['binary_tensor_data', 'model_versions'] }));

  const metadataSchema = (params: typeof ModelParams | typeof ModelVersionParams) => ({ params, response: { 200: ModelMetadata, ...ERROR_RESPONSES } });
  const metadata = async (req: ModelRequest) => {
    const v = resolve(req);
    const m = await pool.describe(v);
    return {
      name: modelName(), versions: models.list().map((x) => String(x.version)), platform: 'onnx_onnxv1',
      inputs: m.inputs, outputs: m.outputs,
    };
  };
  app.get('/v2/models/:name', { config: { scope: 'inference' }, schema: metadataSchema(ModelParams) }, metadata);
  app.get('/v2/models/:name/versions/:version', { config: { scope: 'inference' }, schema: metadataSchema(ModelVersionParams) }, metadata);

  const readySchema = (params: typeof ModelParams | typeof ModelVersionParams) => ({ params, response: { 200: ModelReady, ...ERROR_RESPONSES } });
  const modelReady = async (req: ModelRequest) => {
    const v = resolve(req);
    let ready = true;
    try { await pool.describe(v); } catch (err) { req.log.warn({ err, version: v.version }, 'model version could not be loaded'); ready = false; }
    return { name: modelName(), ready };
  };
  app.get('/v2/models/:name/ready', { config: { scope: 'inference' }, schema: readySchema(ModelParams) }, modelReady);
  app.get('/v2/models/:name/versions/:version/ready', { config: { scope: 'inference' }, schema: readySchema(ModelVersionParams) }, modelReady);

  const infer = async (req: ModelRequest, reply: FastifyReply) => {
    const t0 = process.hrtime.bigint();
    const v = resolve(req);
    const body = req.body;
    if (!Buffer.isBuffer(body) || body.length === 0) throw new HttpError(400, 'the request needs a body: {"inputs": [...]}');
    const lease = await pool.acquire(v);
    try {
      const model: LoadedModel = lease.model;
      const { json, tail } = splitBody(body, req.headers[HEADER_LENGTH]);
      const r = decodeRequest(json, tail, model.inputs, model.outputs);
      const out = batcher ? await batcher.run(model, r.inputs) : await runDirect(Tensor, model, r.inputs);
      const enc = encodeResponse({ model_name: modelName(), model_version: String(v.version), id: r.id }, r.outputs, out as unknown as Record<string, OutputTensor>);
      metrics?.inferenceLatency.observe({ model: modelName(), version: String(v.version) }, Number(process.hrtime.bigint() - t0) / 1e9);
      if (enc.headerLength !== undefined) {
        reply.header('inference-header-content-length', String(enc.headerLength));
        reply.type('application/octet-stream');
      } else reply.type('application/json; charset=utf-8');
      return reply.send(enc.body);
    } finally {
      lease.release();
    }
  };
  app.post('/v2/models/:name/infer', { config: { scope: 'inference' }, schema: { params: ModelParams, response: { ...ERROR_RESPONSES } } }, infer);
  app.post('/v2/models/:name/versions/:version/infer', { config: { scope: 'inference' }, schema: { params: ModelVersionParams, response: { ...ERROR_RESPONSES } } }, infer);

  if (metrics) {
    app.addHook('onResponse', async (req, reply) => {
      if (req.method === 'POST' && req.routeOptions.url?.endsWith('/infer')) {
        metrics.inferenceRequests.inc({ model: (req.params as { name?: string }).name ?? '', code: String(reply.statusCode) });
      }
    });
  }
};
