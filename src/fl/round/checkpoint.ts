/**
 * The round state that a checkpoint must hold to resume a federated run exactly — the global model, the
 * strategy's server state, the participant-sampling RNG — in one safetensors encoding shared by the simulation's
 * checkpoint and the server's. Each caller adds its own tensors (e.g. in-memory client states) and JSON metadata.
 *
 * Layout: tensor `global`, tensors `server/<key>` (server vectors); metadata `format`, `version` and `state`
 * (JSON: `round`, `rng`, `serverScalars` and the caller's fields).
 */
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from '../../runtime/safetensors.js';
import { FedmanError } from '../../util/errors.js';
import type { ServerState } from '../strategy.js';

export interface RoundState {
  /** Last completed round (0: none yet; `global` is then the initial model). */
  round: number;
  global: Float32Array;
  server: ServerState;
  /** Participant-sampling RNG state after `round`. */
  rng: (number | null)[];
}

/** Which checkpoint kind a file must be, and how errors name it. */
export interface CheckpointKind {
  format: string;
  version: string;
  /** 'simulation', 'server': "'<file>' is not a fedman <label> checkpoint". */
  label: string;
}

export function encodeRoundCheckpoint(
  kind: CheckpointKind, s: RoundState, extra: { tensors?: Map<string, NamedTensor>; meta: Record<string, unknown> },
): Uint8Array {
  const t = new Map<string, NamedTensor>();
  t.set('global', { dims: [s.global.length], data: s.global });
  for (const [k, v] of Object.entries(s.server.vectors)) t.set(`server/${k}`, { dims: [v.length], data: v });
  for (const [k, v] of extra.tensors ?? []) t.set(k, v);
  const meta = { round: s.round, rng: s.rng, serverScalars: s.server.scalars, ...extra.meta };
  return encodeSafetensors(t, { format: kind.format, version: kind.version, state: JSON.stringify(meta) });
}

export interface DecodedRoundCheckpoint<M> {
  state: RoundState;
  /** The caller's metadata fields. */
  meta: M;
  /** Tensors other than the round state's. */
  tensors: Map<string, NamedTensor>;
}

export function decodeRoundCheckpoint<M extends object>(kind: CheckpointKind, bytes: Uint8Array, file: string): DecodedRoundCheckpoint<Partial<M>> {
  const { tensors, metadata } = decodeSafetensors(bytes, `checkpoint '${file}'`);
  if (metadata.format !== kind.format) throw new FedmanError(`'${file}' is not a fedman ${kind.label} checkpoint`);
  if (metadata.version !== kind.version) {
    throw new FedmanError(`'${file}': checkpoint version ${metadata.version} is not supported (expected ${kind.version})`);
  }
  const { round, rng, serverScalars, ...meta } = JSON.parse(metadata.state ?? '{}') as {
    round: number; rng: (number | null)[]; serverScalars?: Record<string, number>;
  } & Partial<M>;
  const global = tensors.get('global')?.data;
  if (!global) throw new FedmanError(`'${file}' lacks the global model`);
  const vectors: Record<string, Float32Array> = {};
  const rest = new Map<string, NamedTensor>();
  for (const [name, t] of tensors) {
    if (name === 'global') continue;
    if (name.startsWith('server/')) vectors[name.slice(7)] = t.data;
    else rest.set(name, t);
  }
  return { state: { round, global, server: { vectors, scalars: serverScalars ?? {} }, rng }, meta: meta as unknown as Partial<M>, tensors: rest };
}
