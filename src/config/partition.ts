/** The partition block of the configs: how the training set is split over the clients. */
import { Type } from 'typebox';

export interface PartitionConfig {
  scheme: 'iid' | 'dirichlet-equal' | 'dirichlet' | 'classes' | 'shards';
  alpha?: number;
  samplesPerClient?: number;
  minSize?: number;
  maxTries?: number;
  balance?: boolean;
  classesPerClient?: number;
  numShards?: number;
  shardsPerClient?: number;
}

/** JSON schema of a partition spec, with the config's default. */
export function partitionSchema(dflt: PartitionConfig) {
  return Type.Unsafe<PartitionConfig>({
    type: 'object',
    additionalProperties: false,
    required: ['scheme'],
    properties: {
      scheme: { type: 'string', enum: ['iid', 'dirichlet-equal', 'dirichlet', 'classes', 'shards'] },
      alpha: { type: 'number', exclusiveMinimum: 0 },
      samplesPerClient: { type: 'integer', minimum: 1 },
      minSize: { type: 'integer', minimum: 0 },
      maxTries: { type: 'integer', minimum: 1 },
      balance: { type: 'boolean' },
      classesPerClient: { type: 'integer', minimum: 1 },
      numShards: { type: 'integer', minimum: 1 },
      shardsPerClient: { type: 'integer', minimum: 1 },
    },
    allOf: [
      { if: { properties: { scheme: { enum: ['dirichlet-equal', 'dirichlet'] } } }, then: { required: ['alpha'] } },
      { if: { properties: { scheme: { const: 'classes' } } }, then: { required: ['classesPerClient'] } },
      { if: { properties: { scheme: { const: 'shards' } } }, then: { required: ['numShards'] } },
    ],
    default: dflt,
  });
}
