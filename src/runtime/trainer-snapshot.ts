/**
 * A trainer's state as bytes: the safetensors checkpoint (parameters, optimiser state, BN buffers, step count) and
 * the forward model with the current weights. Pure functions of host-side tensor data: browser-safe.
 */
import type { ArtifactManifest } from '../training/manifest.js';
import { stateName } from '../training/names.js';
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from './safetensors.js';
import { encodeModel } from '../onnx/model-codec.js';
import type { ModelProto } from '../onnx/proto.js';
import { float32Tensor } from '../onnx/tensor.js';
import { FedmanError } from '../util/errors.js';

/** Host data of a trainer's tensors by name: parameters, `<param>__<state>` and buffers. */
export type HostData = (name: string) => Float32Array;

export function encodeCheckpoint(m: ArtifactManifest, data: HostData, steps: number): Uint8Array {
  const tensors = new Map<string, NamedTensor>();
  for (const p of m.params) {
    tensors.set(p.name, { dims: p.dims, data: data(p.name) });
    for (const s of m.stateNames) tensors.set(stateName(p.name, s), { dims: p.dims, data: data(stateName(p.name, s)) });
  }
  for (const x of m.buffers ?? []) tensors.set(x.name, { dims: x.dims, data: data(x.name) });
  return encodeSafetensors(tensors, { format: 'fedman-checkpoint', model: m.model, optimizer: m.optimizer, steps: String(steps) });
}

export interface CheckpointContents {
  /** Every tensor a trainer holds, checked against the manifest's sizes, with its dims. */
  tensors: Map<string, { data: Float32Array; dims: number[] }>;
  steps: number;
}

export function decodeCheckpoint(m: ArtifactManifest, bytes: Uint8Array | ReturnType<typeof decodeSafetensors>, where: string): CheckpointContents {
  const { tensors, metadata } = bytes instanceof Uint8Array ? decodeSafetensors(bytes, where) : bytes;
  if (metadata.optimizer && metadata.optimizer !== m.optimizer) {
    throw new FedmanError(`${where} was written for optimizer '${metadata.optimizer}', these artifacts use '${m.optimizer}'`);
  }
  const out = new Map<string, { data: Float32Array; dims: number[] }>();
  const get = (k: string, dims: number[]) => {
    const t = tensors.get(k);
    if (!t) throw new FedmanError(`${where} lacks tensor '${k}'`);
    if (t.data.length !== dims.reduce((a, b) => a * b, 1)) throw new FedmanError(`${where}: tensor '${k}' has the wrong size`);
    out.set(k, { data: t.data, dims });
  };
  for (const p of m.params) {
    get(p.name, p.dims);
    for (const s of m.stateNames) get(stateName(p.name, s), p.dims);
  }
  for (const x of m.buffers ?? []) get(x.name, x.dims);
  return { tensors: out, steps: Number(metadata.steps ?? 0) };
}

/** The plain forward model with the current weights as initializers (original names kept), encoded as ONNX. */
export function encodeInference(m: ArtifactManifest, forward: ModelProto, data: HostData): Uint8Array {
  const byName = new Map(m.params.map((p) => [p.name, p]));
  const buffers = new Map((m.buffers ?? []).map((x) => [x.name, x]));
  const graph = forward.graph!;
  const original = graph.initializer;
  // Swap the initializers in only for the (synchronous) encode, so the kept forward model stays pristine.
  graph.initializer = (original ?? []).map((t) => {
    const p = byName.get(t.name!) ?? buffers.get(t.name!);
    return p ? float32Tensor(p.name, p.dims, data(p.name)) : t;
  });
  try { return encodeModel(forward); } finally { graph.initializer = original; }
}
