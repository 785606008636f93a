/**
 * The simulation checkpoint, written atomically after every round: one safetensors file holding the global model,
 * the strategy's server vectors and (with the in-memory client-state store) every client's state, with the rest
 * (round, config, RNG state, server scalars, per-round metrics) as JSON in the metadata.
 */
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import { FedmanError } from '../util/errors.js';
import type { ClientState } from '../fl/strategy.js';
import { decodeRoundCheckpoint, encodeRoundCheckpoint, type CheckpointKind, type RoundMetrics, type RoundState } from '../fl/round/index.js';
import type { NamedTensor } from '../runtime/safetensors.js';
import type { SimConfig } from '../config/index.js';
import { readFileIfExists } from '../util/read-if-exists.js';

export const CHECKPOINT_FILE = 'checkpoint.safetensors';
const KIND: CheckpointKind = { format: 'fedman-sim-checkpoint', version: '1', label: 'simulation' };

/** The round state after `round`, and what the simulation adds to resume its reports. */
export interface Checkpoint extends RoundState {
  config: SimConfig;
  metrics: RoundMetrics[];
  /** Seconds spent so far, over all runs (for total wall time). */
  elapsed: number;
  /** When each run (first and resumed ones) started, and at which round. */
  runs: { startedAt: string; fromRound: number }[];
  /** Client states (in-memory store only), with the round each was written in. */
  clients?: Map<number, { round: number; state: ClientState }>;
  /** Asynchronous aggregation: earlier versions' models that clients still in flight started from. */
  versions?: Map<number, Float32Array>;
  /** SHA-256 of the fleet trace the run follows (null: none). */
  traceSha256?: string | null;
}

/** What the simulation adds to the round state's metadata. */
interface SimMeta {
  config: SimConfig;
  metrics: RoundMetrics[];
  elapsed: number;
  runs: { startedAt: string; fromRound: number }[];
  clientRounds: Record<string, number> | null;
  versions?: number[];
  traceSha256?: string | null;
}

export function checkpointPath(out: string): string {
  return path.join(out, CHECKPOINT_FILE);
}

export async function writeCheckpoint(out: string, c: Checkpoint): Promise<void> {
  const tensors = new Map<string, NamedTensor>();
  const clientRounds: Record<string, number> = {};
  for (const [id, { round, state }] of c.clients ?? []) {
    clientRounds[id] = round;
    for (const [k, v] of Object.entries(state)) tensors.set(`client/${id}/${k}`, { dims: [v.length], data: v });
  }
  for (const [v, g] of c.versions ?? []) tensors.set(`version/${v}`, { dims: [g.length], data: g });
  const meta: SimMeta = { config: c.config, metrics: c.metrics, elapsed: c.elapsed, runs: c.runs, clientRounds: c.clients ? clientRounds : null };
  if (c.versions) meta.versions = [...c.versions.keys()];
  if (c.traceSha256 !== undefined) meta.traceSha256 = c.traceSha256;
  await writeFileAtomic(checkpointPath(out), encodeRoundCheckpoint(KIND, c, { tensors, meta: meta as unknown as Record<string, unknown> }));
}

/** Reads `<out>/checkpoint.safetensors`, or returns null when there is none. */
export async function readCheckpoint(out: string): Promise<Checkpoint | null> {
  const file = checkpointPath(out);
  const bytes = await readFileIfExists(file);
  if (!bytes) return null;
  const { state, meta, tensors } = decodeRoundCheckpoint<SimMeta>(KIND, bytes, file);
  let clients: Map<number, { round: number; state: ClientState }> | undefined;
  if (meta.clientRounds) {
    clients = new Map();
    for (const [id, round] of Object.entries(meta.clientRounds)) clients.set(Number(id), { round, state: {} });
  }
  let versions: Map<number, Float32Array> | undefined;
  for (const [name, t] of tensors) {
    const [prefix, id, key] = name.split('/');
    if (prefix === 'version' && meta.versions?.includes(Number(id))) {
      (versions ??= new Map()).set(Number(id), t.data);
      continue;
    }
    if (prefix !== 'client') continue;
    const entry = clients?.get(Number(id));
    if (!entry || !key) throw new FedmanError(`'${file}': unexpected tensor '${name}'`);
    entry.state[key] = t.data;
  }
  return {
    ...state, config: meta.config!, metrics: meta.metrics ?? [], elapsed: meta.elapsed ?? 0, runs: meta.runs ?? [], clients,
    ...(versions ? { versions } : {}), ...(meta.traceSha256 !== undefined ? { traceSha256: meta.traceSha256 } : {}),
  };
}
