/** Runs scripts/torch_bench.py (Debian's PyTorch 1.13) with OpenBLAS swapped in, when Python and torch exist. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface TorchResult { model: 'cifar' | 'mnist'; zeta: number; ms_per_step_median: number; samples_per_s: number }
export interface TorchBench { blas: string; results: TorchResult[]; error?: string }

const PYTHON = '/usr/bin/python3';

export function openblasEnv(): { env: NodeJS.ProcessEnv; blas: string } | { error: string } {
  const ob = spawnSync('bash', ['scripts/setup-openblas.sh'], { encoding: 'utf8' });
  if (ob.status !== 0) return { error: `setup-openblas.sh failed: ${ob.stderr.trim().split('\n').pop()}` };
  return { env: { ...process.env, LD_LIBRARY_PATH: ob.stdout.trim(), OPENBLAS_NUM_THREADS: '1' }, blas: 'OpenBLAS (libopenblas0-pthread, OPENBLAS_NUM_THREADS=1)' };
}

/** scripts/torch_bench_resnet.py: ms/step of the ResNet-18-style fixture architecture, ζ = 0 and 0.1. */
export function torchResnet(opts: { steps?: number; warmup?: number } = {}): { ms: Record<string, number>; error?: string } {
  if (!existsSync(PYTHON)) return { ms: {}, error: `${PYTHON} not found` };
  const ob = openblasEnv();
  if ('error' in ob) return { ms: {}, error: ob.error };
  const r = spawnSync(PYTHON, ['scripts/torch_bench_resnet.py', '--steps', String(opts.steps ?? 20), '--warmup', String(opts.warmup ?? 5)], { encoding: 'utf8', env: ob.env, timeout: 600_000 });
  if (r.status !== 0) return { ms: {}, error: (r.stderr || 'torch_bench_resnet.py failed').trim().split('\n').pop() };
  const res = JSON.parse(r.stdout).results as Record<string, { ms_per_step_median: number }>;
  return { ms: Object.fromEntries(Object.entries(res).map(([k, v]) => [k, v.ms_per_step_median])) };
}

export function torchBaseline(opts: { steps?: number; warmup?: number; openblas?: boolean } = {}): TorchBench {
  if (!existsSync(PYTHON)) return { blas: 'n/a', results: [], error: `${PYTHON} not found` };
  let env: NodeJS.ProcessEnv = { ...process.env };
  let blas = 'reference BLAS (as installed)';
  if (opts.openblas ?? true) {
    const ob = openblasEnv();
    if ('error' in ob) return { blas: 'n/a', results: [], error: ob.error };
    ({ env, blas } = ob);
  }
  const r = spawnSync(PYTHON, ['scripts/torch_bench.py', '--steps', String(opts.steps ?? 20), '--warmup', String(opts.warmup ?? 5)], { encoding: 'utf8', env, timeout: 600_000 });
  if (r.status !== 0) return { blas, results: [], error: (r.stderr || 'torch_bench.py failed').trim().split('\n').pop() };
  const parsed = JSON.parse(r.stdout) as { results: TorchResult[] };
  return { blas, results: parsed.results };
}
