/** POST /v1/task: what a client is to do next (long-polled). */
import { Type, type Static } from 'typebox';
import { Nullable } from '../util/schema.js';
import { ClientId } from './common.js';

/** The query of POST /v1/task; the route bounds `timeout` by the server's `limits.longPollSeconds`. */
export function taskQuery(longPollSeconds: number) {
  return Type.Object({
    timeout: Type.Number({ minimum: 0, maximum: longPollSeconds, default: Math.min(longPollSeconds, 30) }),
  }, { additionalProperties: false });
}
export type TaskQuery = Static<ReturnType<typeof taskQuery>>;

export const TaskRequest = Type.Object({
  clientId: ClientId,
  /** The client's training samples (weights its update for strategies that ask before training). */
  numSamples: Type.Optional(Type.Integer({ minimum: 0 })),
}, { additionalProperties: false });
export type TaskRequest = Static<typeof TaskRequest>;

/** Local-training settings of a train task. */
export const TrainConfig = Type.Object({
  lr: Type.Number(),
  epochs: Type.Integer(),
  localSteps: Nullable(Type.Integer()),
  batchSize: Type.Integer(),
  /** Seed of the client's shuffling this round (null: partition order). */
  shuffleSeed: Nullable(Type.Integer()),
  /** Every hyperparameter to set on the Trainer (lr, weight_decay, clip_norm, man_zeta, momentum, strategy's). */
  hypers: Type.Record(Type.String(), Type.Number()),
  /** Client-term inputs to download from GET /v1/client-inputs/:kind (zeros for kinds not listed). */
  clientInputs: Type.Array(Type.String()),
});
export type TrainConfig = Static<typeof TrainConfig>;

export const TrainTaskMessage = Type.Object({
  type: Type.Literal('train'),
  round: Type.Integer(),
  attempt: Type.Integer(),
  /** The model version to start from (GET /v1/params?version=). */
  paramsVersion: Type.Integer(),
  /** ISO time after which the update may no longer count. */
  deadline: Type.String(),
  config: TrainConfig,
});
export type TrainTaskMessage = Static<typeof TrainTaskMessage>;

export const WaitTaskMessage = Type.Object({
  type: Type.Literal('wait'),
  /** Seconds before asking again (also the Retry-After header). */
  retryAfter: Type.Number(),
  reason: Type.String(),
});
export type WaitTaskMessage = Static<typeof WaitTaskMessage>;

export const DoneTaskMessage = Type.Object({
  type: Type.Literal('done'),
  finalVersion: Type.Integer(),
  reason: Type.String(),
});
export type DoneTaskMessage = Static<typeof DoneTaskMessage>;

export const TaskMessage = Type.Union([TrainTaskMessage, WaitTaskMessage, DoneTaskMessage]);
export type TaskMessage = Static<typeof TaskMessage>;
