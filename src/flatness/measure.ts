/**
 * The flatness measures of a model on a data subset: the top Hessian eigenvalue, the Hessian trace, and both
 * together as the report `fedman flatness` prints and a simulation stores.
 */
import type { Dataset } from '../data/dataset.js';
import { HessianOperator, type HvpOptions } from './hessian-operator.js';
import type { ModelSource } from './model-source.js';
import { hutchinson, lanczos, powerIteration } from './solvers.js';
import type { DataOptions, EigenOptions, EigenResult, TraceOptions, TraceResult } from './types.js';

/** Top Hessian eigenvalue of the mean loss over a data subset (methods: see solvers.ts). */
export async function topEigenvalue(source: ModelSource | HessianOperator, data: Dataset, opts: EigenOptions & HvpOptions = {}): Promise<EigenResult> {
  return withOperator(source, data, opts, (op) => solveTopEigenvalue(op, opts));
}

/** Runs the eigen-solver that `opts.method` names ('lanczos' by default). */
function solveTopEigenvalue(op: HessianOperator, opts: EigenOptions): Promise<EigenResult> {
  return (opts.method ?? 'lanczos') === 'lanczos' ? lanczos(op, opts) : powerIteration(op, opts);
}

/** Hutchinson estimate of the Hessian trace of the mean loss over a data subset (`samples` = number of vectors). */
export async function hessianTrace(source: ModelSource | HessianOperator, data: Dataset, opts: TraceOptions & HvpOptions = {}): Promise<TraceResult> {
  return withOperator(source, data, { ...opts, samples: opts.dataSamples }, (op) => hutchinson(op, { samples: opts.samples, seed: opts.seed }));
}

async function withOperator<T>(source: ModelSource | HessianOperator, data: Dataset, opts: DataOptions & HvpOptions, f: (op: HessianOperator) => Promise<T>): Promise<T> {
  const own = !(source instanceof HessianOperator);
  const op = own ? await HessianOperator.create(source as ModelSource, opts) : (source as HessianOperator);
  try {
    op.setData(data, opts);
    return await f(op);
  } finally {
    if (own) await op.release();
  }
}

export interface FlatnessOptions extends HvpOptions {
  /** Data subset: first N samples (default 1000) or explicit indices. */
  samples?: number;
  indices?: ArrayLike<number>;
  batchSize?: number;
  method?: 'power' | 'lanczos';
  maxIter?: number;
  tol?: number;
  /** Hutchinson vectors (0 = skip the trace; default 0). */
  trace?: number;
  seed?: number;
}

/** What `fedman flatness` prints and a simulation report stores. */
export interface FlatnessReport {
  /** Loss the Hessian is of: 'cross-entropy' or 'cross-entropy + MAN'. */
  loss: string;
  zeta: number;
  manLayers: string[];
  samples: number;
  batchSize: number;
  paramCount: number;
  /** Mean loss (CE) over the subset at these weights, and with MAN. */
  dataLoss: number;
  totalLoss: number;
  topEigenvalue: EigenResult;
  trace: (TraceResult & { vectors: number }) | null;
  seconds: number;
  /** Mean seconds of one HVP over the whole subset. */
  secondsPerHvp: number;
}

/**
 * Measures flatness of a model (file, zoo name, artifacts dir or ModelProto; weights optionally replaced by
 * `params`) on a dataset: top eigenvalue (power iteration or Lanczos) and optionally the Hutchinson trace.
 * Meant for the final global model of a simulation (e.g. `global.onnx` on the training split).
 */
export async function measureFlatness(source: ModelSource, data: Dataset, opts: FlatnessOptions = {}): Promise<FlatnessReport> {
  const t0 = performance.now();
  const op = await HessianOperator.create(source, opts);
  try {
    const batchSize = opts.batchSize ?? 128;
    op.setData(data, { indices: opts.indices, samples: opts.samples ?? 1000, batchSize });
    const base = await op.apply(new Float64Array(op.dim));
    const top = await solveTopEigenvalue(op, opts);
    const K = opts.trace ?? 0;
    const trace = K > 0 ? { ...(await hutchinson(op, { samples: K, seed: opts.seed })), vectors: K } : null;
    const seconds = (performance.now() - t0) / 1000;
    return {
      loss: op.zeta > 0 ? 'cross-entropy + MAN' : 'cross-entropy',
      zeta: op.zeta,
      manLayers: op.manLayers,
      samples: op.samples,
      batchSize,
      paramCount: op.dim,
      dataLoss: base.loss,
      totalLoss: base.total,
      topEigenvalue: top,
      trace,
      seconds,
      secondsPerHvp: op.hvpSeconds / Math.max(op.applications, 1),
    };
  } finally {
    await op.release();
  }
}
