/** Shapes shared by several messages of the protocol. */
import { Type, type Static } from 'typebox';
import { StringEnum } from '../util/schema.js';

/** Every error body: `{"error": "<message naming the field or the conflict>"}`. */
export const ErrorBody = Type.Object({ error: Type.String() });
export type ErrorBody = Static<typeof ErrorBody>;

/** The standard error responses of a route (spread into its `response` schema). */
export const ERROR_RESPONSES = { '4xx': ErrorBody, '5xx': ErrorBody } as const;

/**
 * Largest count in a message (2^53 − 1). numSamples weights an update in the aggregate: an unbounded weight
 * (1e300 times a finite parameter) would overflow the sums and make the global model non-finite.
 */
export const MAX_COUNT = Number.MAX_SAFE_INTEGER;

/** A client id in a body or query. */
export const ClientId = Type.Integer({ minimum: 0 });

/** A file of the federation's artifacts. */
export const ArtifactFile = Type.Object({ name: Type.String(), size: Type.Integer(), sha256: Type.String() });
export type ArtifactFile = Static<typeof ArtifactFile>;

/** GET /v1/artifacts; also part of the join response. */
export const ArtifactsInfo = Type.Object({ id: Type.String(), files: Type.Array(ArtifactFile) });
export type ArtifactsInfo = Static<typeof ArtifactsInfo>;

/** Which training engine's artifacts: fedman's graphs, or ONNX Runtime's on-device-training files (ORT 1.17–1.19). */
export const ArtifactFormat = StringEnum(['fedman', 'ort-training'] as const);
export type ArtifactFormat = Static<typeof ArtifactFormat>;

/** GET /v1/artifacts?format=… */
export const ArtifactsQuery = Type.Object({ format: Type.Optional(ArtifactFormat) }, { additionalProperties: false });
export type ArtifactsQuery = Static<typeof ArtifactsQuery>;
