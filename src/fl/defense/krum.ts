/**
 * Krum and Multi-Krum (Blanchard et al., NeurIPS 2017, "Machine learning with adversaries: Byzantine tolerant
 * gradient descent"). With n vectors of which at most f are Byzantine (n ≥ 2f + 3), each vector's score is the
 * sum of its squared distances to its n − f − 2 nearest neighbours; Krum keeps the vector with the lowest score,
 * Multi-Krum averages the m lowest-scored ones. Outliers sit far from the honest cluster and score high.
 *
 * Needs all n vectors at once (O(n × model) memory) and n(n − 1)/2 distances (O(n² × model) time). Ties go to the
 * earlier vector (the lower client id), so the pick is deterministic; a non-finite score counts as +∞.
 */
import { FedmanError } from '../../util/errors.js';

/** Squared Euclidean distance in float64. */
export function squaredDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    s += d * d;
  }
  return s;
}

/** Krum scores of the vectors, tolerating f Byzantine ones. Throws a FedmanError when n < 2f + 3. */
export function krumScores(vectors: readonly ArrayLike<number>[], f: number): Float64Array {
  const n = vectors.length;
  if (!Number.isInteger(f) || f < 0) throw new RangeError(`krum: f must be a non-negative integer, got ${f}`);
  if (n < 2 * f + 3) {
    throw new FedmanError(`robust.rule 'krum' with robust.byzantine = ${f} needs at least 2f + 3 = ${2 * f + 3} updates in a round, got ${n}`);
  }
  const size = vectors[0]!.length;
  for (const v of vectors) if (v.length !== size) throw new RangeError(`krum: vectors of different lengths (${v.length} and ${size})`);
  const d = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      let s = squaredDistance(vectors[i]!, vectors[j]!);
      if (!Number.isFinite(s)) s = Infinity;
      d[i * n + j] = s;
      d[j * n + i] = s;
    }
  }
  const k = n - f - 2;
  const scores = new Float64Array(n);
  const row = new Float64Array(n - 1);
  for (let i = 0; i < n; i++) {
    let r = 0;
    for (let j = 0; j < n; j++) if (j !== i) row[r++] = d[i * n + j]!;
    row.sort();
    let s = 0;
    for (let j = 0; j < k; j++) s += row[j]!;
    scores[i] = Number.isNaN(s) ? Infinity : s;
  }
  return scores;
}

/** Indices of the m lowest scores, best first (ties: lower index first). */
export function bestScored(scores: ArrayLike<number>, m: number): number[] {
  const idx = Array.from({ length: scores.length }, (_, i) => i);
  idx.sort((a, b) => (scores[a]! < scores[b]! ? -1 : scores[a]! > scores[b]! ? 1 : a - b));
  return idx.slice(0, m);
}

export interface KrumResult {
  /** The aggregate: the chosen vector (Krum) or the mean of the chosen ones (Multi-Krum), in float64. */
  value: Float64Array;
  /** Indices of the chosen vectors, best first. */
  selected: number[];
  scores: Float64Array;
}

/**
 * Multi-Krum with m selected (m = 1: Krum). `m` defaults to n − f and is capped at n − f, so that the selection
 * could exclude every Byzantine vector.
 */
export function multiKrum(vectors: readonly ArrayLike<number>[], f: number, m: number | null = null): KrumResult {
  const scores = krumScores(vectors, f);
  const n = vectors.length;
  const take = Math.max(1, Math.min(m ?? n - f, n - f));
  const selected = bestScored(scores, take);
  const value = new Float64Array(vectors[0]!.length);
  for (const s of selected) {
    const v = vectors[s]!;
    for (let i = 0; i < value.length; i++) value[i] += v[i]!;
  }
  if (take > 1) for (let i = 0; i < value.length; i++) value[i] /= take;
  return { value, selected, scores };
}

/** Krum: the single vector with the lowest score. */
export function krum(vectors: readonly ArrayLike<number>[], f: number): KrumResult {
  return multiKrum(vectors, f, 1);
}
