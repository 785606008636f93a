/**
 * One federation: the server side of the protocol in docs/protocol.md, independent of HTTP (the Fastify plugins
 * in plugins/ translate requests into calls here).
 *
 * Rounds. A round starts when at least `minAvailable` clients are connected (seen within
 * `limits.connectedSeconds`, or long-polling now): its participants are sampled among the connected clients
 * with the seeded sampling RNG (the simulation's own `sampleParticipants`, so with every client connected the
 * participants are those `fedman simulate` draws). Participants get a train task; each uploads its locally trained
 * parameters once. The round is aggregated when every participant's update has arrived, or at the deadline when at
 * least `minClients` arrived; otherwise the deadline is extended (up to `maxExtensions` times) and then the round
 * is restarted: a new attempt with freshly sampled participants (updates of the old attempt are discarded; its
 * late uploads get 409). Uploads for a closed round get 409.
 *
 * The strategy runs entirely here: the server computes each participant's plan (`configureClient`: hyper-
 * parameters and client-term inputs such as SCAFFOLD's correction, served by GET /v1/client-inputs) and, at
 * aggregation, each client's message and new state (`clientUpdate`) from the uploaded parameters and the
 * client's stored state. Clients therefore only train and upload parameters, whatever the algorithm, and
 * per-client state survives client restarts.
 *
 * Durability and exactness: every accepted update is written (atomic + fsync) before it is acknowledged;
 * aggregation reads the accepted updates in client-id order into float64 running sums (O(model) memory, result
 * independent of arrival order); the new model version, then the checkpoint (the commit point) are written before
 * the round is reported complete. A server killed at any moment resumes the same round with the same
 * participants and accepted updates, and ends with the model of an uninterrupted run.
 *
 * All state changes run one at a time on a serial queue; long polls only read.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import { ZOO } from '../../models/index.js';
import { loadDataset } from '../data/registry.js';
import type { Dataset } from '../data/dataset.js';
import { Rng } from '../util/rng.js';
import { createStrategy } from '../fl/index.js';
import { measureFlatness } from '../flatness/index.js';
import { DiskStateStore } from '../fl/client-state.js';
import type { ClientContext, LocalResult, RoundInfo, ServerState, Strategy } from '../fl/strategy.js';
import { Defense, samplingRateOf } from '../fl/defense/aggregator.js';
import { Trainer } from '../runtime/trainer.js';
import { SerialQueue } from '../util/serial-queue.js';
import { clientRoundSeed, evalRange } from '../sim/local.js';
import { sampleParticipants, SAMPLING_STREAM } from '../sim/sampling.js';
import { createArtifacts, readManifest } from '../training/artifacts.js';
import { MANIFEST_FILE, type ArtifactManifest } from '../training/manifest.js';
import { FedmanError, isDiskFull } from '../util/errors.js';
import { minAvailableOf, redactedConfig, serverConfigDiffs, validateServerConfig, type ServerConfig } from './config-schema.js';
import { HttpError } from './errors.js';
import { createMetrics, type ServerMetrics } from './metrics.js';
import { ModelVersions } from './model-versions.js';
import { ClientShards } from './client-shards.js';
import { StateDir, type ClientRecord, type RoundRecord, type UploadMeta } from './state.js';

export type Log = Pick<FastifyBaseLogger, 'info' | 'warn' | 'error' | 'debug'>;

const silentLog: Log = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} } as unknown as Log;

export interface FederationOptions {
  stateDir: string;
  config: ServerConfig;
  log?: Log;
  metrics?: ServerMetrics;
}

export type Phase = 'idle' | 'training' | 'aggregating' | 'done';

/** Local-training settings of a train task. */
export interface TrainConfig {
  lr: number;
  epochs: number;
  localSteps: number | null;
  batchSize: number;
  /** Seed of the client's shuffling this round (null: partition order). */
  shuffleSeed: number | null;
  /** Every hyperparameter to set on the Trainer (lr, weight_decay, clip_norm, man_zeta, momentum, strategy's). */
  hypers: Record<string, number>;
  /** Client-term inputs to download from GET /v1/client-inputs/:kind (zeros for kinds not listed). */
  clientInputs: string[];
}

export type TaskMessage =
  | { type: 'train'; round: number; attempt: number; paramsVersion: number; deadline: string; config: TrainConfig }
  | { type: 'wait'; retryAfter: number; reason: string }
  | { type: 'done'; finalVersion: number; reason: string };

export interface ArtifactFile { name: string; size: number; sha256: string }

export interface JoinRequest { name: string; key?: string; clientIndex?: number }

/** The federation's data spec as clients need it for `--client-index` (partition seeded like the simulation). */
export interface PublishedDataSpec {
  data: string; limit: number | null; testLimit: number | null; normalize: boolean;
  partition: Record<string, unknown>; numClients: number; seed: number;
}

export interface JoinResponse {
  clientId: number;
  name: string;
  rejoined: boolean;
  federation: { name: string; algorithm: string; man: number; rounds: number; clients: number; model: string; paramCount: number };
  artifacts: { id: string; files: ArtifactFile[] };
  data: PublishedDataSpec | null;
  limits: { longPollSeconds: number; connectedSeconds: number };
}

