/**
 * The eigenvalue and trace solvers behind topEigenvalue and hessianTrace (measure.ts): pure functions of a
 * symmetric matrix-vector product (a LinearOperator), whatever computes it.
 *
 * - topEigenvalue, method 'lanczos' (default): Lanczos with full reorthogonalisation; stops when the top Ritz
 *   pair's residual bound β_j·|y_j| is below tol·|θ| (θ is then within that of an eigenvalue; its actual error is
 *   ~ residual²/gap) or after maxIter steps. It needs no positive-definiteness and finds the top eigenvalue of an
 *   indefinite Hessian directly. On the paper CNN at PyTorch's initialisation (spectrum 3.46, 3.37, 3.27, … down
 *   to −3.35) it meets tol 1e-3 in ~35 HVPs within 3e-6 of PyTorch's 60-step Lanczos value. It keeps every
 *   Lanczos vector: steps × params × 4 bytes (e.g. 35 × 573,578 × 4 = 80 MB).
 * - topEigenvalue, method 'power': the paper's protocol (PyHessian): power iteration v ← Hv/‖Hv‖ with the
 *   Rayleigh quotient vᵀHv as the estimate, stopping when its relative change is < tol (1e-3) or after maxIter
 *   (100) iterations. It converges to the eigenvalue of largest |λ|; when that one is negative, a second power
 *   iteration runs on the shifted operator H − μI (μ the negative estimate), whose dominant eigenvalue is
 *   λ_max − μ > 0 (`shift` in the result). Convergence is geometric with ratio max(|λ₂|, |λ_min|)/λ₁: on the
 *   clustered spectrum above it is 0.97, and the estimate stalls 2.5–3.5 % low when the relative-change rule
 *   fires or the 100 iterations run out (PyTorch's own run, tol 1e-4, stops 0.14 % low after 112). On well
 *   separated spectra (the tiny MLP fixture) it is within 0.2 %.
 * - hessianTrace: Hutchinson's estimator with K Rademacher vectors, trace ≈ mean zᵀHz, stderr = std/√K.
 */
import { Rng } from '../util/rng.js';
import { FedmanError } from '../util/errors.js';
import { dot, gaussian, norm, scaleInPlace, symmetricEigen, tridiagonal } from './linalg.js';
import type { EigenOptions, EigenResult, LinearOperator, TraceResult } from './types.js';

/** Power iteration (see the module comment), with a shifted second phase when the dominant eigenvalue is negative. */
export async function powerIteration(op: LinearOperator, opts: EigenOptions = {}): Promise<EigenResult> {
  const maxIter = opts.maxIter ?? 100;
  const tol = opts.tol ?? 1e-3;
  const rng = new Rng(opts.seed ?? 0);
  const start = gaussian(op.dim, rng);
  const run = async (shift: number) => {
    let v = scaleInPlace(Float64Array.from(start), 1 / norm(start));
    const history: number[] = [];
    let prev = NaN;
    let converged = false;
    let it = 0;
    while (it < maxIter) {
      const { hv } = await op.apply(v);
      if (shift !== 0) for (let i = 0; i < hv.length; i++) hv[i]! -= shift * v[i]!;
      const lambda = dot(v, hv);
      history.push(lambda + shift);
      it++;
      const nrm = norm(hv);
      if (nrm === 0) { converged = true; break; }
      v = scaleInPlace(hv, 1 / nrm);
      if (Number.isFinite(prev) && Math.abs(lambda - prev) / Math.max(Math.abs(prev), 1e-12) < tol) { converged = true; break; }
      prev = lambda;
    }
    return { lambda: history[history.length - 1]!, history, converged, it };
  };
  const first = await run(0);
  if (first.lambda >= 0) return { eigenvalue: first.lambda, method: 'power', iterations: first.it, converged: first.converged, history: first.history };
  // The dominant eigenvalue is negative: λ_max − μ is the dominant eigenvalue of H − μI (μ = that negative value).
  const shift = first.lambda;
  const second = await run(shift);
  return { eigenvalue: second.lambda, method: 'power', iterations: first.it + second.it, converged: second.converged, history: second.history, shift };
}

