/**
 * The federation server's config (`fedman serve --config server.json`): its schema with every default, its type,
 * and validation. One server runs one federation. The fields it shares with the simulation config are defined
 * once (fields.ts) and mean the same: a deployment whose clients all stay connected and use the server's data spec
 * (`fedman client --client-index i`) trains exactly the model `fedman simulate` trains with the same fields.
 */
import { Type, type Static } from 'typebox';
import { createStrategy } from '../fl/index.js';
import { defenseProblems } from '../fl/defense/config.js';
import { FedmanError } from '../util/errors.js';
import { Nullable, StringEnum } from '../util/schema.js';
import {
  ALGORITHM_FIELDS, DATA_SOURCE_FIELDS, localTrainingFields, MODEL_FIELDS, nullableInt, samplingFields, SEED_FIELDS, withLossDefaults,
} from './fields.js';
import { partitionAsObject, partitionSchema } from './partition.js';
import { configDiffs, configValidator } from './validate.js';

const sampling = samplingFields({ clients: 10, participation: 1 });
const tokenList = Type.Array(Type.String({ minLength: 1 }), { default: [] });

/** The federation's data, for clients that join with `--client-index i` (partitioned as in a simulation). */
const FederationData = Type.Object({
  ...DATA_SOURCE_FIELDS,
  partition: partitionSchema({ scheme: 'iid' }),
}, { additionalProperties: false });

/** Server-side evaluation of each round's global model (its test split). */
const Evaluation = Type.Object({
  ...DATA_SOURCE_FIELDS,
  batchSize: Type.Integer({ minimum: 1, default: 500 }),
  /** Evaluate every k rounds (and after the last round). */
  every: Type.Integer({ minimum: 1, default: 1 }),
  /**
   * Top Hessian eigenvalue of the global model's cross-entropy on the first `samples` evaluation samples (power
   * iteration), every k rounds and after the last; null: not computed.
   */
  flatness: Nullable(Type.Object({
    every: Type.Integer({ minimum: 1, default: 10 }),
    samples: Type.Integer({ minimum: 1, default: 500 }),
    maxIter: Type.Integer({ minimum: 1, maximum: 1000, default: 20 }),
    tol: Type.Number({ exclusiveMinimum: 0, default: 1e-3 }),
  }, { additionalProperties: false }), { default: null }),
}, { additionalProperties: false });

