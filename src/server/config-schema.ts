/**
 * The federation server's config (`fedman serve --config server.json`): its JSON schema with every default, its
 * TypeScript type, and validation with ajv. One server runs one federation.
 *
 * The training fields mean what they mean in a simulation config (src/sim/config-schema.ts): a deployment whose
 * clients all stay connected and use the server's data spec (`fedman client --client-index i`) trains exactly the
 * model `fedman simulate` trains with the same fields.
 */
import { describeAjvErrors } from '../util/ajv-errors.js';
import { localTrainingSchema, partitionSchema, type LocalTrainingConfig } from '../sim/config-schema.js';
import AjvModule from 'ajv';
import { FedmanError } from '../util/errors.js';
import type { PartitionConfig } from '../sim/config-schema.js';
import { createStrategy } from '../fl/index.js';
import { defenseProblems, dpSchema, robustSchema, type DpConfig, type RobustConfig } from '../fl/defense/config.js';

/** The federation's data, for clients that join with `--client-index i` (as in a simulation config). */
export interface FederationDataSpec {
  /** Dataset spec (see `loadDataset`). */
  data: string;
  limit: number | null;
  testLimit: number | null;
  normalize: boolean;
  partition: PartitionConfig;
}

/** Server-side evaluation of each round's global model. */
export interface EvaluationSpec {
  /** Dataset spec; its test split is used. */
  data: string;
  limit: number | null;
  testLimit: number | null;
  normalize: boolean;
  batchSize: number;
  /** Evaluate every k rounds (and after the last round). */
  every: number;
  /**
   * Top Hessian eigenvalue of the global model's cross-entropy on the first `samples` evaluation samples (power
   * iteration), every k rounds and after the last; null: not computed.
   */
  flatness: { every: number; samples: number; maxIter: number; tol: number } | null;
}

export interface ServerConfig extends LocalTrainingConfig {
  /** Federation name (shown to clients and in the status). */
  name: string;
  /** Zoo model name or .onnx path; artifacts are built into the state directory. */
  model: string;
  /** Seed of the zoo model's initial weights (null = `seed`). */
  modelSeed: number | null;
  /** Output classes of a zoo model (null = the zoo default). */
  numClasses: number | null;
  manLayers: 'auto' | 'none' | string[];
  algorithm: string;
  algorithmOptions: Record<string, number | string | boolean>;
  /**
   * Robust aggregation of the uploaded parameters and norm bounding of the updates (default: the algorithm's plain
   * streamed mean). Rules other than 'mean' hold every accepted update of a round in memory (O(updates × model)).
   */
  robust: RobustConfig;
  /** Central differential privacy (DP-FedAvg with an RDP accountant; ε per round in the history); null = off. */
  dp: DpConfig | null;
  /** MAN strength ζ (0 = the plain algorithm). */
  man: number;
  /** Client slots N: ids 0..N−1 (strategies such as SCAFFOLD and FedDyn need N). */
  clients: number;
  /** A fixed number of clients per round, sampled among the connected ones (null = use `fraction`). */
  clientsPerRound: number | null;
  /** Each connected client joins a round with this probability (when `clientsPerRound` is null). */
  fraction: number;
  /** Connected clients needed before a round starts (null = clientsPerRound, else all N). */
  minAvailable: number | null;
  /** Accepted updates needed to aggregate when the deadline passes. */
  minClients: number;
  rounds: number;
  /** Seconds a round waits for its participants' updates. */
  roundDeadline: number;
  /** Times a round's deadline is extended when fewer than `minClients` updates arrived, before it restarts. */
  maxExtensions: number;
  /** Seed: participant sampling, client shuffling, the data partition, initial weights. */
  seed: number;
  shuffle: boolean;
  data: FederationDataSpec | null;
  evaluation: EvaluationSpec | null;
  /**
   * Model serving (Open Inference Protocol /v2): on by default; intra-op threads per session; dynamic batching of
   * concurrent requests into one run (at most maxBatch rows, waiting at most maxDelayMs for more) or null.
   */
  serving: { enabled: boolean; threads: number; batching: { maxBatch: number; maxDelayMs: number } | null };
  /**
   * Bearer tokens per scope: plain strings, 'sha256:<hex digest>' or 'env:<VARIABLE>'. A scope without tokens is
   * open (no authentication). An admin token is accepted for every scope.
   */
  tokens: { client: string[]; inference: string[]; admin: string[] };
  /** Browser origins allowed by CORS ('*' = any). */
  cors: { origins: string[] };
  limits: {
    /** Largest JSON request body (bytes); parameter uploads are limited to the model's size. */
    jsonBodyBytes: number;
    /** Longest long-poll of POST /v1/task (seconds). */
    longPollSeconds: number;
    /** A client counts as connected this long after its last request (seconds). */
    connectedSeconds: number;
    /**
     * Update uploads whose bodies are read at once; later ones wait unread (TCP holds them), so ingestion memory
     * is O(concurrentUploads × model), not O(clients × model).
     */
    concurrentUploads: number;
  };
  /** Serve /metrics without a token. */
  publicMetrics: boolean;
  /** ONNX Runtime intra-op threads of the server's trainer (evaluation, export). */
  threads: number;
}

