import { Rng } from '../../util/rng.js';
import { checkBase, samplesPerClient, type Partition, type PartitionBase } from './partitioner.js';

export type IidOptions = PartitionBase & { samplesPerClient?: number };

/**
 * IID: a seeded random permutation cut into equal parts of `samplesPerClient` (default ⌊n / numClients⌋);
 * the remainder is unassigned.
 */
export function iidPartition(n: number, opts: IidOptions): Partition {
  checkBase(opts, n);
  const per = samplesPerClient(opts, n);
  const rng = new Rng(opts.seed, 0x11d);
  const perm = rng.permutation(n);
  const clients = Array.from({ length: opts.numClients }, (_, i) => perm.slice(i * per, (i + 1) * per));
  return {
    scheme: 'iid',
    clients,
    params: { scheme: 'iid', seed: opts.seed, numClients: opts.numClients, n, samplesPerClient: per, unassigned: n - per * opts.numClients },
  };
}
