/**
 * Bundles fedman's browser code with esbuild:
 *
 *   fedman.js            the library (src/browser/index.ts) for embedding in other apps (docs/browser.md)
 *   dashboard.js         the federation dashboard page (src/web/dashboard/)
 *   client.js            the browser client page (src/web/client/main.ts) and
 *   client-worker.js     its Web Worker, which trains (src/web/client/worker.ts)
 *
 * onnxruntime-web stays external. The library keeps the bare name `onnxruntime-web` (the embedding page maps it
 * with an import map); the pages served by `fedman serve` get the server's own copy (`ORT_URL`) because import maps
 * do not reach into Web Workers. Node-only code is replaced by stubs that throw when used: onnxruntime-node (the
 * 'node' backend) and src/runtime/node-io.ts (file paths). Any other Node builtin reaching a bundle fails the build.
 */
// esbuild is a devDependency: loaded only when a bundle is built, so the installed package, which serves the bundles
// its build wrote (src/web/pages.ts), can import ENTRIES and ORT_PREFIX without it.
import type { Plugin } from 'esbuild';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Where the server serves onnxruntime-web's dist folder (src/web/pages.ts). */
export const ORT_PREFIX = '/web/ort/';
export const ORT_URL = `${ORT_PREFIX}ort.wasm.bundle.min.mjs`;
/** onnxruntime-web's WebGPU build (`onnxruntime-web/webgpu`: ORT's native WebGPU EP, plus wasm). */
export const ORT_WEBGPU_URL = `${ORT_PREFIX}ort.webgpu.bundle.min.mjs`;

export const ENTRIES = {
  'fedman.js': path.join(ROOT, 'src/browser/index.ts'),
  'dashboard.js': path.join(ROOT, 'src/web/dashboard/main.ts'),
  'client.js': path.join(ROOT, 'src/web/client/main.ts'),
  'client-worker.js': path.join(ROOT, 'src/web/client/worker.ts'),
} as const;
export type BundleName = keyof typeof ENTRIES;

const STUBS: Record<string, string> = {
  ortNode: `throw new Error("fedman's browser bundle has no 'node' backend: use the 'web' backend (onnxruntime-web)");`,
  nodeIo: `throw new Error("fedman's browser bundle has no file system: use Trainer.fromArtifacts / loadArtifactsFromUrl, ` +
    `checkpointBytes / loadCheckpointBytes and exportInferenceBytes instead of file paths");`,
};

const nodeOnlyStubs: Plugin = {
  name: 'fedman-node-only-stubs',
  setup(b) {
    b.onResolve({ filter: /^onnxruntime-node$/ }, () => ({ path: 'ortNode', namespace: 'fedman-stub' }));
    b.onResolve({ filter: /(^|\/)node-io\.js$/ }, (args) =>
      args.importer.startsWith(path.join(ROOT, 'src/runtime')) ? { path: 'nodeIo', namespace: 'fedman-stub' } : undefined);
    b.onLoad({ filter: /.*/, namespace: 'fedman-stub' }, (args) => ({ contents: `export {};\n${STUBS[args.path]}\n`, loader: 'js' }));
  },
};

/** Maps `onnxruntime-web` (and its WebGPU build) to absolute URLs (pages and workers served by fedman). */
const ortAt = (url: string, webgpuUrl: string): Plugin => ({
  name: 'fedman-ort-url',
  setup(b) {
    b.onResolve({ filter: /^onnxruntime-web$/ }, () => ({ path: url, external: true }));
    b.onResolve({ filter: /^onnxruntime-web\/webgpu$/ }, () => ({ path: webgpuUrl, external: true }));
  },
});

export interface BundleOptions {
  minify?: boolean;
  /** Resolve onnxruntime-web to this URL instead of leaving the bare name (default: bare for fedman.js, ORT_URL otherwise). */
  ortUrl?: string | null;
  /** Where `onnxruntime-web/webgpu` resolves when ortUrl is set (default ORT_WEBGPU_URL). */
  ortWebGpuUrl?: string;
}

export interface Bundle { name: BundleName; code: string; map: string }

/** A bundle's JavaScript as it is written to a file and served: the code, then the link to `<name>.map`. */
export const bundleJs = (b: Bundle): string => `${b.code}\n//# sourceMappingURL=${b.name}.map\n`;

/** Builds one bundle in memory. */
export async function bundle(name: BundleName, opts: BundleOptions = {}): Promise<Bundle> {
  const ortUrl = opts.ortUrl !== undefined ? opts.ortUrl : name === 'fedman.js' ? null : ORT_URL;
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [ENTRIES[name]],
    outfile: path.join(ROOT, 'dist/browser', name),
    write: false,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: opts.minify ?? true,
    sourcemap: 'external',
    external: ortUrl ? [] : ['onnxruntime-web', 'onnxruntime-web/webgpu'],
    plugins: ortUrl ? [nodeOnlyStubs, ortAt(ortUrl, opts.ortWebGpuUrl ?? ORT_WEBGPU_URL)] : [nodeOnlyStubs],
    logLevel: 'silent',
    legalComments: 'none',
  });
  const code = result.outputFiles.find((f) => f.path.endsWith('.js'))!.text;
  const map = result.outputFiles.find((f) => f.path.endsWith('.map'))?.text ?? '';
  return { name, code, map };
}
