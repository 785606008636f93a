/**
 * The pages `fedman serve` hosts for people: the federation dashboard (/dashboard/) and the browser client
 * (/client/), their shared stylesheet (/web/pages.css), their bundles (/web/<name>.js) and onnxruntime-web's files
 * (/web/ort/). The compiled package serves the bundles its build wrote (dist/browser/, scripts/build-package.ts);
 * running from the TypeScript sources, they are built from src/web/ with esbuild on first request and kept in memory.
 * The pages and scripts are public code; the data they show or send goes through the token-protected API routes,
 * with the token the user gives the page.
 *
 * A plugin of the pages' own layer (above the server): `fedman serve` adds it to the app it builds,
 * `buildApp({ ..., extend: withPages() })`.
 */
import { promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { bundle, bundleJs, ENTRIES, ORT_PREFIX, type BundleName } from './build.js';
import { ERROR_RESPONSES, HttpError } from '../server/errors.js';
import { BINARY_RESPONSE, sendBinary } from '../server/binary.js';

const WEB_DIR = path.dirname(fileURLToPath(import.meta.url));
const ORT_DIR = path.dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
const PAGES = { dashboard: path.join(WEB_DIR, 'dashboard/index.html'), client: path.join(WEB_DIR, 'client/index.html') } as const;
const STYLESHEET = path.join(WEB_DIR, 'pages.css');
/** The package build's bundles (dist/browser/ beside dist/src/); none when this module runs from its TypeScript source. */
const PREBUILT_DIR = import.meta.url.endsWith('.ts') ? null : fileURLToPath(new URL('../../browser/', import.meta.url));
/**
 * onnxruntime-web files a page may load: the wasm-only ESM bundle and the wasm binary it fetches, and the WebGPU
 * build (ORT's native WebGPU EP) with its binary, which the client worker loads only to train on the GPU.
 */
const ORT_FILE = /^(ort\.(wasm|webgpu)\.bundle\.min\.mjs|ort-wasm-simd-threaded(\.asyncify)?\.(mjs|wasm))(\.map)?$/;

export interface PagesOptions {
  /** Minify the bundles built from the sources (default true; the package's prebuilt bundles are minified). */
  minify?: boolean;
}

const fileParam = (pattern: string) => ({
  type: 'object', required: ['file'], properties: { file: { type: 'string', minLength: 1, maxLength: 64, pattern } },
} as const);

interface Served { js: string; map: string }

async function prebuilt(dir: string, name: BundleName): Promise<Served | null> {
  const read = (f: string) => fs.readFile(path.join(dir, f), 'utf8');
  try {
    const [js, map] = await Promise.all([read(name), read(`${name}.map`)]);
    return { js, map };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/**
 * The compiled package serves the bundles its build wrote (esbuild, a devDependency, is not installed with it); from
 * the TypeScript sources a bundle is built now.
 */
async function loadBundle(name: BundleName, minify: boolean): Promise<Served> {
  if (PREBUILT_DIR) {
    const ready = await prebuilt(PREBUILT_DIR, name);
    if (!ready) throw new HttpError(500, `the pages' bundle '${name}' is not in ${PREBUILT_DIR}: this fedman was not built completely (npm run build)`);
    return ready;
  }
  const b = await bundle(name, { minify });
  return { js: bundleJs(b), map: b.map };
}

export const pagesPlugin: FastifyPluginAsync<PagesOptions> = async (app, opts) => {
  // Cross-origin isolation lets the pages use SharedArrayBuffer, hence onnxruntime-web's multi-threaded wasm.
  // Everything these routes serve is same-origin, so the isolation costs the pages nothing.
  app.addHook('onSend', async (_req, reply) => {
    reply.header('cross-origin-opener-policy', 'same-origin');
    reply.header('cross-origin-embedder-policy', 'require-corp');
    reply.header('cross-origin-resource-policy', 'same-origin');
  });
  const built = new Map<BundleName, Promise<Served>>();
  const bundleOf = (name: BundleName) => {
    let b = built.get(name);
    if (!b) {
      b = loadBundle(name, opts.minify ?? true);
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
    return reply.type('text/javascript; charset=utf-8').send(b.js);
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

/** `buildApp`'s `extend` that adds the pages (`buildApp({ config, stateDir, extend: withPages() })`). */
export function withPages(opts: PagesOptions = {}): (app: FastifyInstance) => Promise<unknown> {
  return async (app) => app.register(pagesPlugin, opts);
}
