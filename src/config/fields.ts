/**
 * The config fields the simulation config and the server config share, each defined once (TypeBox schemas, from
 * which the TypeScript types are derived): the model, the federated algorithm, client sampling and the clients'
 * local training. A field means the same in both configs, so a deployment whose clients all stay connected trains
 * exactly the model `fedman simulate` trains with the same fields.
 */
import { Type, type Static } from 'typebox';
import { DpConfigOrNull, RobustConfig } from '../fl/defense/config.js';
import { Nullable, StringEnum } from '../util/schema.js';
import { LOSS_KINDS } from '../training/loss.js';

export const nullableInt = (minimum: number) => Nullable(Type.Integer({ minimum }), { default: null });

/** Layers MAN penalises: 'auto', 'none' or tensor names. */
export const ManLayers = Type.Union([
  StringEnum(['auto', 'none'] as const),
  Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
], { default: 'auto' });

/** The model and its MAN layers. */
export const MODEL_FIELDS = {
  /** Zoo model name or .onnx path. */
  model: Type.String({ minLength: 1, default: 'mlp' }),
  /** Seed of the zoo model's initial weights (null = `seed`). */
  modelSeed: Nullable(Type.Integer(), { default: null }),
  manLayers: ManLayers,
  /** The training loss (`fedman artifacts --loss`); datasets with target tensors need bce, l2, l1, ctc or cross-entropy over an axis. */
  loss: StringEnum(LOSS_KINDS, { default: 'cross-entropy' }),
  /** The output's class axis for cross-entropy and ctc (null = the loss's default). */
  classAxis: Nullable(Type.Integer(), { default: null }),
};

/** A config written before `loss` and `classAxis` existed trained a classifier: the defaults. */
export function withLossDefaults<C extends object>(c: C): C {
  return { loss: 'cross-entropy', classAxis: null, ...c };
}

/** A dataset spec with its subset and normalisation. */
export const DATA_SOURCE_FIELDS = {
  /** Dataset spec (see `loadDataset`). */
  data: Type.String({ minLength: 1 }),
  /** Use only the first N training samples (null = all). */
  limit: nullableInt(1),
  /** Use only the first N test samples (null = as `limit`, or all). */
  testLimit: nullableInt(1),
  /** Per-channel normalisation with the dataset's standard statistics. */
  normalize: Type.Boolean({ default: false }),
};

/** The federated algorithm, composed with MAN and the defense layer. */
export const ALGORITHM_FIELDS = {
  /** MAN strength ζ (0 = the plain algorithm). */
  man: Type.Number({ minimum: 0, default: 0 }),
  algorithm: Type.String({ minLength: 1, default: 'fedavg' }),
  /** Options of the algorithm (defaults filled in by the algorithm). */
  algorithmOptions: Type.Unsafe<Record<string, number | string | boolean>>({
    type: 'object', additionalProperties: { type: ['number', 'string', 'boolean'] }, default: {},
  }),
  /** Robust aggregation of the clients' parameters and norm bounding of their updates (default: the plain mean). */
  robust: RobustConfig,
  /** Central differential privacy (DP-FedAvg: clip, uniform mean, Gaussian noise, RDP accountant); null = off. */
  dp: DpConfigOrNull,
};

/** Who takes part in a round: N clients, a fixed number per round or each with a probability. */
export function samplingFields(defaults: { clients: number; participation: number }) {
  return {
    /** Clients N (ids 0..N−1). */
    clients: Type.Integer({ minimum: 1, default: defaults.clients }),
    /** Each client joins a round independently with this probability (redrawn when nobody joins). */
    participation: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: defaults.participation }),
    /** A fixed number of clients per round, sampled without replacement (overrides `participation`). */
    clientsPerRound: nullableInt(1),
  };
}

/** The clients' local training (lr in round r, 1-based, is lr · lrDecay^(r − 1)). */
export function localTrainingFields(defaults: { localEpochs: number; lrDecay: number }) {
  return {
    localEpochs: Type.Integer({ minimum: 1, default: defaults.localEpochs }),
    /** Local SGD steps per round instead of epochs (null = use `localEpochs`). */
    localSteps: Nullable(Type.Integer({ minimum: 1 }), { default: null }),
    batchSize: Type.Integer({ minimum: 1, default: 50 }),
    lr: Type.Number({ exclusiveMinimum: 0, default: 0.1 }),
    lrDecay: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: defaults.lrDecay }),
    weightDecay: Type.Number({ minimum: 0, default: 1e-3 }),
    /** Clip the loss gradient to this L2 norm (0 = off). */
    clipNorm: Type.Number({ minimum: 0, default: 10 }),
    momentum: Type.Number({ minimum: 0, maximum: 1, default: 0 }),
  };
}

const localTraining = Type.Object(localTrainingFields({ localEpochs: 1, lrDecay: 1 }));
/** The clients' local-training settings (shared by simulation and server configs). */
export type LocalTrainingConfig = Static<typeof localTraining>;

/** Seeding and shuffling. */
export const SEED_FIELDS = {
  /** Seed: participant sampling, client shuffling, the data partition, initial weights. */
  seed: Type.Integer({ minimum: 0, default: 0 }),
  /** Shuffle each client's samples every local epoch (false: partition order, for cross-checks). */
  shuffle: Type.Boolean({ default: true }),
};

/**
 * How client updates become global models: `sync` rounds (sample, wait, aggregate), or `async` buffered
 * aggregation (FedBuff, Nguyen et al., AISTATS 2022): at most `concurrency` clients train at once, each from the
 * latest version; an update is the client's delta against the version it started from, weighted by
 * `(1 + s)^-stalenessExponent` for staleness s (versions published since) and dropped when s exceeds
 * `maxStaleness`; every `bufferSize` accepted updates, their weighted mean times `serverLr` goes through the
 * algorithm's server step and a new version is published. The async fields are ignored in sync mode.
 */
export const AggregationConfig = Type.Object({
  mode: StringEnum(['sync', 'async'] as const, { default: 'sync' }),
  /** async: clients training at the same time. */
  concurrency: Type.Integer({ minimum: 1, default: 20 }),
  /** async: accepted updates per published version (FedBuff's K). */
  bufferSize: Type.Integer({ minimum: 1, default: 10 }),
  /** async: updates more than this many versions old are dropped (null = never). */
  maxStaleness: Nullable(Type.Integer({ minimum: 0 }), { default: null }),
  /** async: an update of staleness s weighs (1 + s)^-a (0.5: FedBuff's 1/√(1 + s); 0 = no discount). */
  stalenessExponent: Type.Number({ minimum: 0, maximum: 10, default: 0.5 }),
  /** async: the buffered mean delta is scaled by this before the algorithm's server step. */
  serverLr: Type.Number({ exclusiveMinimum: 0, default: 1 }),
}, { additionalProperties: false, default: {} });
export type AggregationConfig = Static<typeof AggregationConfig>;

export const DEFAULT_AGGREGATION: Readonly<AggregationConfig> = Object.freeze({
  mode: 'sync', concurrency: 20, bufferSize: 10, maxStaleness: null, stalenessExponent: 0.5, serverLr: 1,
});

