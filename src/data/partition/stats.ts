/** Statistics of a partition: per-client label counts, label entropy, and a disjointness check. */
import type { Partition } from './partitioner.js';

/** Per-client label counts: `counts[client][class]`. */
export function labelDistribution(p: Partition | number[][], labels: ArrayLike<number>, numClasses: number): number[][] {
  const clients = Array.isArray(p) ? p : p.clients;
  return clients.map((idx) => {
    const row = new Array<number>(numClasses).fill(0);
    for (const i of idx) row[labels[i]]++;
    return row;
  });
}

/** Shannon entropy (bits) of a count vector's normalised distribution (0 for an empty vector). */
export function labelEntropy(counts: readonly number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return 0;
  let h = 0;
  for (const c of counts) if (c > 0) h -= (c / total) * Math.log2(c / total);
  return h;
}

/** Mean per-client label entropy (bits): lower means more label skew. */
export function meanClientEntropy(dist: readonly (readonly number[])[]): number {
  if (dist.length === 0) return 0;
  return dist.reduce((a, row) => a + labelEntropy(row), 0) / dist.length;
}

/** Checks that clients are disjoint and indices valid; returns the number of distinct samples assigned. */
export function checkDisjoint(p: Partition | number[][], n: number): number {
  const clients = Array.isArray(p) ? p : p.clients;
  const seen = new Uint8Array(n);
  let count = 0;
  clients.forEach((idx, ci) => {
    for (const i of idx) {
      if (!(i >= 0 && i < n) || !Number.isInteger(i)) throw new Error(`client ${ci}: index ${i} out of range [0, ${n})`);
      if (seen[i]) throw new Error(`client ${ci}: sample ${i} assigned twice`);
      seen[i] = 1;
      count++;
    }
  });
  return count;
}