export const SERVER_CONFIG_SCHEMA = Type.Object({
  $schema: Type.Optional(Type.String()),
  /** Federation name (shown to clients and in the status). */
  name: Type.String({ default: 'fedman' }),
  model: MODEL_FIELDS.model,
  modelSeed: MODEL_FIELDS.modelSeed,
  /** Output classes of a zoo model (null = the zoo default). */
  numClasses: nullableInt(2),
  manLayers: MODEL_FIELDS.manLayers,
  loss: MODEL_FIELDS.loss,
  classAxis: MODEL_FIELDS.classAxis,
  algorithm: ALGORITHM_FIELDS.algorithm,
  algorithmOptions: ALGORITHM_FIELDS.algorithmOptions,
  robust: ALGORITHM_FIELDS.robust,
  dp: ALGORITHM_FIELDS.dp,
  man: ALGORITHM_FIELDS.man,
  /** Client slots N: ids 0..N−1 (strategies such as SCAFFOLD and FedDyn need N). */
  clients: sampling.clients,
  /** A fixed number of clients per round, sampled among the connected ones (null = use `participation`). */
  clientsPerRound: sampling.clientsPerRound,
  /** Each connected client joins a round with this probability (when `clientsPerRound` is null). */
  participation: sampling.participation,
  /** Connected clients needed before a round starts (null = clientsPerRound, else all N). */
  minAvailable: nullableInt(1),
  /** Accepted updates needed to aggregate when the deadline passes. */
  minClients: Type.Integer({ minimum: 1, default: 1 }),
  rounds: Type.Integer({ minimum: 1, default: 10 }),
  /** Seconds a round waits for its participants' updates. */
  roundDeadline: Type.Number({ exclusiveMinimum: 0, default: 600 }),
  /** Times a round's deadline is extended when fewer than `minClients` updates arrived, before it restarts. */
  maxExtensions: Type.Integer({ minimum: 0, default: 2 }),
  ...localTrainingFields({ localEpochs: 1, lrDecay: 1 }),
  ...SEED_FIELDS,
  data: Nullable(FederationData, { default: null }),
  evaluation: Nullable(Evaluation, { default: null }),
  /**
   * Model serving (Open Inference Protocol /v2): on by default; intra-op threads per session; the device sessions
   * run on ('webgpu': the model's WebGPU lowering on the GPU); dynamic batching of concurrent requests into one run
   * (at most maxBatch rows, waiting at most maxDelayMs for more) or null.
   */
  serving: Type.Object({
    enabled: Type.Boolean({ default: true }),
    threads: Type.Integer({ minimum: 1, default: 1 }),
    device: StringEnum(['cpu', 'webgpu'] as const, { default: 'cpu' }),
    batching: Nullable(Type.Object({
      maxBatch: Type.Integer({ minimum: 1, maximum: 4096 }),
      maxDelayMs: Type.Number({ minimum: 0, maximum: 1000, default: 2 }),
    }, { additionalProperties: false }), { default: null }),
  }, { additionalProperties: false, default: {} }),
  /**
   * Bearer tokens per scope: plain strings, 'sha256:<hex digest>' or 'env:<VARIABLE>'. A scope without tokens is
   * open (no authentication). An admin token is accepted for every scope.
   */
  tokens: Type.Object({ client: tokenList, inference: tokenList, admin: tokenList }, { additionalProperties: false, default: {} }),
  /** Browser origins allowed by CORS ('*' = any). */
  cors: Type.Object({ origins: Type.Array(Type.String({ minLength: 1 }), { default: [] }) }, { additionalProperties: false, default: {} }),
  limits: Type.Object({
    /** Largest JSON request body (bytes); parameter uploads are limited to the model's size. */
    jsonBodyBytes: Type.Integer({ minimum: 1024, default: 1_048_576 }),
    /** Longest long-poll of POST /v1/task (seconds). */
    longPollSeconds: Type.Number({ exclusiveMinimum: 0, maximum: 600, default: 30 }),
    /** A client counts as connected this long after its last request (seconds). */
    connectedSeconds: Type.Number({ exclusiveMinimum: 0, default: 90 }),
    /**
     * Update uploads whose bodies are read at once; later ones wait unread (TCP holds them), so ingestion memory
     * is O(concurrentUploads × model), not O(clients × model).
     */
    concurrentUploads: Type.Integer({ minimum: 1, default: 16 }),
  }, { additionalProperties: false, default: {} }),
  /** Serve /metrics without a token. */
  publicMetrics: Type.Boolean({ default: false }),
  /** ONNX Runtime intra-op threads of the server's trainer (evaluation, export). */
  threads: Type.Integer({ minimum: 0, default: 1 }),
}, { $id: 'https://fedman/server-config.json', additionalProperties: false });

export type ServerConfig = Omit<Static<typeof SERVER_CONFIG_SCHEMA>, '$schema'>;
export type FederationDataSpec = Static<typeof FederationData>;
export type EvaluationSpec = Static<typeof Evaluation>;

const validate = configValidator(SERVER_CONFIG_SCHEMA, { manLayers: "'auto', 'none' or a non-empty list of tensor names" });

/**
 * `fraction` is what `participation` was called in server configs before the two configs shared their fields;
 * configs (and state directories) that still say `fraction` mean `participation`.
 */
export function renameFraction(raw: Record<string, unknown>, where = 'server config'): Record<string, unknown> {
  if (!('fraction' in raw)) return raw;
  if ('participation' in raw) throw new FedmanError(`${where}: field 'fraction' is the old name of 'participation'; give only 'participation'`);
  const { fraction, ...rest } = raw;
  return { ...rest, participation: fraction };
}

/**
 * Validates a raw server config, fills in every default and resolves the algorithm's options (a new object).
 * Throws a FedmanError naming each problem's field.
 */
