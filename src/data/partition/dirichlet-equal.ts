import { Rng } from '../../util/rng.js';
import { checkAlpha, checkBase, indicesByClass, samplesPerClient, type Partition, type PartitionBase } from './partitioner.js';

export type DirichletEqualOptions = PartitionBase & { alpha: number; samplesPerClient?: number };

/**
 * Dirichlet label skew with equal client sizes, as in the FedDyn (and FedMAN) reference code, rule 'Dirichlet'
 * with `unbalanced_sgm = 0`:
 *
 * 1. every client gets `samplesPerClient = ⌊n / numClients⌋` slots and class priors `p_i ~ Dir(α·1)`;
 * 2. repeatedly pick a client uniformly among those not yet full, draw a class from its prior and give it a
 *    not-yet-used sample of that class (samples of a class are taken in a seeded random order);
 * 3. when the drawn class has run out, the draw is repeated among the classes that still have samples — the
 *    reference redraws from the same prior until it hits one, which is the prior renormalised over the remaining
 *    classes; here that renormalised draw is made directly (and, should all remaining classes have zero prior
 *    mass, a remaining class is picked uniformly, where the reference would loop forever).
 *
 * Clients therefore hold exactly `samplesPerClient` samples each; late-filled clients deviate from their prior
 * when popular classes run out. `details.classPriors` holds the priors.
 */
export function dirichletEqualPartition(
  labels: ArrayLike<number>,
  numClasses: number,
  opts: DirichletEqualOptions,
): Partition {
  const n = labels.length;
  checkBase(opts, n);
  checkAlpha(opts.alpha);
  const per = samplesPerClient(opts, n);
  const rng = new Rng(opts.seed, 0xd1e);
  // The reference shuffles the training set first, then takes each class's samples from the end of its list.
  const byClass = indicesByClass(labels, numClasses, rng.permutation(n));
  const remaining = byClass.map((l) => l.length);
  const priors: number[][] = [];
  const cumPriors: Float64Array[] = [];
  for (let i = 0; i < opts.numClients; i++) {
    const p = rng.dirichlet(opts.alpha, numClasses);
    priors.push(p);
    const cum = new Float64Array(numClasses);
    let s = 0;
    for (let c = 0; c < numClasses; c++) cum[c] = s += p[c];
    cumPriors.push(cum);
  }
  const clients: number[][] = Array.from({ length: opts.numClients }, () => []);
  const open = Array.from({ length: opts.numClients }, (_, i) => i); // clients not yet full
  const weights = new Float64Array(numClasses);
  let total = per * opts.numClients;
  while (total > 0) {
    const slot = rng.int(open.length);
    const client = open[slot];
    // Inverse-CDF draw from the client's prior: the first class whose cumulative prior reaches u.
    const cum = cumPriors[client];
    const u = rng.uniform();
    let cls = -1;
    for (let c = 0; c < numClasses; c++) {
      if (u <= cum[c]) {
        cls = c;
        break;
      }
    }
    if (cls < 0 || remaining[cls] <= 0) {
      // Out of that class (or u above a cumulative sum that rounded below 1): prior renormalised over classes left.
      let mass = 0;
      for (let c = 0; c < numClasses; c++) {
        weights[c] = remaining[c] > 0 ? priors[client][c] : 0;
        mass += weights[c];
      }
      if (!(mass > 0)) for (let c = 0; c < numClasses; c++) weights[c] = remaining[c] > 0 ? 1 : 0;
      cls = rng.categorical(weights);
    }
    remaining[cls]--;
    clients[client].push(byClass[cls][remaining[cls]]);
    if (clients[client].length === per) {
      open[slot] = open[open.length - 1];
      open.pop();
    }
    total--;
  }
  return {
    scheme: 'dirichlet-equal',
    clients,
    params: {
      scheme: 'dirichlet-equal',
      seed: opts.seed,
      numClients: opts.numClients,
      n,
      alpha: opts.alpha,
      samplesPerClient: per,
      unassigned: n - per * opts.numClients,
    },
    details: { classPriors: priors },
  };
}
