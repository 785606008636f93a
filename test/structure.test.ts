/** The code keeps its shape: file sizes, layers, no import cycles (scripts/check-structure.ts). */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { LAYERS, importCycles, importSpecifiers, layerOf, oversized, readSources, structureProblems, upwardImports, type SourceFile } from '../scripts/check-structure.js';

t.test('the tree has no oversized file, no upward import and no import cycle', async (t) => {
  t.same(structureProblems(process.cwd()), []);
});

t.test('the checks find what they look for', async (t) => {
  const f = (path: string, imports: string[], lines = 10): SourceFile => ({ path, imports, lines });
  t.same(oversized([f('src/a.ts', [], 401), f('src/b.ts', [], 400)]), ['src/a.ts: 401 lines (at most 400)']);
  t.ok(layerOf('src/util/rng.ts') < layerOf('src/server/app.ts'), 'util is below the server');
  t.equal(layerOf('src/sim/engine.ts'), layerOf('src/protocol/index.ts'), 'sim and protocol share a layer');
  t.same(upwardImports([f('src/fl/x.ts', ['src/server/app.ts']), f('src/server/app.ts', ['src/fl/x.ts'])]),
    ['src/fl/x.ts (layer 5) imports src/server/app.ts (layer 7)']);
  t.same(importCycles([f('a', ['b']), f('b', ['c']), f('c', ['a']), f('d', ['a'])]), [['a', 'b', 'c']]);
  t.same(importCycles([f('a', ['a'])]), [['a']], 'a file importing itself');
  t.same(importCycles([f('a', ['b']), f('b', [])]), []);
  t.same(importSpecifiers(`import x from './a.js';\nexport { y } from "../b.js";\nimport type { Z } from './c.js';\nconst m = await import('./d.js');\nimport 'node:fs';\nimport './e.js';`),
    ['./a.js', '../b.js', './c.js', './d.js', './e.js']);
});

t.test('Python files under scripts/ count for size only', async (t) => {
  const lines = (n: number, first: string) => [first, ...Array.from({ length: n - 1 }, (_, i) => `x${i} = ${i}`)].join('\n') + '\n';
  const root = t.testdir({
    scripts: {
      'torch_big.py': lines(401, 'from torchref.man import man_loss'),
      // Comments that would read as imports of each other (a cycle) if Python were scanned like TypeScript.
      torchref: { 'man.py': lines(400, "# not: import './models.py'"), 'models.py': lines(3, "# not: import './man.py'") },
    },
    src: { util: { 'tool.py': lines(500, 'import os') } },
  });
  const py = readSources(root).filter((f) => f.path.endsWith('.py')).sort((a, b) => a.path.localeCompare(b.path));
  t.same(py, [
    { path: 'scripts/torch_big.py', lines: 401, imports: [] },
    { path: 'scripts/torchref/man.py', lines: 400, imports: [] },
    { path: 'scripts/torchref/models.py', lines: 3, imports: [] },
  ], 'only under scripts/, and without imports: no layers, no cycles');
  t.same(structureProblems(root), ['scripts/torch_big.py: 401 lines (at most 400)']);
});

t.test('docs/architecture.md lists the layers the check enforces', async (t) => {
  const rows = readFileSync('docs/architecture.md', 'utf8').split('\n').filter((l) => /^\| \d+ \|/.test(l));
  const documented = rows.map((l) => [Number(l.split('|')[1]), [...l.split('|')[2]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!)] as const);
  t.same(documented.sort((a, b) => a[0] - b[0]).map((d) => d[1]), LAYERS.map((l) => [...l]));
});