export function validateServerConfig(raw: unknown, where = 'server config'): ServerConfig {
  const named = raw && typeof raw === 'object' && !Array.isArray(raw) ? renameFraction(raw as Record<string, unknown>, where) : raw;
  const c = validate(partitionAsObject(named, ['data', 'partition'], where), where);
  const problems: string[] = [];
  if (c.clientsPerRound !== null && c.clientsPerRound > c.clients) problems.push(`field 'clientsPerRound' (${c.clientsPerRound}) exceeds 'clients' (${c.clients})`);
  if (c.minAvailable !== null && c.minAvailable > c.clients) problems.push(`field 'minAvailable' (${c.minAvailable}) exceeds 'clients' (${c.clients})`);
  if (c.minClients > c.clients) problems.push(`field 'minClients' (${c.minClients}) exceeds 'clients' (${c.clients})`);
  const perRound = c.clientsPerRound ?? c.clients;
  if (c.clientsPerRound !== null && c.minClients > perRound) problems.push(`field 'minClients' (${c.minClients}) exceeds 'clientsPerRound' (${perRound})`);
  if (c.limits.connectedSeconds <= c.limits.longPollSeconds) {
    problems.push(`field 'limits.connectedSeconds' (${c.limits.connectedSeconds}) must exceed 'limits.longPollSeconds' (${c.limits.longPollSeconds})`);
  }
  for (const origin of c.cors.origins) {
    if (origin !== '*' && !/^https?:\/\/[^/\s]+$/.test(origin)) problems.push(`field 'cors.origins' has '${origin}', expected '*' or an origin such as 'https://example.org'`);
  }
  for (const scope of ['client', 'inference', 'admin'] as const) {
    for (const tok of c.tokens[scope]) {
      if (tok.startsWith('sha256:') && !/^sha256:[0-9a-f]{64}$/i.test(tok)) problems.push(`field 'tokens.${scope}' has a malformed 'sha256:' token (expected 64 hex digits)`);
      if (tok.startsWith('env:') && tok.length === 4) problems.push(`field 'tokens.${scope}' has 'env:' without a variable name`);
    }
  }
  if (problems.length) throw new FedmanError(`${where}: ${problems.join('; ')}`);
  let defense: string[] = [];
  try {
    const strategy = createStrategy(c.algorithm, c.algorithmOptions);
    c.algorithmOptions = { ...strategy.options };
    defense = defenseProblems(c.robust, c.dp, strategy, { clients: c.clients, perRound: c.clientsPerRound, minClients: c.minClients });
  } catch (err) {
    throw new FedmanError(`${where}: ${(err as Error).message}`);
  }
  if (defense.length) throw new FedmanError(`${where}: ${defense.join('; ')}`);
  return c;
}

/** Connected clients a round needs before it starts. */
export function minAvailableOf(c: Pick<ServerConfig, 'minAvailable' | 'clientsPerRound' | 'clients'>): number {
  return c.minAvailable ?? c.clientsPerRound ?? c.clients;
}

/**
 * Fields that do not change the trained model: they may differ when a server restarts on an existing state
 * directory (everything else must match the state's config).
 */
export const NON_RESULT_SERVER_FIELDS: readonly (keyof ServerConfig)[] = [
  'name', 'rounds', 'roundDeadline', 'maxExtensions', 'minAvailable', 'minClients', 'evaluation', 'tokens', 'cors', 'limits', 'publicMetrics', 'threads', 'serving',
];

/** Fields (top-level) whose values differ between two configs, ignoring {@link NON_RESULT_SERVER_FIELDS}. */
export function serverConfigDiffs(a: ServerConfig, b: ServerConfig): string[] {
  return configDiffs(withLossDefaults(a), withLossDefaults(b), NON_RESULT_SERVER_FIELDS);
}

/** A config with secrets removed (tokens replaced by their count), for status pages and logs. */
export function redactedConfig(c: ServerConfig): Record<string, unknown> {
  return { ...c, tokens: { client: c.tokens.client.length, inference: c.tokens.inference.length, admin: c.tokens.admin.length } };
}
