/**
 * Flatness: the top Hessian eigenvalue (power iteration, the paper's protocol) and the Hutchinson trace of the
 * training cross-entropy at each final global model, with src/flatness (measureFlatness). If that module cannot be
 * loaded the runs go on without it and RESULTS.md says so (FLATNESS HOOK below).
 */
import path from 'node:path';
import { loadDataset } from '../../src/data/registry.js';
import type { Dataset } from '../../src/data/dataset.js';
import { exists } from './files.js';
import { PAPER_ZETA, type RunSpec } from './grid.js';
import type { Options } from './options.js';
import type { Scale } from './scales.js';

// FLATNESS HOOK: src/flatness (measureFlatness) is loaded lazily, so the runs go on (and RESULTS.md says
// "not measured") when that module is missing or broken.

type FlatnessModule = typeof import('../../src/flatness/index.js');
let flatnessModule: Promise<FlatnessModule | null> | null = null;
let loadError = '';

export async function loadFlatness(): Promise<FlatnessModule | null> {
  flatnessModule ??= import('../../src/flatness/index.js').then(
    (m) => (typeof m.measureFlatness === 'function' ? m : null),
    (err: unknown) => { loadError = (err as Error).message; return null; },
  );
  return flatnessModule;
}

/** Why src/flatness could not be loaded ('' while it loaded, or was not tried). */
export function flatnessLoadError(): string {
  return loadError;
}

export interface FlatnessRecord {
  format: 'fedman-reproduce-flatness';
  model: string;
  split: 'train';
  loss: string;
  samples: number;
  batchSize: number;
  method: string;
  maxIter: number;
  tol: number;
  topEigenvalue: number;
  iterations: number;
  converged: boolean;
  trace: number | null;
  traceStderr: number | null;
  traceVectors: number;
  seconds: number;
  measuredAt: string;
}

const dataCache = new Map<string, Promise<Dataset>>();

function trainSubset(dataset: string, limit: number | null): Promise<Dataset> {
  const key = `${dataset}:${limit}`;
  let p = dataCache.get(key);
  if (!p) {
    p = loadDataset(dataset, { limit: limit ?? undefined, testLimit: 1, normalize: false }).then((d) => d.train);
    dataCache.set(key, p);
    while (dataCache.size > 2) dataCache.delete(dataCache.keys().next().value!);
  }
  return p;
}

/** Whether a run's final model gets its flatness measured at this scale. */
export function wantsFlatness(o: Options, spec: RunSpec): boolean {
  return o.flatness && (o.scale.flatness.runs === 'all' || (spec.algorithm === 'fedavg' && (spec.zeta === 0 || spec.zeta === PAPER_ZETA)));
}

export async function measureRunFlatness(scale: Scale, spec: RunSpec, scratch: string, threads: number): Promise<FlatnessRecord | null> {
  const mod = await loadFlatness();
  if (!mod) return null;
  const model = path.join(scratch, 'global.onnx');
  if (!(await exists(model))) return null;
  const f = scale.flatness;
  const data = await trainSubset(spec.dataset, scale.limit);
  const r = await mod.measureFlatness(model, data, {
    samples: Math.min(f.samples, data.n), batchSize: f.batchSize, method: 'power', maxIter: f.maxIter, tol: f.tol,
    trace: f.trace, seed: 0, zeta: 0, threads,
  });
  return {
    format: 'fedman-reproduce-flatness',
    model: 'global.onnx (final global model)',
    split: 'train',
    loss: r.loss,
    samples: r.samples,
    batchSize: r.batchSize,
    method: r.topEigenvalue.method,
    maxIter: f.maxIter,
    tol: f.tol,
    topEigenvalue: r.topEigenvalue.eigenvalue,
    iterations: r.topEigenvalue.iterations,
    converged: r.topEigenvalue.converged,
    trace: r.trace?.trace ?? null,
    traceStderr: r.trace?.stderr ?? null,
    traceVectors: r.trace?.vectors ?? 0,
    seconds: r.seconds,
    measuredAt: new Date().toISOString(),
  };
}
