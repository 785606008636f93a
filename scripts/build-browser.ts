/**
 * Writes fedman's browser bundles (src/web/build.ts) to dist/browser/:
 *
 *     npm run build:browser                 # → dist/browser/{fedman,dashboard,client,client-worker}.js (+ .map)
 *     npm run build:browser -- --out DIR    # elsewhere
 *
 * `npm run build` writes them as part of the package (which `fedman serve` then serves); `fedman serve` from the
 * TypeScript sources builds them on first request. This script is for embedding fedman.js elsewhere.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundle, bundleJs, ENTRIES, type BundleName } from '../src/web/build.js';
import { writeFileAtomic } from '../src/util/atomic-write.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_OUT_DIR = path.join(ROOT, 'dist/browser');
export const BUNDLE_FILE = 'fedman.js';

export interface BrowserBuildOptions { outDir?: string; minify?: boolean; only?: BundleName[] }
export interface BrowserBuildResult { file: string; bytes: number; files: string[] }

export async function buildBrowser(opts: BrowserBuildOptions = {}): Promise<BrowserBuildResult> {
  const outDir = path.resolve(opts.outDir ?? DEFAULT_OUT_DIR);
  await fs.mkdir(outDir, { recursive: true });
  const files: string[] = [];
  let bytes = 0;
  for (const name of opts.only ?? (Object.keys(ENTRIES) as BundleName[])) {
    const b = await bundle(name, { minify: opts.minify });
    const file = path.join(outDir, name);
    const text = bundleJs(b);
    await writeFileAtomic(file, text);
    await writeFileAtomic(file + '.map', b.map);
    files.push(file);
    if (name === BUNDLE_FILE) bytes = Buffer.byteLength(text);
  }
  return { file: path.join(outDir, BUNDLE_FILE), bytes, files };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--out');
  const outDir = i >= 0 ? process.argv[i + 1] : undefined;
  const r = await buildBrowser({ outDir, minify: !process.argv.includes('--no-minify') });
  for (const f of r.files) console.log(`wrote ${path.relative(process.cwd(), f)}`);
}
