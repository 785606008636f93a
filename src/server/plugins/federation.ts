/**
 * The federation protocol under /v1 (docs/protocol.md): join, long-polled tasks, artifacts, parameters,
 * client-term inputs, update uploads. Every route has a schema; errors are `{error}` naming the field.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import AjvModule from 'ajv';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { ERROR_RESPONSES, HttpError, describeValidation } from '../errors.js';
import { BINARY_RESPONSE, sendBinary } from '../binary.js';
import type { Federation } from '../federation.js';
import type { UploadMeta } from '../state.js';
import { Semaphore } from '../../util/semaphore.js';

export interface FederationRoutesOptions {
  federation: Federation;
}

/** Header carrying an update's metadata (JSON). */
export const META_HEADER = 'x-fedman-meta';
/** Header carrying the SHA-256 (hex) of a parameter version's bytes. */
export const PARAMS_DIGEST_HEADER = 'x-fedman-params-sha256';
/** Header carrying the client's key, when it registered one at join. */
export const CLIENT_KEY_HEADER = 'x-fedman-client-key';

const Ajv = AjvModule.default;

/**
 * Largest count in the metadata (2^53 - 1). numSamples weights the update in the aggregate: an unbounded weight
 * (1e300 times a finite parameter) would overflow the float64 sums and make the global model non-finite.
 */
const MAX_COUNT = Number.MAX_SAFE_INTEGER;

export const UPLOAD_META_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['round', 'clientId', 'uploadId', 'numSamples'],
  properties: {
    round: { type: 'integer', minimum: 1, maximum: MAX_COUNT },
    attempt: { type: 'integer', minimum: 0, maximum: MAX_COUNT, default: 0 },
    clientId: { type: 'integer', minimum: 0, maximum: MAX_COUNT },
    uploadId: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:-]+$' },
    numSamples: { type: 'integer', minimum: 0, maximum: MAX_COUNT },
    steps: { type: 'integer', minimum: 0, maximum: MAX_COUNT, default: 0 },
    samples: { type: 'integer', minimum: 0, maximum: MAX_COUNT, default: 0 },
    metrics: {
      type: 'object',
      additionalProperties: false,
      properties: {
        loss: { type: 'number', default: 0 }, ce: { type: 'number', default: 0 }, man: { type: 'number', default: 0 }, accuracy: { type: 'number', default: 0 },
      },
      default: {},
    },
    seconds: { type: 'number', minimum: 0, default: 0 },
  },
} as const;
// strictNumbers: JSON can spell Infinity (1e999), which `strict: false` would let through 'integer' and 'number'.
const metaAjvDefaults = new Ajv({ allErrors: false, strict: false, strictNumbers: true, useDefaults: true });
const validateMeta = metaAjvDefaults.compile(UPLOAD_META_SCHEMA);

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

const artifactFile = {
  type: 'object', required: ['name', 'size', 'sha256'],
  properties: { name: { type: 'string' }, size: { type: 'integer' }, sha256: { type: 'string' } },
} as const;

const artifactsInfo = {
  type: 'object', required: ['id', 'files'],
  properties: { id: { type: 'string' }, files: { type: 'array', items: artifactFile } },
} as const;

const nullableInt = { type: ['integer', 'null'] } as const;

const joinResponse = {
  type: 'object',
  required: ['clientId', 'name', 'rejoined', 'federation', 'artifacts', 'data', 'limits'],
  properties: {
    clientId: { type: 'integer' },
    name: { type: 'string' },
    rejoined: { type: 'boolean' },
    federation: {
      type: 'object',
      properties: {
        name: { type: 'string' }, algorithm: { type: 'string' }, man: { type: 'number' }, rounds: { type: 'integer' }, clients: { type: 'integer' },
        model: { type: 'string' }, paramCount: { type: 'integer' },
      },
    },
    artifacts: artifactsInfo,
    data: {
      type: ['object', 'null'],
      properties: {
        data: { type: 'string' }, limit: nullableInt, testLimit: nullableInt, normalize: { type: 'boolean' },
        partition: { type: 'object', additionalProperties: true }, numClients: { type: 'integer' }, seed: { type: 'integer' },
      },
    },
    limits: { type: 'object', properties: { longPollSeconds: { type: 'number' }, connectedSeconds: { type: 'number' } } },
  },
} as const;

const taskResponse = {
  type: 'object',
  required: ['type'],
  properties: {
    type: { type: 'string', enum: ['train', 'wait', 'done'] },
    round: { type: 'integer' },
    attempt: { type: 'integer' },
    paramsVersion: { type: 'integer' },
    deadline: { type: 'string' },
    config: {
      type: 'object',
      properties: {
        lr: { type: 'number' }, epochs: { type: 'integer' }, localSteps: nullableInt, batchSize: { type: 'integer' },
        shuffleSeed: nullableInt, hypers: { type: 'object', additionalProperties: { type: 'number' } },
        clientInputs: { type: 'array', items: { type: 'string' } },
      },
    },
    retryAfter: { type: 'number' },
    reason: { type: 'string' },
    finalVersion: { type: 'integer' },
  },
} as const;

const clientIdQuery = { type: 'integer', minimum: 0 } as const;

