/** The binary downloads of the client protocol: artifacts, parameter versions, client inputs, client data. */
import { Type, type Static } from 'typebox';
import { ClientId } from './common.js';

export const ArtifactFileParams = Type.Object({
  // One optional directory level: ORT's training files are served as 'ort-training/<file>' (URL-encoded slash).
  file: Type.String({ minLength: 1, maxLength: 128, pattern: '^([A-Za-z0-9_-][A-Za-z0-9._-]*/)?[A-Za-z0-9._-]+$' }),
});

/** GET /v1/params?version= (default: the current version). */
export const ParamsQuery = Type.Object({ version: Type.Optional(Type.Integer({ minimum: 0 })) }, { additionalProperties: false });
export type ParamsQuery = Static<typeof ParamsQuery>;

/** GET /v1/client-inputs/:kind — a client-term input (e.g. SCAFFOLD's `correction`) of the round in progress. */
export const ClientInputParams = Type.Object({
  kind: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_]+$' }),
});
export const ClientInputQuery = Type.Object({
  clientId: ClientId,
  round: Type.Integer({ minimum: 1 }),
  attempt: Type.Integer({ minimum: 0, default: 0 }),
}, { additionalProperties: false });
export type ClientInputQuery = Static<typeof ClientInputQuery>;

/** GET /v1/client-data?clientId= — the client's samples of the published data spec (safetensors). */
export const ClientDataQuery = Type.Object({ clientId: ClientId }, { additionalProperties: false });
export type ClientDataQuery = Static<typeof ClientDataQuery>;

/** GET /v1 and GET /v1/health. */
export const ProtocolInfo = Type.Object({
  protocol: Type.String(), version: Type.Integer(), federation: Type.String(), docs: Type.String(),
});
export const Health = Type.Object({ ok: Type.Boolean(), phase: Type.String() });
