/**
 * The pages `fedman serve` hosts for people: the federation dashboard (/dashboard/) and the browser client
 * (/client/), their shared stylesheet (/web/pages.css), their bundles (/web/<name>.js, built from src/web/ with esbuild on first request and kept in memory)
 * and onnxruntime-web's files (/web/ort/). The pages and scripts are public code; the data they show or send goes
 * through the token-protected API routes, with the token the user gives the page.
 */
import { promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync } from 'fastify';
import { bundle, ENTRIES, ORT_PREFIX, type Bundle, type BundleName } from '../../web/build.js';
import { ERROR_RESPONSES, HttpError } from '../errors.js';
import { BINARY_RESPONSE, sendBinary } from '../binary.js';

const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../web');
const ORT_DIR = path.dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
const PAGES = { dashboard: path.join(WEB_DIR, 'dashboard/index.html'), client: path.join(WEB_DIR, 'client/index.html') } as const;
const STYLESHEET = path.join(WEB_DIR, 'pages.css');
/** onnxruntime-web files a page may load: the wasm-only ESM bundle and the wasm binary it fetches (no WebGPU build: see docs/browser.md). */
const ORT_FILE = /^(ort\.wasm\.bundle\.min\.mjs|ort-wasm-simd-threaded\.(mjs|wasm))(\.map)?$/;

export interface WebRoutesOptions {
  /** Minify the bundles (default true). */
  minify?: boolean;
}

const fileParam = (pattern: string) => ({
  type: 'object', required: ['file'], properties: { file: { type: 'string', minLength: 1, maxLength: 64, pattern } },
} as const);

export const webRoutes: FastifyPluginAsync<WebRoutesOptions> = async (app, opts) => {
  // Cross-origin isolation lets the pages use SharedArrayBuffer, hence onnxruntime-web's multi-threaded wasm.
  // Everything these routes serve is same-origin, so the isolation costs the pages nothing.
  app.addHook('onSend', async (_req, reply) => {
    reply.header('cross-origin-opener-policy', 'same-origin');
    reply.header('cross-origin-embedder-policy', 'require-corp');
    reply.header('cross-origin-resource-policy', 'same-origin');
  });
  const built = new Map<BundleName, Promise<Bundle>>();
  const bundleOf = (name: BundleName) => {
    let b = built.get(name);
    if (!b) {
      b = bundle(name, { minify: opts.minify ?? true });
      built.set(name, b);
      b.catch(() => built.delete(name));
    }
    return b;
  };
  const page = (which: keyof typeof PAGES) => async (_req: unknown, reply: import('fastify').FastifyReply) => {
    const html = await fs.readFile(PAGES[which], 'utf8');
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(html);
  };
  const htmlResponse = { response: { 200: { type: 'string' }, ...ERROR_RESPONSES } };

  app.get('/', { schema: { response: { 302: { type: 'null' } } } }, async (_req, reply) => reply.redirect('/dashboard/'));
  app.get('/dashboard', async (_req, reply) => reply.redirect('/dashboard/'));
  app.get('/client', async (_req, reply) => reply.redirect('/client/'));
  app.get('/dashboard/', { schema: htmlResponse }, page('dashboard'));
  app.get('/client/', { schema: htmlResponse }, page('client'));

  app.get('/web/pages.css', async (_req, reply) => {
    return reply.type('text/css; charset=utf-8').header('cache-control', 'no-cache').send(await fs.readFile(STYLESHEET, 'utf8'));
  });

  app.get<{ Params: { file: string } }>('/web/:file', {
    schema: { params: fileParam('^[a-z-]+\\.js(\\.map)?$'), response: { 200: { type: 'string' }, ...ERROR_RESPONSES } },
  }, async (req, reply) => {
    const isMap = req.params.file.endsWith('.map');
    const name = (isMap ? req.params.file.slice(0, -4) : req.params.file) as BundleName;
    if (!(name in ENTRIES)) throw new HttpError(404, `no bundle '${req.params.file}' (have: ${Object.keys(ENTRIES).join(', ')})`);
    const b = await bundleOf(name);
    reply.header('cache-control', 'no-cache');
    if (isMap) return reply.type('application/json').send(b.map);
    return reply.type('text/javascript; charset=utf-8').send(`${b.code}\n//# sourceMappingURL=${name}.map\n`);
  });

  app.get<{ Params: { file: string } }>(`${ORT_PREFIX}:file`, {
    schema: { params: fileParam('^[A-Za-z0-9._-]+$'), response: { ...BINARY_RESPONSE, ...ERROR_RESPONSES } },
  }, async (req, reply) => {
    if (!ORT_FILE.test(req.params.file)) throw new HttpError(404, `no onnxruntime-web file '${req.params.file}' here`);
    const f = req.params.file;
    const type = f.endsWith('.wasm') ? 'application/wasm' : f.endsWith('.map') ? 'application/json' : 'text/javascript; charset=utf-8';
    return sendBinary(req, reply, { file: path.join(ORT_DIR, f), etag: `"${f}"`, cacheControl: 'public, max-age=86400', contentType: type });
  });
};
