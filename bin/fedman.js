#!/usr/bin/env node
// The installed package runs the compiled CLI (dist/, built by `npm run build`). A clone, which has the TypeScript
// sources, runs them through tsx (a devDependency) instead: edits count at once, and the tests, which start this
// file, never meet a dist/ older than the sources.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/main.ts', import.meta.url);
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(source.href);
} else {
  await import('../dist/src/cli/main.js');
}
