/**
 * The simulation config (`fedman simulate --config`): its schema with every default, its type, validation, and the
 * check that a resumed run matches its checkpoint. Defaults follow the paper's protocol (100 clients, participation
 * 0.1, Dirichlet δ = 0.3 with equal sizes, 5 local epochs, batch 50, SGD lr 0.1 × 0.998 per round, weight decay
 * 1e-3, clipping at 10, 500 rounds).
 */
import { Type, type Static } from 'typebox';
import { createStrategy } from '../fl/index.js';
import { checkDefense, DEFAULT_ROBUST } from '../fl/defense/config.js';
import { StringEnum } from '../util/schema.js';
import { asyncProblems } from '../fl/round/async-buffer.js';
import { FedmanError } from '../util/errors.js';
import {
  AggregationConfig, ALGORITHM_FIELDS, DATA_SOURCE_FIELDS, DEFAULT_AGGREGATION, localTrainingFields, MODEL_FIELDS, samplingFields, SEED_FIELDS,
  withLossDefaults,
} from './fields.js';
import { FLEET_ANYOF_HINTS, FleetConfig, FleetConfigOrNull, fleetProblems } from './fleet.js';
import { partitionAsObject, partitionSchema } from './partition.js';
import { configDiffs, configValidator } from './validate.js';

const sampling = samplingFields({ clients: 100, participation: 0.1 });

export const SIM_CONFIG_SCHEMA = Type.Object({
  $schema: Type.Optional(Type.String()),
  /** Label for reports and `fedman compare` ('' = the output directory's name). */
  name: Type.String({ default: '' }),
  ...DATA_SOURCE_FIELDS,
  data: Type.String({ minLength: 1, default: 'mnist' }),
  ...MODEL_FIELDS,
  clients: sampling.clients,
  partition: partitionSchema({ scheme: 'dirichlet-equal', alpha: 0.3 }),
  participation: sampling.participation,
  clientsPerRound: sampling.clientsPerRound,
  rounds: Type.Integer({ minimum: 1, default: 500 }),
  ...localTrainingFields({ localEpochs: 5, lrDecay: 0.998 }),
  ...ALGORITHM_FIELDS,
  /** Synchronous rounds or asynchronous buffered aggregation (then `rounds` counts published versions). */
  aggregation: AggregationConfig,
  /** Heterogeneous clients on a virtual clock (speeds, bandwidths, availability); null: no clock. */
  fleet: FleetConfigOrNull,
  /** Evaluate the global model every k rounds (and after the final round). */
  evalEvery: Type.Integer({ minimum: 1, default: 1 }),
  evalBatchSize: Type.Integer({ minimum: 1, default: 500 }),
  ...SEED_FIELDS,
  /** Worker threads ('auto' = min(cores, clients per round); 0 = train in the main thread). */
  workers: Type.Union([Type.Integer({ minimum: 0 }), Type.Literal('auto')], { default: 'auto' }),
  /** ONNX Runtime intra-op threads per worker. */
  threads: Type.Integer({ minimum: 0, default: 1 }),
  /** Where clients train: the CPU, or the GPU through ONNX Runtime's WebGPU EP (then in the main thread by default). */
  device: StringEnum(['cpu', 'webgpu'] as const, { default: 'cpu' }),
  /** Where per-client algorithm state lives. */
  clientState: StringEnum(['disk', 'memory'] as const, { default: 'disk' }),
  /** Training samples for the final global model's Hessian top eigenvalue (0 = do not measure). */
  flatnessSamples: Type.Integer({ minimum: 0, default: 0 }),
  /** Hutchinson vectors for the Hessian trace of the final global model (0 = skip the trace). */
  flatnessTrace: Type.Integer({ minimum: 0, default: 0 }),
}, { $id: 'https://fedman/sim-config.json', additionalProperties: false });

export type SimConfig = Omit<Static<typeof SIM_CONFIG_SCHEMA>, '$schema'>;

const validate = configValidator(SIM_CONFIG_SCHEMA, {
  workers: "a non-negative integer or 'auto'",
  manLayers: "'auto', 'none' or a non-empty list of tensor names",
  ...FLEET_ANYOF_HINTS,
});

/**
 * Validates a raw config object and fills in every default (a new object; the input is not modified).
 * Throws a FedmanError listing each problem with the field it concerns.
 */
