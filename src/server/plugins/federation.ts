/**
 * The federation protocol under /v1 (docs/protocol.md): join, long-polled tasks, artifacts, parameters,
 * client-term inputs, update uploads. Every route validates and serialises with the protocol's schemas
 * (src/protocol); errors are `{error}` naming the field.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import AjvModule from 'ajv';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import {
  ArtifactFileParams, ArtifactsInfo, ArtifactsQuery, CLIENT_KEY_HEADER, ClientDataQuery, ClientInputParams, ClientInputQuery, ERROR_RESPONSES, Health,
  JoinRequest, JoinResponse, META_HEADER, PARAM_COUNT_HEADER, PARAMS_DIGEST_HEADER, PARAMS_VERSION_HEADER, ParamsQuery, ProtocolInfo,
  TaskMessage, TaskRequest, taskQuery, UploadHeaders, UploadMeta, UploadResult,
} from '../../protocol/index.js';
import { HttpError, describeValidation } from '../errors.js';
import { BINARY_RESPONSE, sendBinary } from '../binary.js';
import type { Federation } from '../federation/index.js';
import { servedFile } from '../federation/index.js';
import { Semaphore } from '../../util/semaphore.js';

export interface FederationRoutesOptions {
  federation: Federation;
}

const Ajv = AjvModule.default;
// strictNumbers: JSON can spell Infinity (1e999), which `strict: false` would let through 'integer' and 'number'.
const metaAjv = new Ajv({ allErrors: false, strict: false, strictNumbers: true, useDefaults: true });
const validateMeta = metaAjv.compile(UploadMeta);

/** Parses and validates the X-Fedman-Meta header; errors name the field ('X-Fedman-Meta.round'). */
export function parseUploadMeta(header: string | undefined): UploadMeta {
  if (!header) throw new HttpError(400, `header 'X-Fedman-Meta' is required (JSON: {round, attempt, clientId, uploadId, numSamples, steps, samples, metrics})`);
  let raw: unknown;
  try { raw = JSON.parse(header); } catch {
    throw new HttpError(400, "header 'X-Fedman-Meta' is not valid JSON");
  }
  if (!validateMeta(raw)) {
    const e = validateMeta.errors![0]!;
    throw new HttpError(400, describeValidation(e, 'X-Fedman-Meta'));
  }
  const m = raw as UploadMeta;
  for (const k of ['loss', 'ce', 'man', 'accuracy'] as const) {
    if (!Number.isFinite(m.metrics[k])) throw new HttpError(400, `field 'X-Fedman-Meta.metrics.${k}' must be a finite number`);
  }
  return m;
}

function keyOf(req: FastifyRequest): string | undefined {
  const v = req.headers[CLIENT_KEY_HEADER];
  return Array.isArray(v) ? v[0] : v;
}

