/**
 * Every error the server sends is `{"error": "<message>"}` with a 4xx/5xx status. Bad input is always 4xx:
 * schema violations name the field ('body.name', 'querystring.timeout', 'headers.x-fedman-meta'), body-parser
 * failures keep Fastify's status (400 bad JSON, 413 too large, 415 wrong content type), and HttpErrors thrown by
 * handlers carry their own status. Anything else is a bug: 500 with a generic message, logged with its stack.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifySchemaValidationError } from 'fastify';
import { ErrorBody, ERROR_RESPONSES } from '../protocol/index.js';
import { FederationError, type FederationErrorKind } from './federation/errors.js';

/** An error with an HTTP status, sent to the client as `{error: message}`. */
export class HttpError extends Error {
  constructor(readonly statusCode: number, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
    this.name = 'HttpError';
  }
}

/** JSON schema of every error body (use under `response: { '4xx': ERROR_SCHEMA, '5xx': ERROR_SCHEMA }`). */
export const ERROR_SCHEMA = ErrorBody;
export { ERROR_RESPONSES };

/** The status code of each kind of thing the federation refuses. */
const FEDERATION_STATUS: Record<FederationErrorKind, number> = { invalid: 400, forbidden: 403, 'not-found': 404, conflict: 409, unavailable: 503 };

/** A federation refusal as the HTTP error it is sent as. */
function httpErrorOf(err: FederationError): HttpError {
  const headers: Record<string, string> = err.retryAfterSeconds !== undefined ? { 'retry-after': String(err.retryAfterSeconds) } : {};
  return new HttpError(FEDERATION_STATUS[err.kind], err.message, headers);
}

/** 'body.name' from a schema error (missing and unknown properties included). */
export function validationField(e: Pick<FastifySchemaValidationError, 'instancePath' | 'keyword' | 'params'>, dataVar: string): string {
  const parts = e.instancePath.split('/').filter(Boolean).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (e.keyword === 'required') parts.push(String(e.params.missingProperty));
  if (e.keyword === 'additionalProperties') parts.push(String(e.params.additionalProperty));
  return [dataVar, ...parts].filter(Boolean).join('.');
}

/** One readable sentence for a schema error. */
export function describeValidation(e: Pick<FastifySchemaValidationError, 'instancePath' | 'keyword' | 'params' | 'message'>, dataVar: string): string {
  const field = validationField(e, dataVar);
  switch (e.keyword) {
    case 'required': return `field '${field}' is required`;
    case 'additionalProperties': return `unknown field '${field}'`;
    case 'enum': return `field '${field}' must be one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    default: return `field '${field}' ${e.message ?? 'is invalid'}`;
  }
}

/** Fastify's schemaErrorFormatter: the first problem, naming its field. */
export function schemaErrorFormatter(errors: FastifySchemaValidationError[], dataVar: string): Error {
  const msgs = [...new Set(errors.filter((e) => e.keyword !== 'if').map((e) => describeValidation(e, dataVar)))];
  return new HttpError(400, msgs.join('; ') || `invalid ${dataVar}`);
}

function statusOf(err: FastifyError | HttpError | Error): number {
  const s = (err as { statusCode?: unknown }).statusCode;
  return typeof s === 'number' && s >= 400 && s < 600 ? s : 500;
}

/** Sends `{error}`; 5xx other than HttpErrors get a generic message (and a log line with the stack). */
export function sendError(err: Error, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (err instanceof FederationError) err = httpErrorOf(err);
  if ((err as FastifyError).validation) {
    const v = err as FastifyError;
    const msg = err instanceof HttpError ? err.message : schemaErrorFormatter(v.validation as FastifySchemaValidationError[], v.validationContext ?? 'request').message;
    return reply.code(400).send({ error: msg });
  }
  const status = statusOf(err);
  if (err instanceof HttpError) for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
  if (status >= 500 && !(err instanceof HttpError)) {
    req.log.error({ err }, 'request failed');
    return reply.code(status).send({ error: 'internal server error' });
  }
  if (status === 413) return reply.code(413).send({ error: `request body too large: ${err.message.replace(/^Request body is too large$/, 'over the limit')}` });
  return reply.code(status).send({ error: err.message });
}

/** Installs the JSON error handler, the 404 handler and framework-error handling on the root instance. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: Error, req, reply) => sendError(err, req, reply));
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({ error: `no route ${req.method} ${req.url.split('?')[0]}` });
  });
}
