import { FedmanError } from '../../util/errors.js';
import { Rng } from '../../util/rng.js';
import { assignedCount, checkBase, checkInt, type Partition, type PartitionBase } from './partitioner.js';

export type ShardsOptions = PartitionBase & { numShards: number; shardsPerClient?: number };

/**
 * Shards (McMahan et al. 2017): sort the samples by label (stable), cut them into `numShards` equal contiguous
 * shards of ⌊n / numShards⌋ samples (the remainder is unassigned) and give each client `shardsPerClient`
 * (default ⌊numShards / numClients⌋) randomly chosen shards. A shard may straddle two classes.
 */
export function shardsPartition(labels: ArrayLike<number>, opts: ShardsOptions): Partition {
  const n = labels.length;
  checkBase(opts, n);
  checkInt(opts.numShards, 'numShards', 1);
  if (opts.numShards > n) throw new FedmanError(`partition: numShards (${opts.numShards}) exceeds the number of samples (${n})`);
  const N = opts.numClients;
  const spc = opts.shardsPerClient ?? Math.floor(opts.numShards / N);
  checkInt(spc, 'shardsPerClient', 1);
  if (spc * N > opts.numShards) throw new FedmanError(`partition: ${N} clients × ${spc} shards exceeds numShards (${opts.numShards})`);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => labels[a] - labels[b] || a - b);
  const size = Math.floor(n / opts.numShards);
  const rng = new Rng(opts.seed, 0x5a4);
  const perm = rng.permutation(opts.numShards);
  const clients: number[][] = [];
  for (let i = 0; i < N; i++) {
    const idx: number[] = [];
    for (let s = 0; s < spc; s++) {
      const shard = perm[i * spc + s];
      for (let t = shard * size; t < (shard + 1) * size; t++) idx.push(order[t]);
    }
    clients.push(idx);
  }
  return {
    scheme: 'shards',
    clients,
    params: { scheme: 'shards', seed: opts.seed, numClients: N, n, numShards: opts.numShards, shardsPerClient: spc, shardSize: size, unassigned: n - assignedCount(clients) },
  };
}
