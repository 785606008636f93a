import { FedmanError } from '../../util/errors.js';
import { Rng } from '../../util/rng.js';
import { assignedCount, checkBase, checkInt, indicesByClass, type Partition, type PartitionBase } from './partitioner.js';

export type ClassesOptions = PartitionBase & { classesPerClient: number };

/**
 * Pathological label skew: each client gets `classesPerClient` (k) shards of k distinct classes.
 *
 * The data are grouped by label (each class in seeded random order) and cut into `numClients · k` shards that
 * never straddle two classes; a class gets a number of shards proportional to its size (at most `numClients`, so
 * no client needs two shards of it). Shards are dealt so that each client holds k shards of k different classes —
 * starting from a round-robin deal, which guarantees distinctness, followed by random class-preserving swaps
 * between clients to randomise which classes go together. If there are fewer shards than classes, some
 * classes are left unassigned. `details.clientClasses` lists each client's classes.
 */
export function classesPartition(
  labels: ArrayLike<number>,
  numClasses: number,
  opts: ClassesOptions,
): Partition {
  const n = labels.length;
  checkBase(opts, n);
  const k = opts.classesPerClient;
  checkInt(k, 'classesPerClient', 1);
  const N = opts.numClients;
  const rng = new Rng(opts.seed, 0xc1a);
  const byClass = indicesByClass(labels, numClasses).map((l) => rng.shuffle(l));
  const present = byClass.map((l, c) => (l.length > 0 ? c : -1)).filter((c) => c >= 0);
  if (k > present.length) {
    throw new FedmanError(`partition: classesPerClient (${k}) exceeds the number of classes with samples (${present.length})`);
  }
  const S = N * k;
  const capOf = (c: number) => Math.min(N, byClass[c].length);
  const capacity = present.reduce((a, c) => a + capOf(c), 0);
  if (S > capacity) {
    throw new FedmanError(`partition: cannot cut ${S} single-class shards (${N} clients × ${k}) from these labels; use fewer clients or classes per client`);
  }
  // Shards per class: proportional to class size (largest remainder), capped so no class needs > N shards.
  const shards = new Array<number>(numClasses).fill(0);
  const quota = new Array<number>(numClasses).fill(0);
  for (const c of present) {
    quota[c] = (S * byClass[c].length) / n;
    shards[c] = Math.min(capOf(c), Math.floor(quota[c]));
  }
  let left = S - shards.reduce((a, b) => a + b, 0);
  // Tie-break the remainder randomly (seeded) rather than by class index.
  const tieOrder = rng.permutation(numClasses);
  while (left > 0) {
    let best = -1;
    let bestGap = -Infinity;
    for (const c of tieOrder) {
      if (byClass[c].length === 0 || shards[c] >= capOf(c)) continue;
      const gap = quota[c] - shards[c];
      if (gap > bestGap) {
        bestGap = gap;
        best = c;
      }
    }
    shards[best]++;
    left--;
  }
  // Cut each class into its shards; list shards grouped by class in a random class order.
  const shardList: { cls: number; idx: number[] }[] = [];
  for (const c of rng.permutation(numClasses)) {
    const l = byClass[c];
    for (let s = 0; s < shards[c]; s++) {
      shardList.push({ cls: c, idx: l.slice(Math.floor((s * l.length) / shards[c]), Math.floor(((s + 1) * l.length) / shards[c])) });
    }
  }
  // Round-robin deal: a class's ≤ N consecutive shards land on distinct clients.
  const owned: number[][] = Array.from({ length: N }, () => []); // shard ids per client
  shardList.forEach((_, j) => owned[j % N].push(j));
  // Randomise with class-preserving swaps (keeps every client's classes distinct).
  const hasClass = (client: number, cls: number, except: number) => owned[client].some((sid, pos) => pos !== except && shardList[sid].cls === cls);
  const swaps = N > 1 ? 20 * S : 0;
  for (let t = 0; t < swaps; t++) {
    const a = rng.int(N);
    const b = rng.int(N);
    if (a === b) continue;
    const pa = rng.int(k);
    const pb = rng.int(k);
    const sa = owned[a][pa];
    const sb = owned[b][pb];
    const ca = shardList[sa].cls;
    const cb = shardList[sb].cls;
    if (ca === cb || hasClass(a, cb, pa) || hasClass(b, ca, pb)) continue;
    owned[a][pa] = sb;
    owned[b][pb] = sa;
  }
  const clients = owned.map((sids) => rng.shuffle(sids.flatMap((sid) => shardList[sid].idx)));
  const clientClasses = owned.map((sids) => sids.map((sid) => shardList[sid].cls).sort((x, y) => x - y));
  return {
    scheme: 'classes',
    clients,
    params: { scheme: 'classes', seed: opts.seed, numClients: N, n, classesPerClient: k, numShards: S, unassigned: n - assignedCount(clients) },
    details: { clientClasses },
  };
}
