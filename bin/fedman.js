#!/usr/bin/env node
// The installed package runs the compiled CLI (dist/, built by `npm run build` when the package is packed). A clone,
// which has the TypeScript sources, runs them through tsx (a devDependency) instead: edits count at once, and the
// tests, which start this file, never meet a dist/ older than the sources. A clone installed without its
// devDependencies has no tsx: it runs dist/ when there is one.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/main.ts', import.meta.url);
const compiled = new URL('../dist/src/cli/main.js', import.meta.url);
const tsx = existsSync(source) ? await import('tsx/esm/api').catch(() => null) : null;
if (tsx) {
  tsx.register();
  await import(source.href);
} else if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  console.error('fedman: neither the compiled CLI (dist/; run `npm run build`) nor tsx (a devDependency; run `npm ci`) is here');
  process.exitCode = 1;
}
