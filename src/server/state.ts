/**
 * The server's durable state, all under one state directory and every file written atomically (temp file, fsync,
 * rename, directory fsync) before the request that caused it is answered:
 *
 *   config.json              the federation config (tokens removed); a restart must use a compatible config
 *   server.lock              pid of the running server (a stale lock of a dead process is taken over)
 *   artifacts/               train-step/eval/forward graphs + manifest, built once (served to clients)
 *   clients.json             joined clients: id, name, key digest
 *   control.json             paused / stopped flags set by the admin
 *   checkpoint.safetensors   after each completed round: global model, strategy server state, sampling RNG,
 *                            per-round records (the commit point of a round)
 *   round.json               the round in progress: number, attempt, participants, RNG state after sampling
 *   updates/                 accepted updates of the round in progress, one file per client
 *                            (r<round>-a<attempt>-c<id>.safetensors: parameters + upload metadata)
 *   client-state/            per-client strategy state (DiskStateStore, versioned by round)
 *   models/                  model versions (see model-versions.ts)
 *
 * Restart = read the checkpoint (round R), drop anything newer than R that is not the round in progress, reload
 * round R+1's participants and accepted updates. Aggregation reads the accepted updates in client-id order, so
 * the result does not depend on arrival order, on restarts, or on which updates were re-sent.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from '../runtime/safetensors.js';
import { readFileIfExists } from '../util/read-if-exists.js';
import { removeStaleTempFiles, writeFileAtomic } from '../util/atomic-write.js';
import { FedmanError } from '../util/errors.js';
import { decodeRoundCheckpoint, encodeRoundCheckpoint, type CheckpointKind, type RoundState } from '../fl/round/index.js';
import type { EvalResult, RoundRecord, UploadMeta } from '../protocol/index.js';
import type { ServerConfig } from '../config/index.js';

export const STATE_FILES = {
  config: 'config.json',
  lock: 'server.lock',
  artifacts: 'artifacts',
  clients: 'clients.json',
  control: 'control.json',
  checkpoint: 'checkpoint.safetensors',
  round: 'round.json',
  updates: 'updates',
  clientState: 'client-state',
  models: 'models',
} as const;

export type { UploadMeta, RoundRecord } from '../protocol/index.js';

/** The round state after the last completed round (0: none yet; `global` is then the initial model), and the records. */
export interface ServerCheckpoint extends RoundState {
  records: RoundRecord[];
  /** Evaluation of the initial model, when configured. */
  initialEval?: EvalResult;
}

/** The round in progress. */
export interface RoundFile {
  round: number;
  /** Restart count within the round (see docs/protocol.md: deadlines). */
  attempt: number;
  participants: number[];
  /** Sampling RNG state after drawing this attempt's participants. */
  rng: (number | null)[];
  lr: number;
  startedAt: string;
}

export interface ClientRecord {
  id: number;
  name: string;
  /** SHA-256 (hex) of the client's key, when it registered one. */
  keyDigest: string | null;
  joinedAt: string;
}

export interface ControlFile { paused: boolean; stopped: boolean }

const CHECKPOINT: CheckpointKind = { format: 'fedman-server-checkpoint', version: '1', label: 'server' };

/** What the server adds to the round state's metadata. */
interface ServerMeta { records: RoundRecord[]; initialEval: EvalResult | null }

async function readJson<T>(file: string): Promise<T | null> {
  const bytes = await readFileIfExists(file);
  if (!bytes) return null;
  try { return JSON.parse(bytes.toString('utf8')) as T; } catch (err) {
    throw new FedmanError(`state file '${file}' is not valid JSON: ${(err as Error).message}`);
  }
}

const json = (v: unknown) => JSON.stringify(v, null, 2) + '\n';

export class StateDir {
  constructor(readonly dir: string) {}

  path(name: keyof typeof STATE_FILES): string {
    return path.join(this.dir, STATE_FILES[name]);
  }

  // --- lock --------------------------------------------------------------------------------------------------

  /** Takes the state directory; fails when another live process holds it. */
  async lock(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
    const file = this.path('lock');
    const prev = await readJson<{ pid: number }>(file).catch(() => null);
    if (prev && prev.pid !== process.pid && isAlive(prev.pid)) {
      throw new FedmanError(`state directory '${this.dir}' is in use by another server (pid ${prev.pid})`);
    }
    if (prev && prev.pid === process.pid && heldHere.has(path.resolve(this.dir))) {
      throw new FedmanError(`state directory '${this.dir}' is already open in this process`);
    }
    await writeFileAtomic(file, json({ pid: process.pid, startedAt: new Date().toISOString() }));
    heldHere.add(path.resolve(this.dir));
    // Writes cut short by a kill leave only temp files behind (the real files are renamed in whole): drop them.
    this.staleTempFiles = await removeStaleTempFiles(this.dir);
  }

