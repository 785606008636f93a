/**
 * Which samples a client trains on:
 *
 * - `--client-index i`: client i of the federation's own data spec (published at join: dataset, limit,
 *   normalisation, partition scheme, N and seed), partitioned exactly as `fedman simulate` partitions it;
 *   `--data` may point at a local copy of the same dataset;
 * - `--partition i/n`: the i-th of n IID shards of `--data` (seeded by the federation's seed);
 * - neither: every training sample of `--data` (a real deployment: the client's own data).
 */
import { loadDataset } from './registry.js';
import { partition, type PartitionSpec } from './partition/index.js';
import type { Dataset } from './dataset.js';
import { FedmanError } from '../util/errors.js';
import type { PartitionedDataSpec } from './published-spec.js';

export type { PartitionedDataSpec };

export interface ClientDataOptions {
  /** Dataset spec (overrides the federation's). */
  data?: string;
  /** First N training samples (overrides the federation's limit). */
  limit?: number;
  /** Partition index in the federation's data spec. */
  clientIndex?: number;
  /** The i-th of n IID shards. */
  shard?: { index: number; count: number };
}

export interface ClientData {
  train: Dataset;
  /** Sample indices of each virtual client (one entry per requested index). */
  indices: Int32Array[];
  description: string;
}

/**
 * Loads the data once and returns the samples of `count` consecutive clients starting at the requested index
 * (count > 1 for `--simulate`).
 */
export async function loadClientData(o: ClientDataOptions, spec: PartitionedDataSpec | null, count = 1): Promise<ClientData> {
  const source = o.data ?? spec?.data;
  if (!source) {
    throw new FedmanError('no data: pass --data <spec> (the server publishes no data spec for --client-index)');
  }
  const sameSpec = spec !== null && (o.data === undefined || o.data === spec.data);
  const limit = o.limit ?? (sameSpec || o.clientIndex !== undefined ? spec?.limit ?? undefined : undefined);
  const testLimit = spec?.testLimit ?? undefined;
  const normalize = spec?.normalize ?? false;
  const data = await loadDataset(source, { limit, testLimit, normalize });
  const train = data.train;
  const y = train.y;
  if (o.clientIndex !== undefined) {
    if (!spec) throw new FedmanError('--client-index needs the server to publish a data spec ("data" in its config); use --partition i/n or --data alone instead');
    if (o.clientIndex + count > spec.numClients) {
      throw new FedmanError(`--client-index ${o.clientIndex}${count > 1 ? ` with --simulate ${count}` : ''} exceeds the federation's ${spec.numClients} clients`);
    }
    const p = partition({ ...spec.partition, numClients: spec.numClients, seed: spec.seed } as PartitionSpec, y, train.numClasses);
    const indices = Array.from({ length: count }, (_, k) => Int32Array.from(p.clients[o.clientIndex! + k]!));
    return { train, indices, description: `${source} (${spec.partition.scheme as string} partition, client${count > 1 ? 's' : ''} ${o.clientIndex}${count > 1 ? `..${o.clientIndex + count - 1}` : ''} of ${spec.numClients})` };
  }
  if (o.shard) {
    const { index, count: n } = o.shard;
    if (index + count > n) throw new FedmanError(`--partition ${index}/${n}${count > 1 ? ` with --simulate ${count}` : ''} exceeds ${n} shards`);
    const p = partition({ scheme: 'iid', numClients: n, seed: spec?.seed ?? 0 }, y, train.numClasses);
    const indices = Array.from({ length: count }, (_, k) => Int32Array.from(p.clients[index + k]!));
    return { train, indices, description: `${source} (IID shard${count > 1 ? 's' : ''} ${index}${count > 1 ? `..${index + count - 1}` : ''} of ${n})` };
  }
  if (count > 1) throw new FedmanError('--simulate needs --client-index or --partition to give each virtual client its own samples');
  return { train, indices: [Int32Array.from({ length: train.n }, (_, i) => i)], description: `${source} (all ${train.n} training samples)` };
}
