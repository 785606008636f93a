/**
 * The simulation config: its JSON schema (with every default), its TypeScript type, and validation with ajv.
 * Defaults follow the paper's protocol (100 clients, participation 0.1, Dirichlet δ = 0.3 with equal sizes,
 * 5 local epochs, batch 50, SGD lr 0.1 × 0.998 per round, weight decay 1e-3, clipping at 10, 500 rounds).
 */
import { describeAjvErrors } from '../util/ajv-errors.js';
import AjvModule from 'ajv';
import { FedmanError } from '../util/errors.js';
import { dpSchema, robustSchema, type DpConfig, type RobustConfig } from '../fl/defense/config.js';
import type { PartitionConfig } from '../data/partition/index.js';

// Its home is data/partition/spec.ts; re-exported while the config modules still import it from here.
export type { PartitionConfig };

/** The clients' local-training settings (shared by simulation and server configs; schema: localTrainingSchema). */
export interface LocalTrainingConfig {
  localEpochs: number;
  /** Local SGD steps per round instead of epochs (null = use `localEpochs`). */
  localSteps: number | null;
  batchSize: number;
  lr: number;
  /** lr in round r (1-based) is lr · lrDecay^(r − 1). */
  lrDecay: number;
  weightDecay: number;
  /** Clip the loss gradient to this L2 norm (0 = off). */
  clipNorm: number;
  momentum: number;
}

export interface SimConfig extends LocalTrainingConfig {
  /** Label for reports and `fedman compare` ('' = the output directory's name). */
  name: string;
  /** Dataset spec (see `loadDataset`). */
  data: string;
  /** Use only the first N training samples (null = all). */
  limit: number | null;
  /** Use only the first N test samples (null = as `limit`, or all). */
  testLimit: number | null;
  /**
   * Per-channel normalisation with the dataset's standard statistics (default off, like `fedman train` and
   * `fedman eval`, so the exported global.onnx scores the same under `fedman eval`).
   */
  normalize: boolean;
  /** Zoo model name or .onnx path. */
  model: string;
  /** Seed of the zoo model's initial weights (null = `seed`). */
  modelSeed: number | null;
  /** Layers MAN penalises: 'auto', 'none' or tensor names. */
  manLayers: 'auto' | 'none' | string[];
  clients: number;
  partition: PartitionConfig;
  /** Each client joins a round independently with this probability (redrawn when nobody joins). */
  participation: number;
  /** A fixed number of clients per round, sampled without replacement (overrides `participation`). */
  clientsPerRound: number | null;
  rounds: number;
  /** MAN strength ζ (0 = the plain algorithm). */
  man: number;
  algorithm: string;
  /** Options of the algorithm (defaults filled in by the algorithm; see report.json). */
  algorithmOptions: Record<string, number | string | boolean>;
  /**
   * Robust aggregation of the clients' parameters and norm bounding of their updates (default: the algorithm's
   * plain mean, no bound). See docs/simulation.md, "Robust aggregation and differential privacy".
   */
  robust: RobustConfig;
  /** Central differential privacy (DP-FedAvg: clip, uniform mean, Gaussian noise, RDP accountant); null = off. */
  dp: DpConfig | null;
  /** Evaluate the global model every k rounds (and after the final round). */
  evalEvery: number;
  evalBatchSize: number;
  seed: number;
  /** Shuffle each client's samples every local epoch (false: partition order, for cross-checks). */
  shuffle: boolean;
  /** Worker threads ('auto' = min(cores, clients per round); 0 = train in the main thread). */
  workers: number | 'auto';
  /** ONNX Runtime intra-op threads per worker. */
  threads: number;
  /** Where per-client algorithm state lives. */
  clientState: 'disk' | 'memory';
  /** Training samples for the final global model's Hessian top eigenvalue (0 = do not measure). */
  flatnessSamples: number;
  /** Hutchinson vectors for the Hessian trace of the final global model (0 = skip the trace). */
  flatnessTrace: number;
}

/** JSON schema of a partition spec (shared by simulation and server configs). */
export function partitionSchema(dflt: Record<string, unknown>) {
  return {
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
  } as const;
}