export function validateConfig(raw: unknown, where = 'config'): SimConfig {
  const c = validate(partitionAsObject(raw, ['partition'], where), where);
  // Blocks in schema order too, whatever order overrides merged their fields in.
  c.aggregation = inOrder(c.aggregation, AggregationConfig.properties);
  if (c.fleet) c.fleet = inOrder(c.fleet, FleetConfig.properties);
  return c;
}

function inOrder<T extends object>(v: T, props: object): T {
  return Object.fromEntries(Object.keys(props).filter((k) => k in v).map((k) => [k, (v as Record<string, unknown>)[k]])) as T;
}

/** A config with every default (what an empty `{}` config means). */
export function defaultConfig(): SimConfig {
  return validateConfig({});
}

/**
 * Raw config + overrides (undefined values ignored; algorithmOptions, aggregation and fleet merged key by key) → validated config with
 * the algorithm's options resolved (defaults filled in; unknown algorithms and bad options are FedmanErrors).
 */
export function mergeConfig(base: Record<string, unknown>, overrides: Record<string, unknown> = {}, where = 'config'): SimConfig {
  const merged: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) continue;
    if ((k === 'aggregation' || k === 'fleet') && v && typeof v === 'object' && base[k] && typeof base[k] === 'object') {
      // Blocks merge field by field: `--mode async` keeps the config's bufferSize.
      merged[k] = { ...(base[k] as object), ...(v as object) };
    } else if (k === 'algorithmOptions' && v && typeof v === 'object') {
      // Options of a different algorithm do not carry over when --algorithm changes it.
      const sameAlgo = overrides.algorithm === undefined || overrides.algorithm === base.algorithm;
      const prev = sameAlgo && base.algorithmOptions && typeof base.algorithmOptions === 'object' ? base.algorithmOptions : {};
      merged[k] = { ...(prev as object), ...(v as object) };
    } else {
      merged[k] = v;
    }
  }
  if (overrides.algorithm !== undefined && overrides.algorithm !== base.algorithm && overrides.algorithmOptions === undefined) {
    merged.algorithmOptions = {};
  }
  const config = validateConfig(merged, where);
  const strategy = createStrategy(config.algorithm, config.algorithmOptions);
  config.algorithmOptions = { ...strategy.options };
  checkDefense(config.robust, config.dp, strategy, { clients: config.clients, perRound: simPerRound(config) }, where);
  const problems = [...fleetProblems(config.fleet), ...(config.aggregation.mode === 'async' ? asyncProblems(strategy, config.robust, config.dp) : [])];
  if (problems.length) throw new FedmanError(`${where}: ${problems.join('; ')}`);
  return config;
}

/** Participants per round when the config fixes their number (clientsPerRound, or everyone), else null. */
export function simPerRound(c: Pick<SimConfig, 'clients' | 'clientsPerRound' | 'participation'>): number | null {
  return c.clientsPerRound !== null ? Math.min(c.clientsPerRound, c.clients) : c.participation === 1 ? c.clients : null;
}

/** Fields that do not change the trained model: they may differ between a run and its resumption. */
export const NON_RESULT_FIELDS: readonly (keyof SimConfig)[] = ['name', 'rounds', 'workers', 'threads', 'device', 'evalEvery', 'evalBatchSize', 'flatnessSamples', 'flatnessTrace'];

/**
 * The fields whose values differ between two configs, ignoring {@link NON_RESULT_FIELDS}. `robust`, `dp`,
 * `aggregation` and `fleet` change results; a checkpoint written before they existed counts as having their defaults.
 */
export function resultFieldDiffs(a: SimConfig, b: SimConfig): string[] {
  return configDiffs(withLossDefaults(withNewFieldDefaults(a)), withLossDefaults(withNewFieldDefaults(b)), NON_RESULT_FIELDS);
}

function withNewFieldDefaults(c: SimConfig): SimConfig {
  const r = c as Partial<SimConfig>;
  return {
    ...c, robust: r.robust ?? { ...DEFAULT_ROBUST }, dp: r.dp === undefined ? null : r.dp,
    aggregation: r.aggregation ?? { ...DEFAULT_AGGREGATION }, fleet: r.fleet === undefined ? null : r.fleet,
  };
}
