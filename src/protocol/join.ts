/** POST /v1/join: a client's identity, and what it needs to know about the federation. */
import { Type, type Static } from 'typebox';
import { PartitionedDataSpec } from '../data/published-spec.js';
import { ArtifactFormat, ArtifactsInfo } from './common.js';

export const JoinRequest = Type.Object({
  /** The identity: joining again with the same name (and key) returns the same client id. */
  name: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:@-]+$' }),
  /** A secret that later requests about this client must carry (X-Fedman-Client-Key). */
  key: Type.Optional(Type.String({ minLength: 8, maxLength: 256 })),
  /** A specific client id (it selects the data partition with `--client-index`). */
  clientIndex: Type.Optional(Type.Integer({ minimum: 0 })),
  /** The client's training engine: its artifacts come in that format ('ort-training': ORT's training API). */
  engine: Type.Optional(ArtifactFormat),
}, { additionalProperties: false });
export type JoinRequest = Static<typeof JoinRequest>;

/** The federation's data spec as clients need it for `--client-index` (partitioned exactly as the simulation). */
export const PublishedDataSpec = PartitionedDataSpec;
export type PublishedDataSpec = PartitionedDataSpec;

export const FederationInfo = Type.Object({
  name: Type.String(),
  algorithm: Type.String(),
  man: Type.Number(),
  rounds: Type.Integer(),
  clients: Type.Integer(),
  model: Type.String(),
  paramCount: Type.Integer(),
});
export type FederationInfo = Static<typeof FederationInfo>;

export const JoinResponse = Type.Object({
  clientId: Type.Integer(),
  name: Type.String(),
  rejoined: Type.Boolean(),
  federation: FederationInfo,
  artifacts: ArtifactsInfo,
  data: Type.Union([PublishedDataSpec, Type.Null()]),
  limits: Type.Object({ longPollSeconds: Type.Number(), connectedSeconds: Type.Number() }),
});
export type JoinResponse = Static<typeof JoinResponse>;
