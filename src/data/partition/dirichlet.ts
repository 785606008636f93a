import { FedmanError } from '../../util/errors.js';
import { Rng } from '../../util/rng.js';
import { assignedCount, checkAlpha, checkBase, checkInt, indicesByClass, type Partition, type PartitionBase } from './partitioner.js';

export type DirichletOptions = PartitionBase & { alpha: number; minSize?: number; maxTries?: number; balance?: boolean };

/**
 * Dirichlet label skew with natural (unequal) client sizes, as in NIID-Bench (Li et al. 2022): for each class,
 * draw client shares `q ~ Dir(α·1)` and split the class's (shuffled) samples among clients by `q`. With
 * `balance` (default true), clients already holding ≥ n / numClients samples get no share of later classes.
 * The whole split is redrawn until every client holds at least `minSize` samples (default 10), at most
 * `maxTries` times (default 1000); `params.tries` records how many draws it took. All samples are assigned.
 */
export function dirichletPartition(
  labels: ArrayLike<number>,
  numClasses: number,
  opts: DirichletOptions,
): Partition {
  const n = labels.length;
  checkBase(opts, n);
  checkAlpha(opts.alpha);
  const minSize = opts.minSize ?? 10;
  const maxTries = opts.maxTries ?? 1000;
  const balance = opts.balance ?? true;
  checkInt(minSize, 'minSize', 0);
  checkInt(maxTries, 'maxTries', 1);
  const N = opts.numClients;
  if (minSize * N > n) throw new FedmanError(`partition: minSize ${minSize} × ${N} clients exceeds the ${n} samples available`);
  const rng = new Rng(opts.seed, 0xd12);
  const byClass = indicesByClass(labels, numClasses);
  const cap = n / N;
  for (let attempt = 1; attempt <= maxTries; attempt++) {
    const clients: number[][] = Array.from({ length: N }, () => []);
    for (let c = 0; c < numClasses; c++) {
      const idx = rng.shuffle([...byClass[c]]);
      const q = rng.dirichlet(opts.alpha, N);
      let sum = 0;
      for (let j = 0; j < N; j++) {
        if (balance && clients[j].length >= cap) q[j] = 0;
        sum += q[j];
      }
      if (!(sum > 0)) {
        // All the mass fell on capped clients: spread this class over the uncapped ones instead.
        sum = 0;
        for (let j = 0; j < N; j++) sum += q[j] = clients[j].length < cap ? 1 : 0;
      }
      // Cut points floor(cumsum(q) · |class|), as np.split(idx, (cumsum(q)·len).astype(int)[:-1]).
      let acc = 0;
      let start = 0;
      for (let j = 0; j < N; j++) {
        acc += q[j] / sum;
        const end = j === N - 1 ? idx.length : Math.min(idx.length, Math.floor(acc * idx.length));
        for (let t = start; t < end; t++) clients[j].push(idx[t]);
        start = Math.max(start, end);
      }
    }
    const smallest = clients.reduce((a, c) => Math.min(a, c.length), Infinity);
    if (smallest >= minSize) {
      for (const c of clients) rng.shuffle(c);
      return {
        scheme: 'dirichlet',
        clients,
        params: { scheme: 'dirichlet', seed: opts.seed, numClients: N, n, alpha: opts.alpha, minSize, balance, tries: attempt, unassigned: n - assignedCount(clients) },
      };
    }
  }
  throw new FedmanError(
    `partition: Dirichlet(α=${opts.alpha}) split could not give all ${N} clients ≥ ${minSize} samples in ${maxTries} tries; ` +
      'raise alpha, lower minSize, use fewer clients or use the dirichlet-equal scheme',
  );
}
