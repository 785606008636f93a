/**
 * The simulation checkpoint, written atomically after every round: one safetensors file holding the global model,
 * the strategy's server vectors and (with the in-memory client-state store) every client's state, with the rest
 * (round, config, RNG state, server scalars, per-round metrics) as JSON in the metadata.
 */
import path from 'node:path';
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from '../runtime/safetensors.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { FedmanError } from '../util/errors.js';
import type { ClientState, ServerState } from '../fl/strategy.js';
import type { SimConfig } from './config-schema.js';
import type { RoundMetrics } from './report.js';
import { readFileIfExists } from '../util/read-if-exists.js';

export const CHECKPOINT_FILE = 'checkpoint.safetensors';
const FORMAT = 'fedman-sim-checkpoint';
const VERSION = '1';

export interface Checkpoint {
  /** Last completed round. */
  round: number;
  config: SimConfig;
  global: Float32Array;
  server: ServerState;
  /** State of the participant-sampling RNG after `round`. */
  rng: (number | null)[];
  metrics: RoundMetrics[];
  /** Seconds spent so far, over all runs (for total wall time). */
  elapsed: number;
  /** When each run (first and resumed ones) started, and at which round. */
  runs: { startedAt: string; fromRound: number }[];
  /** Client states (in-memory store only), with the round each was written in. */
  clients?: Map<number, { round: number; state: ClientState }>;
}

export function checkpointPath(out: string): string {
  return path.join(out, CHECKPOINT_FILE);
}

export async function writeCheckpoint(out: string, c: Checkpoint): Promise<void> {
  const n = c.global.length;
  const t = new Map<string, NamedTensor>();
  t.set('global', { dims: [n], data: c.global });
  for (const [k, v] of Object.entries(c.server.vectors)) t.set(`server/${k}`, { dims: [v.length], data: v });
  const clientRounds: Record<string, number> = {};
  for (const [id, { round, state }] of c.clients ?? []) {
    clientRounds[id] = round;
    for (const [k, v] of Object.entries(state)) t.set(`client/${id}/${k}`, { dims: [v.length], data: v });
  }
  const meta = {
    round: c.round, config: c.config, rng: c.rng, serverScalars: c.server.scalars, metrics: c.metrics, elapsed: c.elapsed, runs: c.runs,
    clientRounds: c.clients ? clientRounds : null,
  };
  await writeFileAtomic(checkpointPath(out), encodeSafetensors(t, { format: FORMAT, version: VERSION, state: JSON.stringify(meta) }));
}

/** Reads `<out>/checkpoint.safetensors`, or returns null when there is none. */
export async function readCheckpoint(out: string): Promise<Checkpoint | null> {
  const file = checkpointPath(out);
  const bytes = await readFileIfExists(file);
  if (!bytes) return null;
  const { tensors, metadata } = decodeSafetensors(bytes, `checkpoint '${file}'`);
  if (metadata.format !== FORMAT) throw new FedmanError(`'${file}' is not a fedman simulation checkpoint`);
  if (metadata.version !== VERSION) throw new FedmanError(`'${file}': checkpoint version ${metadata.version} is not supported (expected ${VERSION})`);
  const meta = JSON.parse(metadata.state ?? '{}') as {
    round: number; config: SimConfig; rng: (number | null)[]; serverScalars: Record<string, number>; metrics: RoundMetrics[];
    elapsed: number; runs: { startedAt: string; fromRound: number }[]; clientRounds: Record<string, number> | null;
  };
  const global = tensors.get('global')?.data;
  if (!global) throw new FedmanError(`'${file}' lacks the global model`);
  const vectors: Record<string, Float32Array> = {};
  let clients: Map<number, { round: number; state: ClientState }> | undefined;
  if (meta.clientRounds) {
    clients = new Map();
    for (const [id, round] of Object.entries(meta.clientRounds)) clients.set(Number(id), { round, state: {} });
  }
  for (const [name, t] of tensors) {
    if (name.startsWith('server/')) vectors[name.slice(7)] = t.data;
    else if (name.startsWith('client/')) {
      const [, id, key] = name.split('/');
      const entry = clients?.get(Number(id));
      if (!entry || !key) throw new FedmanError(`'${file}': unexpected tensor '${name}'`);
      entry.state[key] = t.data;
    }
  }
  return {
    round: meta.round, config: meta.config, global, server: { vectors, scalars: meta.serverScalars ?? {} }, rng: meta.rng,
    metrics: meta.metrics ?? [], elapsed: meta.elapsed ?? 0, runs: meta.runs ?? [], clients,
  };
}