/** GET /v1/admin/status (what the dashboard draws). */
export interface FederationStatus {
  federation: string;
  algorithm: string;
  algorithmOptions: Record<string, number | string | boolean>;
  man: number;
  phase: string;
  paused: boolean;
  stopped: boolean;
  failure: string | null;
  /** The last 'disk full' error while persisting the round state (retried every few seconds), or null. */
  storageProblem: string | null;
  rounds: number;
  completedRounds: number;
  round: { round: number; attempt: number; participants: number[]; accepted: number[]; deadline: string; extensions: number; startedAt: string; lr: number } | null;
  clients: { id: number; name: string; connected: boolean; lastSeen: string | null }[];
  connected: number;
  minAvailable: number;
  latestVersion: number | null;
  initialEval: { testLoss: number; testAccuracy: number } | null;
  history: RoundRecord[];
  model: { name: string; paramCount: number; artifactsId: string };
  startedAt: string;
  config: Record<string, unknown>;
}

export interface UploadResult { accepted: true; duplicate: boolean; round: number; received: number; expected: number }

/** Resolves after notify() or the timeout or an abort, whichever is first. */
class Notifier {
  private waiters = new Set<() => void>();
  notify(): void {
    const w = [...this.waiters];
    this.waiters.clear();
    for (const f of w) f();
  }
  wait(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.waiters.add(done);
      if (signal?.aborted) done(); else signal?.addEventListener('abort', done, { once: true });
    });
  }
}

