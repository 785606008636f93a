/** Dense float64 linear algebra for the solvers: vector helpers and the eigen-decomposition of small symmetric matrices. */
import type { Rng } from '../util/rng.js';

export function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}
export function norm(a: Float64Array): number {
  return Math.sqrt(dot(a, a));
}
export function scaleInPlace(a: Float64Array, s: number): Float64Array {
  for (let i = 0; i < a.length; i++) a[i]! *= s;
  return a;
}
export function gaussian(n: number, rng: Rng): Float64Array {
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.normal();
  return v;
}

/** Dense k×k tridiagonal matrix (row-major) from its diagonal α and off-diagonal β. */
export function tridiagonal(alpha: readonly number[], beta: readonly number[]): Float64Array {
  const k = alpha.length;
  const T = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    T[i * k + i] = alpha[i]!;
    if (i + 1 < k) { T[i * k + i + 1] = beta[i]!; T[(i + 1) * k + i] = beta[i]!; }
  }
  return T;
}

/**
 * Eigen-decomposition of a small symmetric matrix by cyclic Jacobi rotations (k ≤ a few hundred here).
 * Returns the eigenvalues and the eigenvectors as columns of a row-major k×k matrix.
 */
export function symmetricEigen(M: Float64Array): { values: number[]; vectors: Float64Array } {
  const k = Math.round(Math.sqrt(M.length));
  const A = Float64Array.from(M);
  const V = new Float64Array(k * k);
  for (let i = 0; i < k; i++) V[i * k + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0, total = 0;
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) { const x = A[i * k + j]! ** 2; total += x; if (i !== j) off += x; }
    if (off <= 1e-30 * Math.max(total, 1e-300)) break;
    for (let p = 0; p < k - 1; p++) {
      for (let r = p + 1; r < k; r++) {
        const apr = A[p * k + r]!;
        if (apr === 0) continue;
        const app = A[p * k + p]!;
        const arr = A[r * k + r]!;
        const tau = (arr - app) / (2 * apr);
        const t = Math.sign(tau || 1) / (Math.abs(tau) + Math.sqrt(1 + tau * tau));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = t * c;
        for (let i = 0; i < k; i++) {
          const aip = A[i * k + p]!;
          const air = A[i * k + r]!;
          A[i * k + p] = c * aip - s * air;
          A[i * k + r] = s * aip + c * air;
        }
        for (let i = 0; i < k; i++) {
          const api = A[p * k + i]!;
          const ari = A[r * k + i]!;
          A[p * k + i] = c * api - s * ari;
          A[r * k + i] = s * api + c * ari;
        }
        for (let i = 0; i < k; i++) {
          const vip = V[i * k + p]!;
          const vir = V[i * k + r]!;
          V[i * k + p] = c * vip - s * vir;
          V[i * k + r] = s * vip + c * vir;
        }
      }
    }
  }
  return { values: Array.from({ length: k }, (_, i) => A[i * k + i]!), vectors: V };
}
