/**
 * `fedman --help` start-up (issue 17 target: ≤ 0.5 s for the installed package): the package as a user installs it
 * (`npm pack` + `npm install --omit=dev` into an empty project; compiled JavaScript) against this clone's bin, which
 * runs the TypeScript sources through tsx, with its transform cache and without (TSX_DISABLE_CACHE: the first run
 * after an edit). Runs alternate A B C A B C; after one unmeasured round, medians.
 *
 *     npx tsx bench/startup.ts [--runs N]     # prints the section of docs/benchmarks.md
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { packAndInstall, ROOT } from '../test/helpers/package.js';

export interface Startup {
  runs: number;
  /** Median ms of each way of starting, and of its unmeasured first run. */
  installed: Timing;
  tsx: Timing;
  tsxNoCache: Timing;
  packSeconds: number;
  installSeconds: number;
}

export interface Timing { medianMs: number; firstMs: number }

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Wall time of one `fedman --help` (ms). */
function helpMs(bin: string, env: NodeJS.ProcessEnv = process.env): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8', timeout: 60_000, env });
  const ms = performance.now() - t0;
  if (r.status !== 0 || !r.stdout.includes('Usage: fedman')) throw new Error(`${bin} --help failed (${r.status ?? r.signal}): ${r.stderr}`);
  return ms;
}

export async function benchStartup(opts: { runs?: number } = {}): Promise<Startup> {
  const runs = opts.runs ?? 10;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fedman-startup-'));
  try {
    const pkg = await packAndInstall(dir);
    const clone = path.join(ROOT, 'bin/fedman.js');
    const ways = [
      () => helpMs(pkg.bin),
      () => helpMs(clone),
      () => helpMs(clone, { ...process.env, TSX_DISABLE_CACHE: '1' }),
    ];
    const first = ways.map((w) => w());
    const times: number[][] = ways.map(() => []);
    for (let i = 0; i < runs; i++) ways.forEach((w, k) => times[k]!.push(w()));
    const [installed, tsx, tsxNoCache] = times.map((ms, k) => ({ medianMs: median(ms), firstMs: first[k]! })) as [Timing, Timing, Timing];
    return { runs, installed, tsx, tsxNoCache, packSeconds: pkg.packSeconds, installSeconds: pkg.installSeconds };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function startupMarkdown(s: Startup): string {
  const f = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  return `## CLI start-up (issue 17 target: installed package ≤ 0.5 s)

\`fedman --help\`, wall time of the whole process: the installed package (\`npm pack\`, then \`npm install --omit=dev\` of
the tarball into an empty project: compiled JavaScript) against a clone's \`bin/fedman.js\` (the TypeScript sources
through tsx, with its transform cache and without it, as after an edit). ${s.runs} runs each, alternating, after one
unmeasured round; medians.

| | median | first run |
|---|---|---|
| installed package (dist/) | ${f(s.installed.medianMs)} | ${f(s.installed.firstMs)} |
| clone, tsx | ${f(s.tsx.medianMs)} | ${f(s.tsx.firstMs)} |
| clone, tsx without its cache | ${f(s.tsxNoCache.medianMs)} | ${f(s.tsxNoCache.firstMs)} |

Packing (with the build) took ${s.packSeconds.toFixed(1)} s, installing ${s.installSeconds.toFixed(1)} s.
`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--runs');
  process.stdout.write(startupMarkdown(await benchStartup({ runs: i >= 0 ? Number(process.argv[i + 1]) : undefined })));
}