const sha256hex = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');
/** Compares two hex SHA-256 digests in constant time. */
function sameDigest(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex'), y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}
/** How soon a round step that failed on a full disk is tried again. */
const DISK_FULL_RETRY_MS = 2000;

async function exists(p: string): Promise<boolean> {
  try { await fs.access(p); return true; } catch { return false; }
}

interface RoundState {
  round: number;
  attempt: number;
  participants: number[];
  lr: number;
  startedAt: string;
  /** Accepted updates' metadata by client id (parameters live in the update files). */
  accepted: Map<number, UploadMeta>;
  deadline: number;
  extensions: number;
  t0: number;
}

export class Federation {
  readonly log: Log;
  readonly metrics: ServerMetrics;
  readonly models: ModelVersions;
  readonly strategy: Strategy;
  private readonly queue = new SerialQueue();
  private readonly changed = new Notifier();
  private phase: Phase = 'idle';
  private current: RoundState | null = null;
  private completed = 0;
  private paused = false;
  private stopped = false;
  private closed = false;
  private released = false;
  private failure: string | null = null;
  private nextAttempt = 0;
  private tickPending = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly lastSeen = new Map<number, number>();
  private shards: ClientShards | null = null;
  private readonly defense: Defense;
  /** The last storage error (full disk) of the round state machine, until a step succeeds again. */
  private storageProblem: string | null = null;
  private readonly polling = new Map<number, number>();
  private readonly reportedSamples = new Map<number, number>();
  private readonly doneSent = new Set<number>();
  private readonly hyperCache = new Map<number, Record<string, number>>();
  private readonly startedAt = new Date().toISOString();
  private doneListeners = new Set<() => void>();

  private constructor(
    readonly config: ServerConfig,
    readonly state: StateDir,
    readonly manifest: ArtifactManifest,
    readonly artifacts: { dir: string; id: string; files: ArtifactFile[] },
    private readonly trainer: Trainer,
    private readonly evalData: Dataset | null,
    private global: Float32Array,
    private server: ServerState,
    private readonly rng: Rng,
    private records: RoundRecord[],
    private initialEval: { testLoss: number; testAccuracy: number } | undefined,
    private readonly store: DiskStateStore | null,
    private clients: ClientRecord[],
    strategy: Strategy,
    log: Log,
    metrics: ServerMetrics,
  ) {
    this.strategy = strategy;
    this.log = log;
    this.metrics = metrics;
    this.models = new ModelVersions(state.path('models'));
    // The defense layer (config `robust`, `dp`) is a pass-through to the streamed float64 sums with the defaults;
    // robust rules other than the mean hold every accepted update of the round (O(updates × model)).
    this.defense = new Defense(strategy, {
      robust: config.robust, dp: config.dp, seed: config.seed, samplingRate: samplingRateOf(config.clients, config.clientsPerRound, config.fraction),
    });
  }

  /** Opens (or creates) the federation in a state directory, resuming whatever it holds. */
  static async open(opts: FederationOptions): Promise<Federation> {
    const config = opts.config;
    const log = opts.log ?? silentLog;
    const metrics = opts.metrics ?? createMetrics();
    const sd = new StateDir(path.resolve(opts.stateDir));
    await sd.lock();
    try {
      const stored = await sd.readConfig();
      if (stored) {
        // A state written by an older fedman lacks newer fields: their defaults are what it ran with.
        let resolved: ServerConfig;
        try { resolved = validateServerConfig(stored, `state '${sd.path('config')}'`); } catch { resolved = stored; }
        const diffs = serverConfigDiffs(config, resolved);
        if (diffs.length) {
          throw new FedmanError(`state directory '${sd.dir}' belongs to a federation with a different config (differs in: ${diffs.join(', ')}); use another --state, or delete it to start over`);
        }
      }
      await sd.writeConfig(config);
      const strategy = createStrategy(config.algorithm, config.algorithmOptions);

      // Artifacts (built once; reused on restart).
      const artDir = sd.path('artifacts');
      let manifest: ArtifactManifest;
      if (await exists(path.join(artDir, MANIFEST_FILE))) {
        manifest = await readManifest(artDir);
      } else {
        log.info({ model: config.model }, 'building artifacts');
        manifest = await createArtifacts(config.model, artDir, {
          ...strategy.artifactOptions, optimizer: 'sgd', manLayers: config.manLayers, seed: config.modelSeed ?? config.seed,
          numClasses: ZOO[config.model] ? config.numClasses ?? undefined : undefined,
        });
      }
      const files: ArtifactFile[] = [];
      for (const name of [MANIFEST_FILE, manifest.files.trainStep, manifest.files.eval, manifest.files.forward]) {
        const bytes = await fs.readFile(path.join(artDir, name));
        files.push({ name, size: bytes.byteLength, sha256: sha256hex(bytes) });
      }
      const artifactsId = sha256hex(files.map((f) => `${f.name}:${f.sha256}`).join('\n')).slice(0, 16);
      const trainer = await Trainer.load(artDir, { threads: config.threads });

      let evalData: Dataset | null = null;
      if (config.evaluation) {
        const e = config.evaluation;
        evalData = (await loadDataset(e.data, { limit: e.limit ?? undefined, testLimit: e.testLimit ?? undefined, normalize: e.normalize })).test;
      }

      const ckpt = await sd.readCheckpoint();
      if (ckpt && ckpt.round > config.rounds) {
        throw new FedmanError(`state directory '${sd.dir}' already holds ${ckpt.round} completed rounds, more than the ${config.rounds} configured`);
      }
      const n = manifest.paramCount;
      const global = ckpt ? ckpt.global : trainer.getParams();
      if (global.length !== n) throw new FedmanError(`checkpoint model has ${global.length} parameters; the artifacts have ${n}`);
      const server = ckpt ? ckpt.server : strategy.initServer(global, config.clients);
      const rng = new Rng(config.seed, SAMPLING_STREAM);
      if (ckpt) rng.setState(ckpt.rng);

      let store: DiskStateStore | null = null;
      if (strategy.clientStateKeys.length) {
        if (!ckpt) await fs.rm(sd.path('clientState'), { recursive: true, force: true });
        store = new DiskStateStore(sd.path('clientState'), strategy.clientStateKeys, n);
        await store.open(ckpt?.round ?? 0);
      }

      const fed = new Federation(
        config, sd, manifest, { dir: artDir, id: artifactsId, files }, trainer, evalData, global, server, rng,
        ckpt?.records ?? [], ckpt?.initialEval, store, await sd.readClients(), strategy, log, metrics,
      );
      await fed.restore(ckpt?.round ?? null);
      return fed;
    } catch (err) {
      await sd.unlock();
      throw err;
    }
  }

  /** Restores the round state from disk (or writes the initial model and checkpoint). */
  private async restore(ckptRound: number | null): Promise<void> {
    const sd = this.state;
    const hadCheckpoint = ckptRound !== null;
    if (!hadCheckpoint) {
      await this.models.load(0);
      this.initialEval = this.evalData ? await this.evaluate(this.global) : undefined;
      if (!this.models.get(0)) await this.addVersion(0, this.global, this.initialEval);
      await sd.writeCheckpoint({ round: 0, global: this.global, server: this.server, rng: this.rng.getState(), records: [], initialEval: this.initialEval });
    }
    this.completed = ckptRound ?? 0;
    await this.models.load(this.completed);
    if (!this.models.get(this.completed)) await this.addVersion(this.completed, this.global, undefined);

    const control = await sd.readControl();
    this.paused = control.paused;
    this.stopped = control.stopped;

    const rf = await sd.readRound();
    if (rf && rf.round === this.completed + 1 && rf.round <= this.config.rounds && !this.stopped) {
      this.rng.setState(rf.rng);
      const accepted = await sd.loadUpdates(rf.round, rf.attempt);
      for (const id of accepted.keys()) {
        if (!rf.participants.includes(id)) accepted.delete(id);
      }
      this.current = {
        round: rf.round, attempt: rf.attempt, participants: rf.participants, lr: rf.lr, startedAt: rf.startedAt, accepted,
        deadline: Date.now() + this.config.roundDeadline * 1000, extensions: 0, t0: performance.now(),
      };
      this.phase = 'training';
      this.log.info({ round: rf.round, attempt: rf.attempt, participants: rf.participants, accepted: [...accepted.keys()] }, 'resuming round in progress');
      this.armTimer();
    } else {
      await sd.clearRound();
    }
    if (this.stopped || this.completed >= this.config.rounds) this.phase = 'done';
    this.metrics.roundsCompleted.set(this.completed);
    this.metrics.currentRound.set(this.current?.round ?? 0);
    this.metrics.setSources({ connectedClients: () => this.connectedIds().length, joinedClients: () => this.clients.length });
    const last = [...this.records].reverse().find((r) => r.testAccuracy !== undefined);
    const acc = last?.testAccuracy ?? this.initialEval?.testAccuracy;
    if (acc !== undefined) this.metrics.globalTestAccuracy.set(acc);
    this.log.info({
      federation: this.config.name, algorithm: this.strategy.name, man: this.config.man, completedRounds: this.completed, rounds: this.config.rounds,
      paramCount: this.manifest.paramCount, phase: this.phase,
    }, hadCheckpoint ? 'federation resumed' : 'federation created');
    this.scheduleTick();
  }

  // --- helpers --------------------------------------------------------------------------------------------------

  get paramCount(): number {
    return this.manifest.paramCount;
  }

  get completedRounds(): number {
    return this.completed;
  }

  get currentPhase(): Phase {
    return this.phase;
  }

  private async evaluate(params: Float32Array): Promise<{ testLoss: number; testAccuracy: number }> {
    const data = this.evalData!;
    const r = await evalRange(this.trainer, data, params, 0, data.n, this.config.evaluation!.batchSize);
    const d = Math.max(r.samples, 1);
    return { testLoss: r.lossSum / d, testAccuracy: r.correct / d };
  }

  private async addVersion(version: number, params: Float32Array, ev: { testLoss: number; testAccuracy: number } | undefined): Promise<void> {
    await this.models.add(
      { version, round: version, createdAt: new Date().toISOString(), paramCount: params.length, model: this.manifest.model, ...(ev ?? {}) },
      params,
      async (file) => {
        this.trainer.setParams(params);
        await this.trainer.exportInference(file);
      },
    );
  }

  private client(id: number): ClientRecord {
    const c = this.clients.find((x) => x.id === id);
    if (!c) throw new HttpError(404, `unknown client ${id}; join first (POST /v1/join)`);
    return c;
  }

  /** Checks the client's key (when it registered one) and marks it as seen. */
  authenticateClient(id: number, key: string | undefined): ClientRecord {
    const c = this.client(id);
    if (c.keyDigest) {
      if (!key) throw new HttpError(403, `client ${id} registered a key; send it in the X-Fedman-Client-Key header`);
      if (!sameDigest(sha256hex(key), c.keyDigest)) throw new HttpError(403, `wrong key for client ${id}`);
    }
    this.lastSeen.set(id, Date.now());
    return c;
  }

  /** Ids of the connected clients, sorted. */
  connectedIds(): number[] {
    const now = Date.now();
    const window = this.config.limits.connectedSeconds * 1000;
    return this.clients
      .filter((c) => (this.polling.get(c.id) ?? 0) > 0 || now - (this.lastSeen.get(c.id) ?? -Infinity) <= window)
      .map((c) => c.id)
      .sort((a, b) => a - b);
  }

  private lrOf(round: number): number {
    return this.config.lr * this.config.lrDecay ** (round - 1);
  }

  private info(r: RoundState, participants: number[]): RoundInfo {
    return { round: r.round, lr: r.lr, baseLr: this.config.lr, numClients: this.config.clients, participants };
  }

  private async contextOf(r: RoundState, clientId: number, numSamples: number): Promise<ClientContext> {
    const state = this.store ? await this.store.get(clientId) : {};
    return { ...this.info(r, r.participants), clientId, numSamples, global: this.global, server: this.server, state };
  }

  private armTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (!this.current || this.closed || this.paused) return;
    const ms = Math.max(0, this.current.deadline - Date.now()) + 5;
    this.timer = setTimeout(() => { this.timer = null; this.scheduleTick(); }, ms);
    this.timer.unref();
  }

  private scheduleTick(): void {
    if (this.tickPending || this.closed) return;
    this.tickPending = true;
    void this.queue.run(async () => {
      this.tickPending = false;
      try {
        await this.tick();
        this.storageProblem = null;
      } catch (err) {
        if (!isDiskFull(err)) { this.fail(err as Error); return; }
        // A full disk is transient: nothing of the round was committed, so the same step is retried.
        this.storageProblem = (err as Error).message;
        this.log.error({ err }, `the disk is full; retrying in ${DISK_FULL_RETRY_MS / 1000} s`);
        setTimeout(() => this.scheduleTick(), DISK_FULL_RETRY_MS).unref();
      }
    });
  }

  private fail(err: Error): void {
    this.failure = err.message;
    this.log.error({ err }, 'federation failed; the server keeps serving but starts no rounds (see the admin status)');
    this.changed.notify();
  }

  // --- the round state machine (runs on the queue) ----------------------------------------------------------

  private async tick(): Promise<void> {
    if (this.closed || this.failure || this.phase === 'done' || this.phase === 'aggregating') return;
    if (this.phase === 'idle') {
      if (this.stopped || this.completed >= this.config.rounds) return this.finish();
      if (this.paused) return;
      const connected = this.connectedIds();
      if (connected.length < minAvailableOf(this.config)) return;
      await this.startRound(connected);
      return;
    }
    const r = this.current!;
    if (r.accepted.size === r.participants.length) return this.aggregate();
    if (this.paused || Date.now() < r.deadline) return;
    if (r.accepted.size >= this.config.minClients) return this.aggregate();
    if (r.extensions < this.config.maxExtensions) {
      r.extensions++;
      r.deadline = Date.now() + this.config.roundDeadline * 1000;
      this.log.warn({ round: r.round, accepted: r.accepted.size, minClients: this.config.minClients, extension: r.extensions }, 'too few updates by the deadline; extending the round');
      this.armTimer();
      return;
    }
    this.log.warn({ round: r.round, attempt: r.attempt, accepted: r.accepted.size }, 'too few updates after every extension; restarting the round with new participants');
    this.nextAttempt = r.attempt + 1;
    this.current = null;
    this.phase = 'idle';
    this.hyperCache.clear();
    await this.state.clearRound();
    this.metrics.currentRound.set(0);
    this.changed.notify();
    this.scheduleTick();
  }

  private finish(): void {
    if (this.phase !== 'done') {
      this.phase = 'done';
      this.log.info({ completedRounds: this.completed, stopped: this.stopped }, 'federation finished');
    }
    this.changed.notify();
    for (const cb of this.doneListeners) cb();
  }

  private async startRound(connected: number[]): Promise<void> {
    const round = this.completed + 1;
    const attempt = this.nextAttempt;
    const picks = sampleParticipants(this.rng, connected.length, this.config.fraction, this.config.clientsPerRound);
    const participants = picks.map((i) => connected[i]!).sort((a, b) => a - b);
    const lr = this.lrOf(round);
    const startedAt = new Date().toISOString();
    await this.state.clearRound();
    await this.state.writeRound({ round, attempt, participants, rng: this.rng.getState(), lr, startedAt });
    this.current = {
      round, attempt, participants, lr, startedAt, accepted: new Map(), deadline: Date.now() + this.config.roundDeadline * 1000, extensions: 0, t0: performance.now(),
    };
    this.hyperCache.clear();
    this.phase = 'training';
    this.metrics.currentRound.set(round);
    this.log.info({ round, attempt, participants, connected: connected.length, lr }, 'round started');
    this.armTimer();
    this.changed.notify();
  }

  /** Aggregates the round in progress; if that fails before the round is committed, the round stays open. */
  private async aggregate(): Promise<void> {
    try {
      await this.aggregateAndCommit();
    } catch (err) {
      if (this.current && this.phase === 'aggregating') this.phase = 'training';
      throw err;
    }
  }

  private async aggregateAndCommit(): Promise<void> {
    const r = this.current!;
    this.phase = 'aggregating';
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    this.changed.notify();
    const t0 = performance.now();
    const ids = [...r.accepted.keys()].sort((a, b) => a - b);
    const info = this.info(r, ids);
    const defense = this.defense;
    const acc = defense.begin(r.round, this.global);
    let loss = 0, ce = 0, man = 0, accuracy = 0, samples = 0, steps = 0;
    const uploads: Record<string, string> = {};
    for (const c of ids) {
      const { meta, params } = await this.state.readUpdate(r.round, r.attempt, c);
      const ctx = await this.contextOf(r, c, meta.numSamples);
      const result: LocalResult = {
        clientId: c, params, numSamples: meta.numSamples, steps: meta.steps, samples: meta.samples,
        loss: meta.metrics.loss, ce: meta.metrics.ce, man: meta.metrics.man, accuracy: meta.metrics.accuracy, seconds: meta.seconds,
      };
      const { state, message } = this.strategy.clientUpdate({ ...ctx, participants: ids }, result);
      if (this.store) await this.store.put(c, r.round, state);
      acc.add(message);
      const s = meta.samples;
      loss += meta.metrics.loss * s; ce += meta.metrics.ce * s; man += meta.metrics.man * s; accuracy += meta.metrics.accuracy * s;
      samples += s; steps += meta.steps;
      uploads[String(c)] = meta.uploadId;
    }
    const defended = acc.finish();
    const next = this.strategy.aggregate(info, defended.sums, this.global, this.server);
    const d = Math.max(samples, 1);
    const record: RoundRecord = {
      round: r.round, attempt: r.attempt, lr: r.lr, participants: r.participants, aggregated: ids, uploads,
      trainLoss: loss / d, trainCe: ce / d, trainMan: man / d, trainAccuracy: accuracy / d, samples, steps,
      seconds: 0, aggregationSeconds: 0, completedAt: '',
    };
    if (defended.dpEpsilon !== undefined) record.dpEpsilon = defended.dpEpsilon;
    const ev = this.config.evaluation;
    /** Whether something done every k rounds (and after the last) is due this round. */
    const due = (every: number) => r.round % every === 0 || r.round === this.config.rounds;
    if (ev && due(ev.every)) Object.assign(record, await this.evaluate(next.global));
    // Until the checkpoint is written nothing in memory changes, so a step that fails (a full disk) can run again.
    await this.addVersion(r.round, next.global, record.testAccuracy !== undefined ? { testLoss: record.testLoss!, testAccuracy: record.testAccuracy } : undefined);
    const fl = ev?.flatness;
    if (fl && due(fl.every)) {
      const f = await measureFlatness(this.models.get(r.round)!.onnxPath, this.evalData!, {
        samples: fl.samples, batchSize: ev.batchSize, method: 'power', maxIter: fl.maxIter, tol: fl.tol, seed: this.config.seed,
      });
      record.topEigenvalue = f.topEigenvalue.eigenvalue;
    }
    record.aggregationSeconds = (performance.now() - t0) / 1000;
    record.seconds = (performance.now() - r.t0) / 1000;
    record.completedAt = new Date().toISOString();
    const records = [...this.records, record];
    await this.state.writeCheckpoint({ round: r.round, global: next.global, server: next.server, rng: this.rng.getState(), records, initialEval: this.initialEval });
    // The round is committed (and with it any storage problem of earlier tries is over, before the status says done).
    this.storageProblem = null;
    this.global = next.global;
    this.server = next.server;
    this.records = records;
    this.completed = r.round;
    this.current = null;
    this.nextAttempt = 0;
    this.hyperCache.clear();
    this.phase = this.completed >= this.config.rounds ? 'done' : 'idle';
    await this.store?.commit(r.round);
    await this.state.clearRound();
    this.metrics.aggregationSeconds.observe(record.aggregationSeconds);
    this.metrics.roundSeconds.observe(record.seconds);
    this.metrics.roundsCompleted.set(r.round);
    this.metrics.currentRound.set(0);
    if (record.testAccuracy !== undefined) this.metrics.globalTestAccuracy.set(record.testAccuracy);
    this.log.info({
      round: r.round, aggregated: ids, trainLoss: record.trainLoss, testAccuracy: record.testAccuracy, seconds: record.seconds,
      aggregationSeconds: record.aggregationSeconds,
      ...(defense.active ? { clipped: defended.clipped, selected: defended.selected?.map((i) => ids[i]), dpEpsilon: defended.dpEpsilon } : {}),
    }, 'round completed');
    if (this.phase === 'done') {
      this.log.info({ completedRounds: this.completed }, 'federation finished');
      for (const cb of this.doneListeners) cb();
    }
    this.changed.notify();
    this.scheduleTick();
  }

  // --- client protocol ------------------------------------------------------------------------------------------

  /** POST /v1/join: idempotent per name (and key). */
  join(req: JoinRequest): Promise<JoinResponse> {
    return this.queue.run(async () => {
      const keyDigest = req.key ? sha256hex(req.key) : null;
      let rec = this.clients.find((c) => c.name === req.name);
      let rejoined = true;
      if (rec) {
        if (rec.keyDigest && (!keyDigest || !sameDigest(rec.keyDigest, keyDigest))) throw new HttpError(403, `the name '${req.name}' is registered with another key`);
        if (req.clientIndex !== undefined && req.clientIndex !== rec.id) {
          throw new HttpError(409, `the name '${req.name}' already has client id ${rec.id}, not ${req.clientIndex}`);
        }
        if (!rec.keyDigest && keyDigest) {
          rec = { ...rec, keyDigest };
          this.clients = this.clients.map((c) => (c.id === rec!.id ? rec! : c));
          await this.state.writeClients(this.clients);
        }
      } else {
        rejoined = false;
        let id: number;
        if (req.clientIndex !== undefined) {
          if (req.clientIndex >= this.config.clients) throw new HttpError(400, `field 'body.clientIndex' must be < ${this.config.clients} (the federation's client slots)`);
          const holder = this.clients.find((c) => c.id === req.clientIndex);
          if (holder) throw new HttpError(409, `client index ${req.clientIndex} is already taken by '${holder.name}'`);
          id = req.clientIndex;
        } else {
          const used = new Set(this.clients.map((c) => c.id));
          id = 0;
          while (used.has(id)) id++;
          if (id >= this.config.clients) throw new HttpError(409, `the federation is full (${this.config.clients} clients)`);
        }
        rec = { id, name: req.name, keyDigest, joinedAt: new Date().toISOString() };
        this.clients = [...this.clients, rec];
        await this.state.writeClients(this.clients);
        this.log.info({ clientId: id, name: req.name }, 'client joined');
      }
      this.lastSeen.set(rec.id, Date.now());
      this.scheduleTick();
      const c = this.config;
      return {
        clientId: rec.id,
        name: rec.name,
        rejoined,
        federation: { name: c.name, algorithm: this.strategy.name, man: c.man, rounds: c.rounds, clients: c.clients, model: this.manifest.model, paramCount: this.paramCount },
        artifacts: { id: this.artifacts.id, files: this.artifacts.files },
        data: this.publishedData(),
        limits: { longPollSeconds: c.limits.longPollSeconds, connectedSeconds: c.limits.connectedSeconds },
      };
    });
  }

  private async currentTask(clientId: number): Promise<TaskMessage> {
    const latest = this.models.latest()?.version ?? 0;
    if (this.phase === 'done') return { type: 'done', finalVersion: latest, reason: this.stopped ? 'stopped by the admin' : `all ${this.config.rounds} rounds completed` };
    if (this.closed) return { type: 'wait', retryAfter: 2, reason: 'the server is shutting down' };
    if (this.failure) return { type: 'wait', retryAfter: 30, reason: 'the federation failed; see the admin status' };
    if (this.paused) return { type: 'wait', retryAfter: 5, reason: 'paused by the admin' };
    const r = this.current;
    if (this.phase === 'training' && r && r.participants.includes(clientId) && !r.accepted.has(clientId)) {
      let hypers = this.hyperCache.get(clientId);
      if (!hypers) {
        const plan = this.strategy.configureClient(await this.contextOf(r, clientId, this.reportedSamples.get(clientId) ?? 0));
        const c = this.config;
        hypers = { lr: r.lr, weight_decay: c.weightDecay, clip_norm: c.clipNorm, man_zeta: c.man, momentum: c.momentum, ...plan.hypers };
        if (this.current !== r) return this.currentTask(clientId);
        this.hyperCache.set(clientId, hypers);
      }
      const c = this.config;
      return {
        type: 'train', round: r.round, attempt: r.attempt, paramsVersion: this.completed, deadline: new Date(r.deadline).toISOString(),
        config: {
          lr: r.lr, epochs: c.localEpochs, localSteps: c.localSteps, batchSize: c.batchSize,
          shuffleSeed: c.shuffle ? clientRoundSeed(c.seed, r.round, clientId) : null,
          hypers, clientInputs: [...this.manifest.clientInputs],
        },
      };
    }
    const why = this.phase === 'aggregating' ? `aggregating round ${r?.round}`
      : this.phase === 'training' ? (r!.accepted.has(clientId) ? `update for round ${r!.round} received; waiting for the other participants` : `not a participant of round ${r!.round}`)
        : `waiting for clients (${this.connectedIds().length} connected, ${minAvailableOf(this.config)} needed)`;
    return { type: 'wait', retryAfter: 1, reason: why };
  }

  /** POST /v1/task: long-polls up to `timeoutMs` for something other than 'wait'. */
  async task(clientId: number, key: string | undefined, numSamples: number | undefined, timeoutMs: number, signal?: AbortSignal): Promise<TaskMessage> {
    this.authenticateClient(clientId, key);
    if (numSamples !== undefined) this.reportedSamples.set(clientId, numSamples);
    this.polling.set(clientId, (this.polling.get(clientId) ?? 0) + 1);
    this.scheduleTick();
    const end = Date.now() + timeoutMs;
    try {
      for (;;) {
        const t = await this.currentTask(clientId);
        if (t.type !== 'wait' || Date.now() >= end || this.closed || signal?.aborted) {
          if (t.type === 'done') this.doneSent.add(clientId);
          return t;
        }
        await this.changed.wait(end - Date.now(), signal);
      }
    } finally {
      this.polling.set(clientId, (this.polling.get(clientId) ?? 1) - 1);
      this.lastSeen.set(clientId, Date.now());
    }
  }

  /** GET /v1/client-inputs/:kind: a participant's client-term input for the round in progress. */
  async clientInput(clientId: number, key: string | undefined, kind: string, round: number, attempt: number): Promise<Float32Array> {
    this.authenticateClient(clientId, key);
    if (!this.manifest.clientInputs.includes(kind)) {
      throw new HttpError(404, `no client input '${kind}' (this federation's artifacts have: ${this.manifest.clientInputs.join(', ') || 'none'})`);
    }
    const r = this.current;
    if (!r || this.phase !== 'training' || r.round !== round || r.attempt !== attempt) {
      throw new HttpError(409, `round ${round} (attempt ${attempt}) is not in progress${r ? `; the server is in round ${r.round} (attempt ${r.attempt})` : ''}`);
    }
    if (!r.participants.includes(clientId)) throw new HttpError(409, `client ${clientId} is not a participant of round ${round}`);
    const plan = this.strategy.configureClient(await this.contextOf(r, clientId, this.reportedSamples.get(clientId) ?? 0));
    return plan.inputs[kind] ?? new Float32Array(this.paramCount);
  }

  private reject(reason: string, status: number, message: string): never {
    this.metrics.uploadsRejected.inc({ reason });
    throw new HttpError(status, message);
  }

  /**
   * POST /v1/update: accepts a participant's parameters for the round in progress. Idempotent by uploadId; the
   * update is durable before this resolves. Rejections leave the state unchanged.
   */
  upload(meta: UploadMeta, key: string | undefined, body: Uint8Array): Promise<UploadResult> {
    return this.queue.run(async () => {
      try { this.authenticateClient(meta.clientId, key); } catch (err) {
        this.metrics.uploadsRejected.inc({ reason: 'client' });
        throw err;
      }
      const r = this.current;
      const c = meta.clientId;
      if (r && r.round === meta.round && r.attempt === meta.attempt && r.accepted.get(c)?.uploadId === meta.uploadId) {
        return { accepted: true, duplicate: true, round: r.round, received: r.accepted.size, expected: r.participants.length };
      }
      const past = this.records.find((x) => x.round === meta.round);
      if (past && past.uploads[String(c)] === meta.uploadId) {
        return { accepted: true, duplicate: true, round: past.round, received: past.aggregated.length, expected: past.participants.length };
      }
      if (this.stopped) this.reject('stopped', 409, 'the federation was stopped by the admin; no more updates are accepted');
      if (this.phase === 'done') this.reject('late', 409, `the federation has finished (${this.completed} rounds); round ${meta.round} is closed`);
      if (!r) {
        if (meta.round <= this.completed) this.reject('late', 409, `late upload: round ${meta.round} is closed (${this.completed} rounds completed)`);
        this.reject('round', 409, `round ${meta.round} is not in progress (the server is waiting to start round ${this.completed + 1})`);
      }
      if (meta.round < r.round) this.reject('late', 409, `late upload: round ${meta.round} is closed (the server is in round ${r.round})`);
      if (meta.round > r.round) this.reject('round', 409, `round ${meta.round} has not started (the server is in round ${r.round})`);
      if (meta.attempt !== r.attempt) {
        this.reject('late', 409, `round ${r.round} is in attempt ${r.attempt}; the update of attempt ${meta.attempt} does not count (the round was restarted)`);
      }
      if (this.phase !== 'training') this.reject('late', 409, `late upload: round ${r.round} is being aggregated`);
      if (!r.participants.includes(c)) this.reject('participant', 409, `client ${c} is not a participant of round ${r.round}`);
      const prev = r.accepted.get(c);
      if (prev) this.reject('client-uploaded', 409, `client ${c} already uploaded round ${r.round} (upload '${prev.uploadId}'); an update counts once`);
      const n = this.paramCount;
      if (body.byteLength !== n * 4) {
        this.reject('size', 400, `the body has ${body.byteLength} bytes; expected ${n} float32 values (${n * 4} bytes)`);
      }
      const params = new Float32Array(n);
      new Uint8Array(params.buffer).set(body);
      for (let i = 0; i < n; i++) {
        if (!Number.isFinite(params[i]!)) this.reject('non-finite', 400, `parameter ${i} is ${params[i]}; updates must be finite`);
      }
      try {
        await this.state.writeUpdate(meta, params);
      } catch (err) {
        if (!isDiskFull(err)) throw err;
        // Nothing was accepted (the atomic write left no file); the client retries the same upload later.
        this.metrics.uploadsRejected.inc({ reason: 'disk-full' });
        this.log.error({ err, clientId: c, round: r.round }, 'cannot store an update: the disk is full');
        throw new HttpError(503, 'the server cannot store the update: its disk is full; retry later', { 'retry-after': '5' });
      }
      r.accepted.set(c, meta);
      this.metrics.uploadsAccepted.inc();
      this.log.info({ round: r.round, clientId: c, uploadId: meta.uploadId, received: r.accepted.size, expected: r.participants.length }, 'update accepted');
      this.changed.notify();
      this.scheduleTick();
      return { accepted: true, duplicate: false, round: r.round, received: r.accepted.size, expected: r.participants.length };
    });
  }

  /** The raw parameters file of a model version (GET /v1/params). */
  paramsVersion(version: number | undefined): { version: number; file: string } {
    const v = version === undefined ? this.models.get(this.completed) ?? this.models.latest() : this.models.get(version);
    if (!v) throw new HttpError(404, `no model version ${version} (have ${this.models.list().map((x) => x.version).join(', ')})`);
    return { version: v.version, file: v.paramsPath };
  }

  // --- admin --------------------------------------------------------------------------------------------------

  status(): FederationStatus {
    const r = this.current;
    const connected = new Set(this.connectedIds());
    return {
      federation: this.config.name,
      algorithm: this.strategy.name,
      algorithmOptions: this.strategy.options,
      man: this.config.man,
      phase: this.phase,
      paused: this.paused,
      stopped: this.stopped,
      failure: this.failure,
      storageProblem: this.storageProblem,
      rounds: this.config.rounds,
      completedRounds: this.completed,
      round: r ? {
        round: r.round, attempt: r.attempt, participants: r.participants, accepted: [...r.accepted.keys()].sort((a, b) => a - b),
        deadline: new Date(r.deadline).toISOString(), extensions: r.extensions, startedAt: r.startedAt, lr: r.lr,
      } : null,
      clients: this.clients.map((c) => ({ id: c.id, name: c.name, connected: connected.has(c.id), lastSeen: this.lastSeen.has(c.id) ? new Date(this.lastSeen.get(c.id)!).toISOString() : null })),
      connected: connected.size,
      minAvailable: minAvailableOf(this.config),
      latestVersion: this.models.latest()?.version ?? null,
      initialEval: this.initialEval ?? null,
      history: this.records,
      model: { name: this.manifest.model, paramCount: this.paramCount, artifactsId: this.artifacts.id },
      startedAt: this.startedAt,
      config: redactedConfig(this.config),
    };
  }

  /** The clients' data spec (null when the config names none). */
  publishedData(): PublishedDataSpec | null {
    const c = this.config;
    return c.data ? { ...c.data, partition: { ...c.data.partition }, numClients: c.clients, seed: c.seed } : null;
  }

  /** A joined client's samples of the published data spec, as safetensors (for browser clients: GET /v1/client-data). */
  clientData(clientId: number, key: string | undefined): Promise<Uint8Array> {
    this.authenticateClient(clientId, key);
    const spec = this.publishedData();
    if (!spec) throw new HttpError(404, 'this federation publishes no data (the server config has no "data"): clients bring their own');
    this.shards ??= new ClientShards(spec);
    return this.shards.encoded(clientId);
  }

  /** Pause: no new rounds or train tasks; uploads of the round in progress still count; the deadline stops. */
  pause(): Promise<void> {
    return this.queue.run(async () => {
      if (this.paused) return;
      this.paused = true;
      await this.state.writeControl({ paused: true, stopped: this.stopped });
      if (this.timer) { clearTimeout(this.timer); this.timer = null; }
      this.log.warn('paused by the admin');
      this.changed.notify();
    });
  }

  resume(): Promise<void> {
    return this.queue.run(async () => {
      if (!this.paused) return;
      this.paused = false;
      await this.state.writeControl({ paused: false, stopped: this.stopped });
      if (this.current) this.current.deadline = Date.now() + this.config.roundDeadline * 1000;
      this.armTimer();
      this.log.warn('resumed by the admin');
      this.changed.notify();
      this.scheduleTick();
    });
  }

  /** Stop for good: the round in progress is abandoned, clients are told 'done'; the latest version is final. */
  stop(): Promise<void> {
    return this.queue.run(async () => {
      if (this.stopped) return;
      this.stopped = true;
      await this.state.writeControl({ paused: this.paused, stopped: true });
      if (this.timer) { clearTimeout(this.timer); this.timer = null; }
      this.current = null;
      await this.state.clearRound();
      this.metrics.currentRound.set(0);
      this.log.warn({ completedRounds: this.completed }, 'stopped by the admin');
      this.finish();
    });
  }

  /** Calls `cb` once the federation is done (immediately when it already is). */
  onDone(cb: () => void): void {
    if (this.phase === 'done') cb(); else this.doneListeners.add(cb);
  }

  /** Whether every joined client has been told 'done' (for --exit-when-done). */
  allClientsToldDone(): boolean {
    return this.clients.every((c) => this.doneSent.has(c.id));
  }

  /** The final (latest) global parameters. */
  globalParams(): Float32Array {
    return Float32Array.from(this.global);
  }

  /** Starts shutting down: no more rounds, open long polls return at once ('wait'). */
  beginClose(): void {
    this.closed = true;
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    this.changed.notify();
  }

  /** Stops timers, wakes long polls, waits for the queue, releases the trainer and the state directory. */
  async close(): Promise<void> {
    if (this.released) return;
    this.released = true;
    this.beginClose();
    await this.queue.run(async () => {});
    await this.trainer.release();
    await this.state.unlock();
  }
}
