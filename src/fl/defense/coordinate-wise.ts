/**
 * Coordinate-wise robust statistics of the clients' parameter vectors (Yin et al. 2018, "Byzantine-robust
 * distributed learning: towards optimal statistical rates"): the median, and the β-trimmed mean (the k = ⌊βn⌋
 * smallest and k largest values of each coordinate dropped, the rest averaged). A minority of arbitrary vectors
 * cannot drag either statistic outside the range of the honest values.
 *
 * Both need every vector at once: O(n × model) memory, and a sort of n values per coordinate. Unweighted: sample
 * counts are the clients' own claims, so a robust rule does not trust them. NaN sorts above +∞ (typed-array sort),
 * so a NaN coordinate acts as an extreme value and is trimmed or outvoted like one.
 */

function checkVectors(name: string, vectors: readonly ArrayLike<number>[]): number {
  if (!vectors.length) throw new RangeError(`${name}: no vectors`);
  const size = vectors[0]!.length;
  for (const v of vectors) if (v.length !== size) throw new RangeError(`${name}: vectors of different lengths (${v.length} and ${size})`);
  return size;
}

/** Per coordinate: sorts the n values and hands them to `stat`. */
function perCoordinate(name: string, vectors: readonly ArrayLike<number>[], stat: (sorted: Float64Array) => number): Float64Array {
  const size = checkVectors(name, vectors);
  const n = vectors.length;
  const col = new Float64Array(n);
  const out = new Float64Array(size);
  for (let i = 0; i < size; i++) {
    for (let k = 0; k < n; k++) col[k] = vectors[k]![i]!;
    col.sort();
    out[i] = stat(col);
  }
  return out;
}

/** Coordinate-wise median (the mean of the two middle values when n is even). */
export function coordinateMedian(vectors: readonly ArrayLike<number>[]): Float64Array {
  const n = vectors.length;
  const h = n >> 1;
  return perCoordinate('median', vectors, (s) => (n % 2 === 1 ? s[h]! : (s[h - 1]! + s[h]!) / 2));
}

/** Values trimmed from each end for n vectors and fraction β: ⌊βn⌋ (always leaves at least one when β < 0.5). */
export function trimCount(n: number, beta: number): number {
  if (!(beta >= 0 && beta < 0.5)) throw new RangeError(`trimmed mean: β must be in [0, 0.5), got ${beta}`);
  return Math.floor(beta * n);
}

/** Coordinate-wise β-trimmed mean. β = 0 is the plain (unweighted) mean. */
export function trimmedMean(vectors: readonly ArrayLike<number>[], beta: number): Float64Array {
  const n = vectors.length;
  const k = trimCount(n, beta);
  const kept = n - 2 * k;
  return perCoordinate('trimmed mean', vectors, (s) => {
    let sum = 0;
    for (let j = k; j < n - k; j++) sum += s[j]!;
    return sum / kept;
  });
}
