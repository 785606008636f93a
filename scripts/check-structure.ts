/**
 * Checks the shape of the code, as docs/architecture.md describes it:
 *
 *   - no source file over MAX_LINES lines (the Python scripts under scripts/ included);
 *   - no import from a lower layer into a higher one (util → onnx, data → autodiff, models → training → runtime
 *     → fl, flatness → sim, protocol, config → server, client → cli, web, browser, the package entry);
 *   - no import cycles between files.
 *
 * Layers and cycles are about the TypeScript/JavaScript sources; Python files are read for their size only.
 *
 *     npm run check:structure          # prints each problem; exit code 1 when there is one
 *
 * CI runs it through test/structure.test.ts.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runIfMain } from './script-main.js';

export const MAX_LINES = 400;

/** Layers from the ground up; a file may import files of its own layer or of lower ones. */
export const LAYERS: readonly (readonly string[])[] = [
  ['src/util'],
  ['src/onnx', 'src/data'],
  ['src/autodiff', 'models'],
  ['src/training'],
  ['src/runtime'],
  ['src/fl', 'src/flatness'],
  ['src/sim', 'src/protocol', 'src/config'],
  ['src/server', 'src/client'],
  ['src/cli', 'src/web', 'src/browser', 'src/index.ts'],
  ['bench', 'scripts', 'bin'],
];

/** Where the checked source lives (tests and fixtures are not part of the layering). */
export const ROOTS = ['src', 'models', 'scripts', 'bench', 'bin'];
const SOURCE = /\.(ts|mts|js|mjs)$/;
/** The PyTorch reference scripts (and their package) are held to the same size limit. */
export const PYTHON_ROOTS = ['scripts'];
const PYTHON = /\.py$/;

export interface SourceFile {
  /** Repository-relative path with forward slashes. */
  path: string;
  lines: number;
  /** Repository-relative paths of the source files it imports. */
  imports: string[];
}

/** The layer index of a repository path (-1: not in a layer). */
export function layerOf(file: string): number {
  return LAYERS.findIndex((layer) => layer.some((p) => file === p || file.startsWith(`${p}/`)));
}

const IMPORT = /(?:^|[^\w.])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|(?:^|[^\w.])import\s*\(\s*['"]([^'"]+)['"]\s*\)|(?:^|[^\w.])import\s+['"]([^'"]+)['"]/g;

/** The relative module specifiers a source text imports (package imports are not files of the repository). */
export function importSpecifiers(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2] ?? m[3]!;
    if (spec.startsWith('.')) out.push(spec);
  }
  return out;
}

/** Resolves `./x.js` against the importing file to the repository file it names (`x.ts` for TypeScript sources). */
function resolveImport(root: string, from: string, spec: string): string | null {
  const abs = path.resolve(root, path.dirname(from), spec);
  for (const candidate of [abs, abs.replace(/\.js$/, '.ts'), abs.replace(/\.mjs$/, '.mts'), `${abs}.ts`, path.join(abs, 'index.ts')]) {
    try {
      if (statSync(candidate).isFile()) return path.relative(root, candidate).split(path.sep).join('/');
    } catch { /* try the next */ }
  }
  return null;
}

function walk(dir: string, wanted: (name: string) => boolean, out: string[]): void {
  let entries: string[];
  try { entries = readdirSync(dir); } catch { return; }
  for (const name of entries) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) walk(p, wanted, out);
    else if (wanted(name)) out.push(p);
  }
}

function lineCount(text: string): number {
  return text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
}

/**
 * Reads every source file under the roots, with its line count and the repository files it imports, then the
 * Python files under PYTHON_ROOTS with their line count and no imports (so they are outside layers and cycles).
 */
export function readSources(root: string): SourceFile[] {
  const toRel = (abs: string) => path.relative(root, abs).split(path.sep).join('/');
  const sources: string[] = [];
  for (const r of ROOTS) walk(path.join(root, r), (name) => SOURCE.test(name) && !name.endsWith('.d.ts'), sources);
  const python: string[] = [];
  for (const r of PYTHON_ROOTS) walk(path.join(root, r), (name) => PYTHON.test(name), python);
  return [
    ...sources.map((abs) => {
      const rel = toRel(abs);
      const text = readFileSync(abs, 'utf8');
      const imports = importSpecifiers(text).map((s) => resolveImport(root, rel, s)).filter((p): p is string => p !== null);
      return { path: rel, lines: lineCount(text), imports };
    }),
    ...python.map((abs) => ({ path: toRel(abs), lines: lineCount(readFileSync(abs, 'utf8')), imports: [] })),
  ];
}

/** Files longer than the limit. */
export function oversized(files: readonly SourceFile[], max = MAX_LINES): string[] {
  return files.filter((f) => f.lines > max).map((f) => `${f.path}: ${f.lines} lines (at most ${max})`);
}

/** Imports that reach up from a lower layer into a higher one. */
export function upwardImports(files: readonly SourceFile[]): string[] {
  const out: string[] = [];
  for (const f of files) {
    const from = layerOf(f.path);
    for (const target of f.imports) {
      const to = layerOf(target);
      if (from >= 0 && to > from) out.push(`${f.path} (layer ${from}) imports ${target} (layer ${to})`);
    }
  }
  return out;
}

/** Import cycles (strongly connected components of more than one file, or a file importing itself). */
export function importCycles(files: readonly SourceFile[]): string[][] {
  const graph = new Map(files.map((f) => [f.path, f.imports]));
  let index = 0;
  const idx = new Map<string, number>(), low = new Map<string, number>(), onStack = new Set<string>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  // Tarjan's algorithm, iterative so that deep import chains cannot overflow the call stack.
  for (const start of graph.keys()) {
    if (idx.has(start)) continue;
    const work: { node: string; next: number }[] = [{ node: start, next: 0 }];
    idx.set(start, index); low.set(start, index++); stack.push(start); onStack.add(start);
    while (work.length) {
      const top = work[work.length - 1]!;
      const edges = graph.get(top.node) ?? [];
      if (top.next < edges.length) {
        const w = edges[top.next++]!;
        if (!graph.has(w)) continue;
        if (!idx.has(w)) {
          idx.set(w, index); low.set(w, index++); stack.push(w); onStack.add(w);
          work.push({ node: w, next: 0 });
        } else if (onStack.has(w)) {
          low.set(top.node, Math.min(low.get(top.node)!, idx.get(w)!));
        }
        continue;
      }
      work.pop();
      if (work.length) {
        const parent = work[work.length - 1]!.node;
        low.set(parent, Math.min(low.get(parent)!, low.get(top.node)!));
      }
      if (low.get(top.node) === idx.get(top.node)) {
        const scc: string[] = [];
        let w: string;
        do { w = stack.pop()!; onStack.delete(w); scc.push(w); } while (w !== top.node);
        if (scc.length > 1 || edges.includes(top.node)) cycles.push(scc.sort());
      }
    }
  }
  return cycles;
}

/** Every structural problem of the tree at `root`, one line each. */
export function structureProblems(root: string): string[] {
  const files = readSources(root);
  return [
    ...oversized(files),
    ...upwardImports(files),
    ...importCycles(files).map((c) => `import cycle: ${c.join(' → ')}`),
  ];
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

runIfMain(import.meta.url, 'check-structure', async () => {
  const problems = structureProblems(ROOT);
  for (const p of problems) console.log(p);
  console.log(problems.length ? `${problems.length} structural problem(s)` : 'structure ok: file sizes, layers and import cycles');
  return problems.length ? 1 : 0;
});
