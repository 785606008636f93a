/**
 * Federated partitioners by scheme (one file each): split a training set's sample indices among clients.
 * Also their statistics (stats.ts), text/SVG summaries (render.ts) and the two spellings of a partition in
 * configs and on the command line (spec.ts).
 */
import { FedmanError } from '../../util/errors.js';
import { PARTITION_SCHEMES, type Partition, type PartitionScheme } from './partitioner.js';
import { iidPartition, type IidOptions } from './iid.js';
import { dirichletEqualPartition, type DirichletEqualOptions } from './dirichlet-equal.js';
import { dirichletPartition, type DirichletOptions } from './dirichlet.js';
import { classesPartition, type ClassesOptions } from './classes.js';
import { shardsPartition, type ShardsOptions } from './shards.js';

export { PARTITION_SCHEMES, type Partition, type PartitionBase, type PartitionScheme } from './partitioner.js';
export { iidPartition, dirichletEqualPartition, dirichletPartition, classesPartition, shardsPartition };
export type { IidOptions, DirichletEqualOptions, DirichletOptions, ClassesOptions, ShardsOptions };
export { labelDistribution, labelEntropy, meanClientEntropy, checkDisjoint } from './stats.js';
export { partitionSummary, type PartitionSummary, type SummaryOptions } from './render.js';
export { formatPartitionSpec, parsePartitionSpec, partitionJsonSchema, type PartitionConfig } from './spec.js';

/** Declarative description of a partition (for configs); see {@link partition}. */
export type PartitionSpec =
  | ({ scheme: 'iid' } & IidOptions)
  | ({ scheme: 'dirichlet-equal' } & DirichletEqualOptions)
  | ({ scheme: 'dirichlet' } & DirichletOptions)
  | ({ scheme: 'classes' } & ClassesOptions)
  | ({ scheme: 'shards' } & ShardsOptions);

type Run<S extends PartitionScheme> = (spec: Extract<PartitionSpec, { scheme: S }>, labels: ArrayLike<number>, numClasses: number) => Partition;

/** The partitioner of each scheme. */
export const PARTITIONERS: { [S in PartitionScheme]: Run<S> } = {
  iid: (s, labels) => iidPartition(labels.length, s),
  'dirichlet-equal': (s, labels, numClasses) => dirichletEqualPartition(labels, numClasses, s),
  dirichlet: (s, labels, numClasses) => dirichletPartition(labels, numClasses, s),
  classes: (s, labels, numClasses) => classesPartition(labels, numClasses, s),
  shards: (s, labels) => shardsPartition(labels, s),
};

/** Runs the partitioner named by `spec.scheme`. */
export function partition(spec: PartitionSpec, labels: ArrayLike<number>, numClasses: number): Partition {
  const scheme = (spec as { scheme: string }).scheme;
  if (!Object.hasOwn(PARTITIONERS, scheme)) {
    throw new FedmanError(`Unknown partition scheme '${scheme}' (use ${PARTITION_SCHEMES.slice(0, -1).join(', ')} or ${PARTITION_SCHEMES.at(-1)})`);
  }
  return (PARTITIONERS[scheme as PartitionScheme] as Run<PartitionScheme>)(spec, labels, numClasses);
}