const nullableInt = (minimum: number) => ({ type: ['integer', 'null'], minimum, default: null });
const tokenList = { type: 'array', items: { type: 'string', minLength: 1 }, default: [] as string[] };

const PARTITION_SCHEMA = partitionSchema({ scheme: 'iid' });

/** A dataset spec with its subset and normalisation (the clients' data and the server's evaluation data). */
const DATA_SOURCE_PROPERTIES = {
  data: { type: 'string', minLength: 1 },
  limit: nullableInt(1),
  testLimit: nullableInt(1),
  normalize: { type: 'boolean', default: false },
} as const;

export const SERVER_CONFIG_SCHEMA = {
  $id: 'https://fedman/server-config.json',
  type: 'object',
  additionalProperties: false,
  properties: {
    $schema: { type: 'string' },
    name: { type: 'string', default: 'fedman' },
    model: { type: 'string', minLength: 1, default: 'mlp' },
    modelSeed: { type: ['integer', 'null'], default: null },
    numClasses: nullableInt(2),
    manLayers: {
      anyOf: [{ type: 'string', enum: ['auto', 'none'] }, { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 }],
      default: 'auto',
    },
    algorithm: { type: 'string', minLength: 1, default: 'fedavg' },
    algorithmOptions: { type: 'object', additionalProperties: { type: ['number', 'string', 'boolean'] }, default: {} },
    robust: robustSchema(),
    dp: dpSchema(),
    man: { type: 'number', minimum: 0, default: 0 },
    clients: { type: 'integer', minimum: 1, default: 10 },
    clientsPerRound: nullableInt(1),
    fraction: { type: 'number', exclusiveMinimum: 0, maximum: 1, default: 1 },
    minAvailable: nullableInt(1),
    minClients: { type: 'integer', minimum: 1, default: 1 },
    rounds: { type: 'integer', minimum: 1, default: 10 },
    roundDeadline: { type: 'number', exclusiveMinimum: 0, default: 600 },
    maxExtensions: { type: 'integer', minimum: 0, default: 2 },
    ...localTrainingSchema({ localEpochs: 1, lrDecay: 1 }),
    seed: { type: 'integer', minimum: 0, default: 0 },
    shuffle: { type: 'boolean', default: true },
    data: {
      type: ['object', 'null'],
      additionalProperties: false,
      required: ['data'],
      properties: {
        ...DATA_SOURCE_PROPERTIES,
        partition: PARTITION_SCHEMA,
      },
      default: null,
    },
    evaluation: {
      type: ['object', 'null'],
      additionalProperties: false,
      required: ['data'],
      properties: {
        ...DATA_SOURCE_PROPERTIES,
        batchSize: { type: 'integer', minimum: 1, default: 500 },
        every: { type: 'integer', minimum: 1, default: 1 },
        flatness: {
          type: ['object', 'null'],
          additionalProperties: false,
          properties: {
            every: { type: 'integer', minimum: 1, default: 10 },
            samples: { type: 'integer', minimum: 1, default: 500 },
            maxIter: { type: 'integer', minimum: 1, maximum: 1000, default: 20 },
            tol: { type: 'number', exclusiveMinimum: 0, default: 1e-3 },
          },
          default: null,
        },
      },
      default: null,
    },
    serving: {
      type: 'object',
      additionalProperties: false,
      properties: {
        enabled: { type: 'boolean', default: true },
        threads: { type: 'integer', minimum: 1, default: 1 },
        batching: {
          type: ['object', 'null'],
          additionalProperties: false,
          required: ['maxBatch'],
          properties: { maxBatch: { type: 'integer', minimum: 1, maximum: 4096 }, maxDelayMs: { type: 'number', minimum: 0, maximum: 1000, default: 2 } },
          default: null,
        },
      },
      default: {},
    },
    tokens: {
      type: 'object',
      additionalProperties: false,
      properties: { client: tokenList, inference: tokenList, admin: tokenList },
      default: {},
    },
    cors: {
      type: 'object',
      additionalProperties: false,
      properties: { origins: { type: 'array', items: { type: 'string', minLength: 1 }, default: [] } },
      default: {},
    },
    limits: {
      type: 'object',
      additionalProperties: false,
      properties: {
        jsonBodyBytes: { type: 'integer', minimum: 1024, default: 1_048_576 },
        longPollSeconds: { type: 'number', exclusiveMinimum: 0, maximum: 600, default: 30 },
        connectedSeconds: { type: 'number', exclusiveMinimum: 0, default: 90 },
        concurrentUploads: { type: 'integer', minimum: 1, default: 16 },
      },
      default: {},
    },
    publicMetrics: { type: 'boolean', default: false },
    threads: { type: 'integer', minimum: 0, default: 1 },
  },
} as const;

