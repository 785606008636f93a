/** The shape of a federation's published data spec: what clients need to load and partition the federation's data. */
import { Type, type Static } from 'typebox';
import { Nullable } from '../util/schema.js';

/**
 * A federation's published data spec (the protocol's PublishedDataSpec, defined here once, where its users live): a
 * dataset, its subset and normalisation, and the partition of its training set over `numClients` client slots.
 */
export const PartitionedDataSpec = Type.Object({
  data: Type.String(),
  limit: Nullable(Type.Integer()),
  testLimit: Nullable(Type.Integer()),
  normalize: Type.Boolean(),
  partition: Type.Record(Type.String(), Type.Unknown()),
  numClients: Type.Integer(),
  seed: Type.Integer(),
});
export type PartitionedDataSpec = Static<typeof PartitionedDataSpec>;
