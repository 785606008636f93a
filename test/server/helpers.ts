/** Shared helpers of the server tests: configs, in-process apps, uploads. */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp, type FedmanApp } from '../../src/server/app.js';
import { withPages } from '../../src/web/pages.js';
import { validateServerConfig, type ServerConfig } from '../../src/config/index.js';
import { pollUntil } from '../helpers/poll.js';

export const TOKENS = { client: 'client-token-1234', inference: 'infer-token-1234', admin: 'admin-token-1234' };
export const CLIENT = { authorization: `Bearer ${TOKENS.client}` };
export const ADMIN = { authorization: `Bearer ${TOKENS.admin}` };

export function serverConfig(over: Record<string, unknown> = {}): ServerConfig {
  return validateServerConfig({
    model: 'mlp', clients: 3, rounds: 2, roundDeadline: 600,
    tokens: { client: [TOKENS.client], inference: [TOKENS.inference], admin: [TOKENS.admin] },
    limits: { longPollSeconds: 5, connectedSeconds: 60 },
    ...over,
  });
}

export async function openApp(config: ServerConfig, stateDir: string): Promise<FedmanApp> {
  return buildApp({ extend: withPages(), config, stateDir });
}

export interface Meta {
  round: number; attempt?: number; clientId: number; uploadId: string; numSamples: number; steps?: number; samples?: number;
  metrics?: Record<string, number>; seconds?: number;
}

export function upload(app: FastifyInstance, meta: Meta | string | undefined, body: Uint8Array | Float32Array | string, headers: Record<string, string> = CLIENT) {
  const h: Record<string, string> = { 'content-type': 'application/octet-stream', ...headers };
  if (meta !== undefined) h['x-fedman-meta'] = typeof meta === 'string' ? meta : JSON.stringify(meta);
  return app.inject({ method: 'POST', url: '/v1/update', headers: h, payload: typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength) });
}

/** Deterministic pseudo-trained parameters: base + small seeded noise. */
export function fakeParams(base: Float32Array, seed: number): Float32Array {
  const out = new Float32Array(base.length);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < base.length; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    out[i] = base[i]! + ((s / 0x100000000) - 0.5) * 0.01;
  }
  return out;
}

export function f32(buf: Buffer | Uint8Array): Float32Array {
  const b = Uint8Array.from(buf);
  return new Float32Array(b.buffer, 0, b.byteLength / 4);
}

export async function listDir(dir: string): Promise<string[]> {
  try { return (await readdir(dir)).sort(); } catch { return []; }
}

export async function statusOf(app: FastifyInstance): Promise<Record<string, any>> {
  const r = await app.inject({ method: 'GET', url: '/v1/admin/status', headers: ADMIN });
  if (r.statusCode !== 200) throw new Error(`status: ${r.statusCode} ${r.body}`);
  return r.json();
}

/** Polls the admin status until `ok` holds (bounded by `ms`; the error names `what`) and returns that status. */
export function untilStatus(app: FastifyInstance, what: string, ok: (s: Record<string, any>) => boolean, ms = 15_000): Promise<Record<string, any>> {
  return pollUntil(what, () => statusOf(app), ok, { ms });
}

export const updatesDir = (state: string) => path.join(state, 'updates');