  /** Temp files of interrupted writes removed when the directory was locked. */
  staleTempFiles = 0;

  async unlock(): Promise<void> {
    heldHere.delete(path.resolve(this.dir));
    const prev = await readJson<{ pid: number }>(this.path('lock')).catch(() => null);
    if (prev?.pid === process.pid) await fs.rm(this.path('lock'), { force: true });
  }

  // --- config, clients, control --------------------------------------------------------------------------------

  async readConfig(): Promise<ServerConfig | null> {
    return readJson<ServerConfig>(this.path('config'));
  }

  async writeConfig(c: ServerConfig): Promise<void> {
    await writeFileAtomic(this.path('config'), json({ ...c, tokens: { client: [], inference: [], admin: [] } }));
  }

  async readClients(): Promise<ClientRecord[]> {
    return (await readJson<{ clients: ClientRecord[] }>(this.path('clients')))?.clients ?? [];
  }

  async writeClients(clients: readonly ClientRecord[]): Promise<void> {
    await writeFileAtomic(this.path('clients'), json({ clients: [...clients].sort((a, b) => a.id - b.id) }));
  }

  async readControl(): Promise<ControlFile> {
    const c = await readJson<Partial<ControlFile>>(this.path('control'));
    return { paused: c?.paused === true, stopped: c?.stopped === true };
  }

  async writeControl(c: ControlFile): Promise<void> {
    await writeFileAtomic(this.path('control'), json(c));
  }

  // --- checkpoint ---------------------------------------------------------------------------------------------

  async writeCheckpoint(c: ServerCheckpoint): Promise<void> {
    const meta: ServerMeta = { records: c.records, initialEval: c.initialEval ?? null };
    await writeFileAtomic(this.path('checkpoint'), encodeRoundCheckpoint(CHECKPOINT, c, { meta: meta as unknown as Record<string, unknown> }));
  }

  async readCheckpoint(): Promise<ServerCheckpoint | null> {
    const file = this.path('checkpoint');
    const bytes = await readFileIfExists(file);
    if (!bytes) return null;
    const { state, meta } = decodeRoundCheckpoint<ServerMeta>(CHECKPOINT, bytes, file);
    return { ...state, records: meta.records ?? [], initialEval: meta.initialEval ?? undefined };
  }

  // --- round in progress --------------------------------------------------------------------------------------

  async readRound(): Promise<RoundFile | null> {
    return readJson<RoundFile>(this.path('round'));
  }

  async writeRound(r: RoundFile): Promise<void> {
    await writeFileAtomic(this.path('round'), json(r));
  }

  async clearRound(): Promise<void> {
    await fs.rm(this.path('round'), { force: true });
    await fs.rm(this.path('updates'), { recursive: true, force: true });
  }

  // --- updates ------------------------------------------------------------------------------------------------

  updateFile(round: number, attempt: number, clientId: number): string {
    return path.join(this.path('updates'), `r${round}-a${attempt}-c${clientId}.safetensors`);
  }

  /** Durably stores an accepted update (before the upload is acknowledged). */
  async writeUpdate(meta: UploadMeta, params: Float32Array): Promise<void> {
    const t = new Map<string, NamedTensor>([['params', { dims: [params.length], data: params }]]);
    await writeFileAtomic(this.updateFile(meta.round, meta.attempt, meta.clientId), encodeSafetensors(t, { format: 'fedman-update', meta: JSON.stringify(meta) }));
  }

  async readUpdate(round: number, attempt: number, clientId: number): Promise<{ meta: UploadMeta; params: Float32Array }> {
    const file = this.updateFile(round, attempt, clientId);
    const { tensors, metadata } = decodeSafetensors(await fs.readFile(file), `update '${file}'`);
    const params = tensors.get('params')?.data;
    if (!params || metadata.format !== 'fedman-update' || !metadata.meta) throw new FedmanError(`'${file}' is not a fedman update`);
    return { meta: JSON.parse(metadata.meta) as UploadMeta, params };
  }

  /**
   * Metadata of the stored updates of (round, attempt), by client id; files of other rounds/attempts and
   * leftover temp files are removed.
   */
  async loadUpdates(round: number, attempt: number): Promise<Map<number, UploadMeta>> {
    const dir = this.path('updates');
    const out = new Map<number, UploadMeta>();
    let names: string[];
    try { names = await fs.readdir(dir); } catch { return out; }
    for (const name of names) {
      const m = /^r(\d+)-a(\d+)-c(\d+)\.safetensors$/.exec(name);
      if (!m || Number(m[1]) !== round || Number(m[2]) !== attempt) { await fs.rm(path.join(dir, name), { force: true }); continue; }
      const id = Number(m[3]);
      out.set(id, (await this.readUpdate(round, attempt, id)).meta);
    }
    return out;
  }
}

const heldHere = new Set<string>();

function isAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