export const federationRoutes: FastifyPluginAsync<FederationRoutesOptions> = async (root, { federation: fed }) => {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  const n = fed.paramCount;
  const digests = new Map<number, Promise<string>>();
  const paramsDigest = (version: number, file: string) => {
    let d = digests.get(version);
    if (!d) {
      d = readFile(file).then((b) => createHash('sha256').update(b).digest('hex'));
      digests.set(version, d);
      d.catch(() => digests.delete(version));
    }
    return d;
  };

  // Raw bodies (parameter uploads); limited per route.
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: n * 4 }, (_req, body, done) => done(null, body));

  app.get('/v1', {
    schema: { response: { 200: ProtocolInfo, ...ERROR_RESPONSES } },
  }, async () => ({ protocol: 'fedman-federation', version: 1, federation: fed.config.name, docs: 'docs/protocol.md' }));

  app.get('/v1/health', {
    schema: { response: { 200: Health, ...ERROR_RESPONSES } },
  }, async () => ({ ok: true, phase: fed.currentPhase }));

  app.post('/v1/join', {
    config: { scope: 'client' },
    schema: { body: JoinRequest, response: { 200: JoinResponse, ...ERROR_RESPONSES } },
  }, async (req) => fed.join(req.body));

  app.post('/v1/task', {
    config: { scope: 'client' },
    schema: { querystring: taskQuery(fed.config.limits.longPollSeconds), body: TaskRequest, response: { 200: TaskMessage, ...ERROR_RESPONSES } },
  }, async (req, reply) => {
    const ac = new AbortController();
    const onClose = () => { if (!reply.raw.writableFinished) ac.abort(); };
    reply.raw.on('close', onClose);
    try {
      const t = await fed.task(req.body.clientId, keyOf(req), req.body.numSamples, req.query.timeout * 1000, ac.signal);
      if (t.type === 'wait') reply.header('retry-after', String(Math.ceil(t.retryAfter)));
      return t;
    } finally {
      reply.raw.off('close', onClose);
    }
  });

  app.get('/v1/artifacts', {
    config: { scope: 'client' },
    schema: { querystring: ArtifactsQuery, response: { 200: ArtifactsInfo, ...ERROR_RESPONSES } },
  }, async (req) => fed.artifactFiles(req.query.format));

  app.get('/v1/artifacts/:file', {
    config: { scope: 'client' },
    schema: { params: ArtifactFileParams, response: { ...BINARY_RESPONSE, ...ERROR_RESPONSES } },
  }, async (req, reply) => {
    const f = servedFile(fed.artifacts, req.params.file);
    if (!f) throw new HttpError(404, `no artifact file '${req.params.file}' (have: ${fed.artifacts.files.map((x) => x.name).join(', ')})`);
    return sendBinary(req, reply, {
      file: path.join(fed.artifacts.dir, f.name), etag: `"${f.sha256}"`, cacheControl: 'public, max-age=31536000, immutable',
      contentType: f.name.endsWith('.json') ? 'application/json' : 'application/octet-stream',
    });
  });

  app.get('/v1/params', {
    config: { scope: 'client' },
    schema: { querystring: ParamsQuery, response: { ...BINARY_RESPONSE, ...ERROR_RESPONSES } },
  }, async (req, reply) => {
    const v = fed.paramsVersion(req.query.version);
    reply.header(PARAMS_VERSION_HEADER, String(v.version));
    reply.header(PARAM_COUNT_HEADER, String(n));
    // The digest of the whole version, so a client can check a download it resumed in pieces.
    reply.header(PARAMS_DIGEST_HEADER, await paramsDigest(v.version, v.file));
    // A version never changes, so its ETag is its number.
    return sendBinary(req, reply, { file: v.file, etag: `"v${v.version}"`, cacheControl: req.query.version === undefined ? 'no-cache' : 'public, max-age=31536000, immutable' });
  });

  app.get('/v1/client-inputs/:kind', {
    config: { scope: 'client' },
    schema: { params: ClientInputParams, querystring: ClientInputQuery, response: { ...BINARY_RESPONSE, ...ERROR_RESPONSES } },
  }, async (req, reply) => {
    const { clientId, round, attempt } = req.query;
    const v = await fed.clientInput(clientId, keyOf(req), req.params.kind, round, attempt);
    return sendBinary(req, reply, { bytes: new Uint8Array(v.buffer, v.byteOffset, v.byteLength), etag: `"r${round}a${attempt}c${clientId}-${req.params.kind}"` });
  });

  app.get('/v1/client-data', {
    config: { scope: 'client' },
    schema: { querystring: ClientDataQuery, response: { ...BINARY_RESPONSE, ...ERROR_RESPONSES } },
  }, async (req, reply) => {
    const bytes = await fed.clientData(req.query.clientId, keyOf(req));
    return sendBinary(req, reply, { bytes, etag: `"data-c${req.query.clientId}"`, cacheControl: 'private, max-age=3600' });
  });

  const uploadSlots = new Semaphore(fed.config.limits.concurrentUploads);
  app.post('/v1/update', {
    config: { scope: 'client' },
    bodyLimit: n * 4,
    // Runs after authentication and before the body is read: a waiting upload's bytes stay in the socket.
    onRequest: async (req, reply) => {
      const release = await uploadSlots.acquire();
      reply.raw.once('close', release);
      if (reply.raw.destroyed || req.raw.destroyed) release();
    },
    schema: { headers: UploadHeaders, response: { 200: UploadResult, ...ERROR_RESPONSES } },
  }, async (req) => {
    let meta: UploadMeta;
    try { meta = parseUploadMeta(req.headers[META_HEADER] as string | undefined); } catch (err) {
      fed.metrics.uploadsRejected.inc({ reason: 'meta' });
      throw err;
    }
    const ct = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (req.body !== undefined && !Buffer.isBuffer(req.body)) {
      fed.metrics.uploadsRejected.inc({ reason: 'content-type' });
      throw new HttpError(415, `the update body must be raw float32 values with Content-Type application/octet-stream (got '${ct || 'none'}')`);
    }
    const body = (req.body as Buffer | undefined) ?? Buffer.alloc(0);
    return fed.upload(meta, keyOf(req), body);
  });
};
