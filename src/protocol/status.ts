/** The admin routes' messages: the federation's status (what the dashboard draws), control, model versions. */
import { Type, type Static } from 'typebox';
import { RoundMetrics } from '../fl/round/metrics.js';
import { Nullable, StringEnum } from '../util/schema.js';

const { evalSeconds: _evalSeconds, ...roundMetrics } = RoundMetrics.properties;

/**
 * One completed round of a federation: the simulation's round metrics (participants = clients sampled; seconds =
 * from the round's start to its checkpoint, this run only after a restart) plus what a live federation adds.
 */
export const RoundRecord = Type.Object({
  ...roundMetrics,
  attempt: Type.Integer(),
  /** Clients whose updates were aggregated (sorted). */
  aggregated: Type.Array(Type.Integer()),
  /** uploadId of each aggregated client (so a retried upload of a closed round is recognised). */
  uploads: Type.Record(Type.String(), Type.String()),
  aggregationSeconds: Type.Number(),
  completedAt: Type.String(),
  /** Top Hessian eigenvalue of the global model's cross-entropy on the evaluation data (with `evaluation.flatness`). */
  topEigenvalue: Type.Optional(Type.Number()),
});
export type RoundRecord = Static<typeof RoundRecord>;

export const EvalResult = Type.Object({ testLoss: Type.Number(), testAccuracy: Type.Number() });
export type EvalResult = Static<typeof EvalResult>;

export const PHASES = ['idle', 'training', 'aggregating', 'done'] as const;
export type Phase = (typeof PHASES)[number];

/** GET /v1/admin/status. */
export const FederationStatus = Type.Object({
  federation: Type.String(),
  algorithm: Type.String(),
  algorithmOptions: Type.Record(Type.String(), Type.Union([Type.Number(), Type.String(), Type.Boolean()])),
  man: Type.Number(),
  phase: StringEnum(PHASES),
  paused: Type.Boolean(),
  stopped: Type.Boolean(),
  failure: Nullable(Type.String()),
  /** The last 'disk full' error while persisting the round state (retried every few seconds), or null. */
  storageProblem: Nullable(Type.String()),
  rounds: Type.Integer(),
  completedRounds: Type.Integer(),
  round: Type.Union([Type.Object({
    round: Type.Integer(), attempt: Type.Integer(), participants: Type.Array(Type.Integer()), accepted: Type.Array(Type.Integer()),
    deadline: Type.String(), extensions: Type.Integer(), startedAt: Type.String(), lr: Type.Number(),
  }), Type.Null()]),
  clients: Type.Array(Type.Object({ id: Type.Integer(), name: Type.String(), connected: Type.Boolean(), lastSeen: Nullable(Type.String()) })),
  /** Clients connected now, and how many a round needs before it starts. */
  connected: Type.Integer(),
  minAvailable: Type.Integer(),
  latestVersion: Nullable(Type.Integer()),
  initialEval: Type.Union([EvalResult, Type.Null()]),
  history: Type.Array(RoundRecord),
  model: Type.Object({ name: Type.String(), paramCount: Type.Integer(), artifactsId: Type.String() }),
  startedAt: Type.String(),
  /** The server config with every default, tokens replaced by their count. */
  config: Type.Record(Type.String(), Type.Unknown()),
});
export type FederationStatus = Static<typeof FederationStatus>;

/** POST /v1/admin/pause, /resume, /stop. */
export const ControlResponse = Type.Object({
  phase: StringEnum(PHASES), paused: Type.Boolean(), stopped: Type.Boolean(), completedRounds: Type.Integer(),
});
export type ControlResponse = Static<typeof ControlResponse>;

/** One model version (version 0 = the initial model, r = after round r). */
export const ModelVersionInfo = Type.Object({
  version: Type.Integer(),
  /** Round that produced it (0: the initial model). */
  round: Type.Integer(),
  createdAt: Type.String(),
  paramCount: Type.Integer(),
  /** Model name from the artifacts' manifest. */
  model: Type.String(),
  /** Server-side evaluation of this version, when configured. */
  testAccuracy: Type.Optional(Type.Number()),
  testLoss: Type.Optional(Type.Number()),
});
export type ModelVersionInfo = Static<typeof ModelVersionInfo>;

/** GET /v1/admin/models. */
export const ModelsResponse = Type.Object({ versions: Type.Array(ModelVersionInfo) });

/** GET /v1/admin/model?version=&format=. */
export const ModelExportQuery = Type.Object({
  version: Type.Optional(Type.Integer({ minimum: 0 })),
  format: StringEnum(['onnx', 'params'] as const, { default: 'onnx' }),
}, { additionalProperties: false });
export type ModelExportQuery = Static<typeof ModelExportQuery>;
