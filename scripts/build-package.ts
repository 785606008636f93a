/**
 * `npm run build` (also npm's `prepack`, so `npm pack`, `npm publish` and installing fedman from a git URL build it): the package's dist/.
 *
 *     dist/src/**, dist/models/**   tsc -p tsconfig.build.json: ES modules, .d.ts, source maps carrying their sources
 *     dist/src/**  (non-.ts files)  the run-time assets beside the compiled code that reads them (the pages' HTML, CSS)
 *     dist/browser/*.js (+ .map)    the browser bundles (scripts/build-browser.ts), which `fedman serve` serves as built
 *
 * dist/ mirrors the source tree, so code that finds a file relative to `import.meta.url` finds it in both.
 */
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBrowser } from './build-browser.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIST = path.join(ROOT, 'dist');
/** Compiled trees; each is copied to dist/<tree>/ with its non-TypeScript files. */
const TREES = ['src', 'models'];
/** Files that only serve the TypeScript sources: the tsx entry of simulation workers (src/sim/pool.ts starts worker.js when compiled). */
const SOURCES_ONLY = new Set(['src/sim/worker-bootstrap.mjs']);

const isAsset = (rel: string) => !rel.endsWith('.ts') && !SOURCES_ONLY.has(rel);

async function copyAssets(): Promise<string[]> {
  const copied: string[] = [];
  for (const tree of TREES) {
    for (const name of await fs.readdir(path.join(ROOT, tree), { recursive: true })) {
      const rel = path.posix.join(tree, name.split(path.sep).join('/'));
      if (!isAsset(rel) || !(await fs.stat(path.join(ROOT, rel))).isFile()) continue;
      await fs.mkdir(path.dirname(path.join(DIST, rel)), { recursive: true });
      await fs.copyFile(path.join(ROOT, rel), path.join(DIST, rel));
      copied.push(rel);
    }
  }
  return copied;
}

function compile(): void {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', path.join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`tsc failed (exit ${r.status ?? r.signal})`);
}

// A clean dist/: files of moved or deleted modules must not linger in the package.
await fs.rm(DIST, { recursive: true, force: true });
compile();
const assets = await copyAssets();
const bundles = await buildBrowser({ outDir: path.join(DIST, 'browser') });
console.log(`dist/: compiled ${TREES.join(', ')}; ${assets.length} assets (${assets.join(', ')}); ${bundles.files.length} browser bundles`);
