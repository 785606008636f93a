/**
 * The data subset, options and results of the flatness measures, and the operator the solvers run on. Nothing
 * here imports: the solvers that read these types stay free of ONNX Runtime.
 */

export interface DataOptions {
  /** Sample indices of the subset (default: the first `samples` samples, or the whole dataset). */
  indices?: ArrayLike<number>;
  /** Use the first N samples (ignored when `indices` is given). */
  samples?: number;
  /** Samples per HVP batch (default 128). */
  batchSize?: number;
}

export interface EigenOptions extends DataOptions {
  method?: 'power' | 'lanczos';
  /** Iterations (power) or Lanczos steps (default 100). */
  maxIter?: number;
  /** Relative tolerance (default 1e-3): change of the estimate (power) or residual bound (Lanczos). */
  tol?: number;
  /** Seed of the start vector (default 0). */
  seed?: number;
}

export interface EigenResult {
  eigenvalue: number;
  method: 'power' | 'lanczos';
  /** HVP applications (power: both phases when shifted; Lanczos: steps). */
  iterations: number;
  converged: boolean;
  /** Estimate after every iteration (power: the Rayleigh quotient of the phase that gave the result, shift added back). */
  history: number[];
  /** Power iteration only: the shift μ used when the dominant eigenvalue was negative. */
  shift?: number;
  /** Lanczos only: the smallest Ritz value and the residual bound of the top one. */
  minRitz?: number;
  residual?: number;
}

export interface TraceOptions extends Omit<DataOptions, 'samples'> {
  /** Number of Rademacher vectors (default 100). */
  samples?: number;
  seed?: number;
  /** Use the first N data samples (`samples` counts vectors here). */
  dataSamples?: number;
}

export interface TraceResult {
  trace: number;
  stderr: number;
  /** zᵀHz of every vector. */
  samples: number[];
}

/** What the eigen- and trace solvers need: a symmetric operator on flat float64 vectors. */
export interface LinearOperator {
  readonly dim: number;
  apply(v: Float64Array): Promise<{ hv: Float64Array }>;
}