/** JSON schema of the clients' local-training settings (shared by simulation and server configs). */
export function localTrainingSchema(defaults: { localEpochs: number; lrDecay: number }) {
  return {
    localEpochs: { type: 'integer', minimum: 1, default: defaults.localEpochs },
    localSteps: { type: ['integer', 'null'], minimum: 1, default: null },
    batchSize: { type: 'integer', minimum: 1, default: 50 },
    lr: { type: 'number', exclusiveMinimum: 0, default: 0.1 },
    lrDecay: { type: 'number', exclusiveMinimum: 0, maximum: 1, default: defaults.lrDecay },
    weightDecay: { type: 'number', minimum: 0, default: 1e-3 },
    clipNorm: { type: 'number', minimum: 0, default: 10 },
    momentum: { type: 'number', minimum: 0, maximum: 1, default: 0 },
  } as const;
}

const nullableInt = (minimum: number, def: null = null) => ({ type: ['integer', 'null'], minimum, default: def });

export const SIM_CONFIG_SCHEMA = {
  $id: 'https://fedman/sim-config.json',
  type: 'object',
  additionalProperties: false,
  properties: {
    $schema: { type: 'string' },
    name: { type: 'string', default: '' },
    data: { type: 'string', minLength: 1, default: 'mnist' },
    limit: nullableInt(1),
    testLimit: nullableInt(1),
    normalize: { type: 'boolean', default: false },
    model: { type: 'string', minLength: 1, default: 'mlp' },
    modelSeed: { type: ['integer', 'null'], default: null },
    manLayers: {
      anyOf: [{ type: 'string', enum: ['auto', 'none'] }, { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 }],
      default: 'auto',
    },
    clients: { type: 'integer', minimum: 1, default: 100 },
    partition: partitionSchema({ scheme: 'dirichlet-equal', alpha: 0.3 }),
    participation: { type: 'number', exclusiveMinimum: 0, maximum: 1, default: 0.1 },
    clientsPerRound: nullableInt(1),
    rounds: { type: 'integer', minimum: 1, default: 500 },
    ...localTrainingSchema({ localEpochs: 5, lrDecay: 0.998 }),
    man: { type: 'number', minimum: 0, default: 0 },
    algorithm: { type: 'string', minLength: 1, default: 'fedavg' },
    algorithmOptions: { type: 'object', additionalProperties: { type: ['number', 'string', 'boolean'] }, default: {} },
    robust: robustSchema(),
    dp: dpSchema(),
    evalEvery: { type: 'integer', minimum: 1, default: 1 },
    evalBatchSize: { type: 'integer', minimum: 1, default: 500 },
    seed: { type: 'integer', minimum: 0, default: 0 },
    shuffle: { type: 'boolean', default: true },
    workers: { anyOf: [{ type: 'integer', minimum: 0 }, { type: 'string', const: 'auto' }], default: 'auto' },
    threads: { type: 'integer', minimum: 0, default: 1 },
    clientState: { type: 'string', enum: ['disk', 'memory'], default: 'disk' },
    flatnessSamples: { type: 'integer', minimum: 0, default: 0 },
    flatnessTrace: { type: 'integer', minimum: 0, default: 0 },
  },
} as const;

const Ajv = AjvModule.default;
const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });
const validate = ajv.compile(SIM_CONFIG_SCHEMA);

const ANYOF_HINT: Record<string, string> = {
  workers: "a non-negative integer or 'auto'",
  manLayers: "'auto', 'none' or a non-empty list of tensor names",
};


/**
 * Validates a raw config object and fills in every default (a new object; the input is not modified).
 * Throws a FedmanError listing each problem with the field it concerns.
 */
export function validateConfig(raw: unknown, where = 'config'): SimConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new FedmanError(`${where}: expected a JSON object`);
  const copy = JSON.parse(JSON.stringify(raw)) as Record<string, unknown>;
  if (!validate(copy)) {
    const lines = describeAjvErrors(validate.errors ?? [], ANYOF_HINT);
    throw new FedmanError(`${where}: ${lines.join('; ')}`, { errors: validate.errors });
  }
  delete copy.$schema;
  // Schema order, so reports list fields the same way whatever order the input had.
  const ordered: Record<string, unknown> = {};
  for (const k of Object.keys(SIM_CONFIG_SCHEMA.properties)) if (k in copy) ordered[k] = copy[k];
  return ordered as unknown as SimConfig;
}

/** A config with every default (what an empty `{}` config means). */
export function defaultConfig(): SimConfig {
  return validateConfig({});
}