/** Lanczos with full reorthogonalisation (see the module comment). */
export async function lanczos(op: LinearOperator, opts: EigenOptions = {}): Promise<EigenResult> {
  const n = op.dim;
  const m = Math.min(opts.maxIter ?? 100, n);
  const tol = opts.tol ?? 1e-3;
  const rng = new Rng(opts.seed ?? 0);
  let q = gaussian(n, rng);
  scaleInPlace(q, 1 / norm(q));
  const basis: Float32Array[] = [];
  const alpha: number[] = [];
  const beta: number[] = [];
  const history: number[] = [];
  let result = { theta: NaN, minTheta: NaN, residual: Infinity };
  let converged = false;
  for (let j = 0; j < m; j++) {
    basis.push(Float32Array.from(q));
    const { hv: w } = await op.apply(q);
    const a = dot(q, w);
    alpha.push(a);
    // Three-term recurrence, then full reorthogonalisation against every stored vector; a second pass only when
    // the first one removed a large part of w (‖w‖ fell below 0.7 of its norm: "twice is enough", Parlett).
    const prevQ = basis.length >= 2 ? basis[basis.length - 2]! : undefined;
    const prevB = beta.length > 0 ? beta[beta.length - 1]! : 0;
    for (let i = 0; i < n; i++) w[i]! -= a * q[i]! + (prevQ ? prevB * prevQ[i]! : 0);
    for (let pass = 0; pass < 2; pass++) {
      const before = norm(w);
      for (const b of basis) {
        let c = 0;
        for (let i = 0; i < n; i++) c += b[i]! * w[i]!;
        for (let i = 0; i < n; i++) w[i]! -= c * b[i]!;
      }
      if (norm(w) >= 0.7 * before) break;
    }
    const bj = norm(w);
    const { values, vectors } = symmetricEigen(tridiagonal(alpha, beta));
    const k = values.length;
    let top = 0, bottom = 0;
    for (let i = 1; i < k; i++) { if (values[i]! > values[top]!) top = i; if (values[i]! < values[bottom]!) bottom = i; }
    const theta = values[top]!;
    const residual = bj * Math.abs(vectors[(k - 1) * k + top]!);
    result = { theta, minTheta: values[bottom]!, residual };
    history.push(theta);
    if (residual <= tol * Math.abs(theta) || bj <= 1e-10 * Math.max(Math.abs(theta), 1e-30)) { converged = true; break; }
    beta.push(bj);
    q = scaleInPlace(w, 1 / bj);
  }
  return {
    eigenvalue: result.theta, method: 'lanczos', iterations: history.length, converged, history,
    minRitz: result.minTheta, residual: result.residual,
  };
}

/** Hutchinson's estimator with Rademacher vectors. */
export async function hutchinson(op: LinearOperator, opts: { samples?: number; seed?: number } = {}): Promise<TraceResult> {
  const K = opts.samples ?? 100;
  if (!(Number.isInteger(K) && K >= 1)) throw new FedmanError(`the number of Hutchinson vectors must be a positive integer, got ${K}`);
  const rng = new Rng(opts.seed ?? 0, 1);
  const n = op.dim;
  const values: number[] = [];
  const z = new Float64Array(n);
  for (let s = 0; s < K; s++) {
    for (let i = 0; i < n; i++) z[i] = rng.nextUint32() & 1 ? 1 : -1;
    const { hv } = await op.apply(z);
    values.push(dot(z, hv));
  }
  const mean = values.reduce((a, b) => a + b, 0) / K;
  const variance = K > 1 ? values.reduce((a, b) => a + (b - mean) ** 2, 0) / (K - 1) : NaN;
  return { trace: mean, stderr: Math.sqrt(variance / K), samples: values };
}
