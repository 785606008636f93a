/**
 * The Open Inference Protocol (KServe V2) REST messages fedman serves under /v2 (docs/protocol.md, "Model
 * serving"). Infer requests and responses are JSON, optionally followed by raw tensor bytes (the binary tensor
 * extension), so the codec (src/server/inference/codec.ts) validates them against the model itself; their JSON
 * part is described by {@link InferRequest} / {@link InferResponse}.
 */
import { Type, type Static } from 'typebox';

export const ServerMetadata = Type.Object({ name: Type.String(), version: Type.String(), extensions: Type.Array(Type.String()) });
export const Live = Type.Object({ live: Type.Boolean() });
export const Ready = Type.Object({ ready: Type.Boolean() });

/** A model input or output as declared by the model; -1 = a variable dimension. */
export const TensorMetadata = Type.Object({ name: Type.String(), datatype: Type.String(), shape: Type.Array(Type.Integer()) });
export type TensorMetadata = Static<typeof TensorMetadata>;

/** `/v2/models/:name…` (the latest version). */
export const ModelParams = Type.Object({ name: Type.String({ minLength: 1 }) });
/** `/v2/models/:name/versions/:version…`. */
export const ModelVersionParams = Type.Object({ name: Type.String({ minLength: 1 }), version: Type.String({ minLength: 1 }) });
export type ModelParams = Static<typeof ModelParams> & { version?: string };

export const ModelMetadata = Type.Object({
  name: Type.String(),
  versions: Type.Array(Type.String()),
  platform: Type.String(),
  inputs: Type.Array(TensorMetadata),
  outputs: Type.Array(TensorMetadata),
});
export type ModelMetadata = Static<typeof ModelMetadata>;

export const ModelReady = Type.Object({ name: Type.String(), ready: Type.Boolean() });

const Parameters = Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()]));
/** Tensor data: row-major, flat or nested; absent when the bytes follow the JSON (binary extension). */
const TensorData = Type.Array(Type.Unknown());

export const InferRequest = Type.Object({
  id: Type.Optional(Type.String()),
  parameters: Type.Optional(Parameters),
  inputs: Type.Array(Type.Object({
    name: Type.String(), shape: Type.Array(Type.Integer()), datatype: Type.String(),
    parameters: Type.Optional(Parameters), data: Type.Optional(TensorData),
  })),
  outputs: Type.Optional(Type.Array(Type.Object({ name: Type.String(), parameters: Type.Optional(Parameters) }))),
});
export type InferRequest = Static<typeof InferRequest>;

export const InferResponse = Type.Object({
  model_name: Type.String(),
  model_version: Type.Optional(Type.String()),
  id: Type.Optional(Type.String()),
  outputs: Type.Array(Type.Object({
    name: Type.String(), shape: Type.Array(Type.Integer()), datatype: Type.String(),
    parameters: Type.Optional(Parameters), data: Type.Optional(TensorData),
  })),
});
export type InferResponse = Static<typeof InferResponse>;