const Ajv = AjvModule.default;
const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });
const validate = ajv.compile(SERVER_CONFIG_SCHEMA);


/**
 * Validates a raw server config, fills in every default and resolves the algorithm's options (a new object).
 * Throws a FedmanError naming each problem's field.
 */
export function validateServerConfig(raw: unknown, where = 'server config'): ServerConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new FedmanError(`${where}: expected a JSON object`);
  const copy = JSON.parse(JSON.stringify(raw)) as Record<string, unknown>;
  if (!validate(copy)) {
    const lines = describeAjvErrors(validate.errors ?? [], { manLayers: "'auto', 'none' or a non-empty list of tensor names" });
    throw new FedmanError(`${where}: ${lines.join('; ')}`, { errors: validate.errors });
  }
  delete copy.$schema;
  const c = copy as unknown as ServerConfig;
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
  const ordered: Record<string, unknown> = {};
  for (const k of Object.keys(SERVER_CONFIG_SCHEMA.properties)) if (k in copy) ordered[k] = copy[k];
  return ordered as unknown as ServerConfig;
}

/** Connected clients a round needs before it starts. */
export function minAvailableOf(c: ServerConfig): number {
  return c.minAvailable ?? c.clientsPerRound ?? c.clients;
}

/**
 * Fields that do not change the trained model: they may differ when a server restarts on an existing state
 * directory (everything else must match the state's config).
 */
export const NON_RESULT_SERVER_FIELDS: readonly (keyof ServerConfig)[] = [
  'name', 'rounds', 'roundDeadline', 'maxExtensions', 'minAvailable', 'minClients', 'evaluation', 'tokens', 'cors', 'limits', 'publicMetrics', 'threads', 'serving',
];

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
  return v;
}

/** Fields (top-level) whose values differ between two configs, ignoring {@link NON_RESULT_SERVER_FIELDS}. */
export function serverConfigDiffs(a: ServerConfig, b: ServerConfig): string[] {
  const out: string[] = [];
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if ((NON_RESULT_SERVER_FIELDS as readonly string[]).includes(k)) continue;
    const va = (a as unknown as Record<string, unknown>)[k], vb = (b as unknown as Record<string, unknown>)[k];
    if (JSON.stringify(canonical(va)) !== JSON.stringify(canonical(vb))) out.push(k);
  }
  return out;
}

/** A config with secrets removed (tokens replaced by their count), for status pages and logs. */
export function redactedConfig(c: ServerConfig): Record<string, unknown> {
  return { ...c, tokens: { client: c.tokens.client.length, inference: c.tokens.inference.length, admin: c.tokens.admin.length } };
}