export const federationRoutes: FastifyPluginAsync<FederationRoutesOptions> = async (app, { federation: fed }) => {
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
  const longPoll = fed.config.limits.longPollSeconds;

  // Raw bodies (parameter uploads); limited per route.
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: n * 4 }, (_req, body, done) => done(null, body));

  app.get('/v1', {
    schema: {
      response: {
        200: {
          type: 'object',
          properties: { protocol: { type: 'string' }, version: { type: 'integer' }, federation: { type: 'string' }, docs: { type: 'string' } },
        },
        ...ERROR_RESPONSES,
      },
    },
  }, async () => ({ protocol: 'fedman-federation', version: 1, federation: fed.config.name, docs: 'docs/protocol.md' }));

  app.get('/v1/health', {
    schema: { response: { 200: { type: 'object', properties: { ok: { type: 'boolean' }, phase: { type: 'string' } } }, ...ERROR_RESPONSES } },
  }, async () => ({ ok: true, phase: fed.currentPhase }));

  app.post<{ Body: { name: string; key?: string; clientIndex?: number } }>('/v1/join', {
    config: { scope: 'client' },
    schema: {
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['name'],
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:@-]+$' },
          key: { type: 'string', minLength: 8, maxLength: 256 },
          clientIndex: { type: 'integer', minimum: 0 },
        },
      },
      response: { 200: joinResponse, ...ERROR_RESPONSES },
    },
  }, async (req) => fed.join(req.body));

  app.post<{ Body: { clientId: number; numSamples?: number }; Querystring: { timeout: number } }>('/v1/task', {
    config: { scope: 'client' },
    schema: {
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: { timeout: { type: 'number', minimum: 0, maximum: longPoll, default: Math.min(longPoll, 30) } },
      },
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['clientId'],
        properties: { clientId: clientIdQuery, numSamples: { type: 'integer', minimum: 0 } },
      },
      response: { 200: taskResponse, ...ERROR_RESPONSES },
    },
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
    schema: { response: { 200: artifactsInfo, ...ERROR_RESPONSES } },
  }, async () => ({ id: fed.artifacts.id, files: fed.artifacts.files }));

  app.get<{ Params: { file: string } }>('/v1/artifacts/:file', {
    config: { scope: 'client' },
    schema: {
      params: { type: 'object', required: ['file'], properties: { file: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._-]+$' } } },
      response: { ...BINARY_RESPONSE, ...ERROR_RESPONSES },
    },
  }, async (req, reply) => {
    const f = fed.artifacts.files.find((x) => x.name === req.params.file);
    if (!f) throw new HttpError(404, `no artifact file '${req.params.file}' (have: ${fed.artifacts.files.map((x) => x.name).join(', ')})`);
    return sendBinary(req, reply, {
      file: path.join(fed.artifacts.dir, f.name), etag: `"${f.sha256}"`, cacheControl: 'public, max-age=31536000, immutable',
      contentType: f.name.endsWith('.json') ? 'application/json' : 'application/octet-stream',
    });
  });

  app.get<{ Querystring: { version?: number } }>('/v1/params', {
    config: { scope: 'client' },
    schema: {
      querystring: { type: 'object', additionalProperties: false, properties: { version: { type: 'integer', minimum: 0 } } },
      response: { ...BINARY_RESPONSE, ...ERROR_RESPONSES },
    },
  }, async (req, reply) => {
    const v = fed.paramsVersion(req.query.version);
    reply.header('x-fedman-params-version', String(v.version));
    reply.header('x-fedman-param-count', String(n));
    // The digest of the whole version, so a client can check a download it resumed in pieces.
    reply.header(PARAMS_DIGEST_HEADER, await paramsDigest(v.version, v.file));
    // A version never changes, so its ETag is its number.
    return sendBinary(req, reply, { file: v.file, etag: `"v${v.version}"`, cacheControl: req.query.version === undefined ? 'no-cache' : 'public, max-age=31536000, immutable' });
  });

  app.get<{ Params: { kind: string }; Querystring: { clientId: number; round: number; attempt: number } }>('/v1/client-inputs/:kind', {
    config: { scope: 'client' },
    schema: {
      params: { type: 'object', required: ['kind'], properties: { kind: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_]+$' } } },
      querystring: {
        type: 'object',
        additionalProperties: false,
        required: ['clientId', 'round'],
        properties: { clientId: clientIdQuery, round: { type: 'integer', minimum: 1 }, attempt: { type: 'integer', minimum: 0, default: 0 } },
      },
      response: { ...BINARY_RESPONSE, ...ERROR_RESPONSES },
    },
  }, async (req, reply) => {
    const { clientId, round, attempt } = req.query;
    const v = await fed.clientInput(clientId, keyOf(req), req.params.kind, round, attempt);
    return sendBinary(req, reply, { bytes: new Uint8Array(v.buffer, v.byteOffset, v.byteLength), etag: `"r${round}a${attempt}c${clientId}-${req.params.kind}"` });
  });

  app.get<{ Querystring: { clientId: number } }>('/v1/client-data', {
    config: { scope: 'client' },
    schema: {
      querystring: { type: 'object', additionalProperties: false, required: ['clientId'], properties: { clientId: clientIdQuery } },
      response: { ...BINARY_RESPONSE, ...ERROR_RESPONSES },
    },
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
    schema: {
      headers: {
        type: 'object',
        required: [META_HEADER],
        properties: { [META_HEADER]: { type: 'string', minLength: 2, maxLength: 8192 } },
      },
      response: {
        200: {
          type: 'object',
          required: ['accepted', 'duplicate', 'round', 'received', 'expected'],
          properties: { accepted: { type: 'boolean' }, duplicate: { type: 'boolean' }, round: { type: 'integer' }, received: { type: 'integer' }, expected: { type: 'integer' } },
        },
        ...ERROR_RESPONSES,
      },
    },
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
