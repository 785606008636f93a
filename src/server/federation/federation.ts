/**
 * One federation: the server side of the protocol in docs/protocol.md, independent of HTTP (the Fastify plugins
 * in src/server/plugins/ translate requests into calls here, and its {@link FederationError}s into status codes).
 *
 * It is made of: the client registry (clients.ts), the round state machine (rounds.ts), the tasks it hands out
 * (tasks.ts), upload admission (admission.ts, a pure function), publishing model versions (publish.ts) and the
 * status (status.ts); opening the state directory is open.ts.
 *
 * The strategy runs entirely here: the server plans each participant's hyperparameters and client-term inputs
 * (served by GET /v1/client-inputs) and, at aggregation, derives each client's message and new state from the
 * uploaded parameters and the client's stored state. Clients therefore only train and upload parameters, whatever
 * the algorithm, and per-client state survives client restarts.
 *
 * Durability: every accepted update is written (atomic + fsync) before it is acknowledged. All state changes run
 * one at a time on a serial queue; long polls only read.
 */
import { Defense, samplingRateOf } from '../../fl/defense/aggregator.js';
import type { Strategy } from '../../fl/strategy.js';
import type {
  ArtifactFormat, FederationStatus, JoinRequest, JoinResponse, Phase, PublishedDataSpec, TaskMessage, UploadMeta, UploadResult,
} from '../../protocol/index.js';
import type { Trainer } from '../../runtime/trainer.js';
import type { ArtifactManifest } from '../../training/manifest.js';
import { isDiskFull } from '../../util/errors.js';
import { SerialQueue } from '../../util/serial-queue.js';
import { ClientShards } from '../client-shards.js';
import type { ServerConfig } from '../../config/index.js';
import { createMetrics, type ServerMetrics } from '../metrics.js';
import { ModelVersions } from '../model-versions.js';
import type { StateDir } from '../state.js';
import { admitUpload } from './admission.js';
import { ClientRegistry } from './clients.js';
import { FederationError } from './errors.js';
import { silentLog, type Log } from './log.js';
import { Notifier } from './notifier.js';
import { openParts, type FederationParts } from './open.js';
import { filesFor, type ServedArtifacts, type ServedFiles } from './artifacts.js';
import { Publisher } from './publish.js';
import { Rounds } from './rounds.js';
import { federationStatus } from './status.js';
import { TaskDesk } from './tasks.js';

export interface FederationOptions {
  stateDir: string;
  config: ServerConfig;
  log?: Log;
  metrics?: ServerMetrics;
}

export class Federation {
  readonly config: ServerConfig;
  readonly state: StateDir;
  readonly manifest: ArtifactManifest;
  readonly artifacts: ServedArtifacts;
  readonly strategy: Strategy;
  readonly models: ModelVersions;
  readonly log: Log;
  readonly metrics: ServerMetrics;
  private readonly trainer: Trainer;
  private readonly queue = new SerialQueue();
  private readonly changed = new Notifier();
  private readonly clients: ClientRegistry;
  private readonly rounds: Rounds;
  private readonly tasks: TaskDesk;
  private shards: ClientShards | null = null;
  private released = false;
  private readonly startedAt = new Date().toISOString();

  private constructor(p: FederationParts, log: Log, metrics: ServerMetrics) {
    this.config = p.config;
    this.state = p.state;
    this.manifest = p.manifest;
    this.artifacts = p.artifacts;
    this.strategy = p.strategy;
    this.trainer = p.trainer;
    this.log = log;
    this.metrics = metrics;
    this.models = new ModelVersions(p.state.path('models'));
    const c = p.config;
    this.clients = new ClientRegistry(p.clients, {
      slots: c.clients, connectedSeconds: c.limits.connectedSeconds, persist: (records) => p.state.writeClients(records),
    });
    // The defense layer (config `robust`, `dp`) is a pass-through to the streamed exact sums with the defaults;
    // robust rules other than the mean hold every accepted update of a round (O(updates × model)).
    const defense = new Defense(p.strategy, {
      robust: c.robust, dp: c.dp, seed: c.seed, samplingRate: samplingRateOf(c.clients, c.clientsPerRound, c.participation),
    });
    this.rounds = new Rounds({
      config: c, state: p.state, queue: this.queue, changed: this.changed, log, metrics, strategy: p.strategy, defense, store: p.store,
      models: this.models, clients: this.clients, publisher: new Publisher(this.models, p.trainer, p.manifest.model, c, p.evalData), rng: p.rng,
    }, p.committed);
    this.tasks = new TaskDesk(this.rounds, c, p.strategy, p.store, this.models, this.clients, p.manifest.clientInputs);
  }

  /** Opens (or creates) the federation in a state directory, resuming whatever it holds. */
  static async open(opts: FederationOptions): Promise<Federation> {
    const log = opts.log ?? silentLog;
    const metrics = opts.metrics ?? createMetrics();
    const parts = await openParts(opts.stateDir, opts.config, log);
    let fed: Federation;
    try {
      fed = new Federation(parts, log, metrics);
    } catch (err) {
      await parts.trainer.release();
      await parts.state.unlock();
      throw err;
    }
    try {
      await fed.rounds.restore(parts.hadCheckpoint);
    } catch (err) {
      fed.released = true;
      await fed.release();
      throw err;
    }
    metrics.setSources({ connectedClients: () => fed.clients.connectedIds().length, joinedClients: () => fed.clients.all.length });
    const c = fed.config;
    log.info({
      federation: c.name, algorithm: fed.strategy.name, man: c.man, completedRounds: fed.rounds.completed, rounds: c.rounds,
      paramCount: fed.paramCount, phase: fed.rounds.phase,
    }, parts.hadCheckpoint ? 'federation resumed' : 'federation created');
    return fed;
  }

  get paramCount(): number {
    return this.manifest.paramCount;
  }

  get completedRounds(): number {
    return this.rounds.completed;
  }

  get currentPhase(): Phase {
    return this.rounds.phase;
  }

  // --- client protocol ------------------------------------------------------------------------------------------

  /** POST /v1/join: idempotent per name (and key). */
  join(req: JoinRequest): Promise<JoinResponse> {
    return this.queue.run(async () => {
      // An engine this federation's local training cannot run on is refused before the client is registered.
      const artifacts = filesFor(this.artifacts, req.engine);
      const { record, rejoined } = await this.clients.join(req);
      if (!rejoined) this.log.info({ clientId: record.id, name: record.name }, 'client joined');
      this.rounds.scheduleTick();
      const c = this.config;
      return {
        clientId: record.id,
        name: record.name,
        rejoined,
        federation: { name: c.name, algorithm: this.strategy.name, man: c.man, rounds: c.rounds, clients: c.clients, model: this.manifest.model, paramCount: this.paramCount },
        artifacts,
        data: this.publishedData(),
        limits: { longPollSeconds: c.limits.longPollSeconds, connectedSeconds: c.limits.connectedSeconds },
      };
    });
  }

  /** GET /v1/artifacts?format=…: the files of one engine's format. */
  artifactFiles(format?: ArtifactFormat): ServedFiles {
    return filesFor(this.artifacts, format);
  }

  /** POST /v1/task: long-polls up to `timeoutMs` for something other than 'wait'. */
  async task(clientId: number, key: string | undefined, numSamples: number | undefined, timeoutMs: number, signal?: AbortSignal): Promise<TaskMessage> {
    this.clients.authenticate(clientId, key);
    this.tasks.reportSamples(clientId, numSamples);
    this.clients.pollStarted(clientId);
    this.rounds.scheduleTick();
    const end = Date.now() + timeoutMs;
    try {
      for (;;) {
        const t = await this.tasks.current(clientId);
        if (t.type !== 'wait' || Date.now() >= end || this.rounds.closed || signal?.aborted) {
          if (t.type === 'done') this.clients.markToldDone(clientId);
          return t;
        }
        await this.changed.wait(end - Date.now(), signal);
      }
    } finally {
      this.clients.pollEnded(clientId);
    }
  }

  /** GET /v1/client-inputs/:kind: a participant's client-term input for the round in progress. */
  async clientInput(clientId: number, key: string | undefined, kind: string, round: number, attempt: number): Promise<Float32Array> {
    this.clients.authenticate(clientId, key);
    return this.tasks.clientInput(clientId, kind, round, attempt, this.paramCount);
  }

  /**
   * POST /v1/update: accepts a participant's parameters for the round in progress. Idempotent by uploadId; the
   * update is durable before this resolves. Rejections leave the state unchanged.
   */
  upload(meta: UploadMeta, key: string | undefined, body: Uint8Array): Promise<UploadResult> {
    return this.queue.run(async () => {
      try { this.clients.authenticate(meta.clientId, key); } catch (err) {
        this.metrics.uploadsRejected.inc({ reason: 'client' });
        throw err;
      }
      const a = admitUpload(this.rounds.admission(this.paramCount), meta, body);
      if (a.verdict === 'duplicate') return a.result;
      if (a.verdict === 'reject') {
        this.metrics.uploadsRejected.inc({ reason: a.reason });
        throw a.error;
      }
      try {
        await this.state.writeUpdate(meta, a.params);
      } catch (err) {
        if (!isDiskFull(err)) throw err;
        // Nothing was accepted (the atomic write left no file); the client retries the same upload later.
        this.metrics.uploadsRejected.inc({ reason: 'disk-full' });
        this.log.error({ err, clientId: meta.clientId, round: meta.round }, 'cannot store an update: the disk is full');
        throw new FederationError('unavailable', 'the server cannot store the update: its disk is full; retry later', 5);
      }
      this.rounds.accepted(meta);
      const r = this.rounds.current!;
      return { accepted: true, duplicate: false, round: r.round, received: r.accepted.size, expected: r.participants.length };
    });
  }

  /** The raw parameters file of a model version (GET /v1/params). */
  paramsVersion(version: number | undefined): { version: number; file: string } {
    const v = version === undefined ? this.models.get(this.rounds.completed) ?? this.models.latest() : this.models.get(version);
    if (!v) throw new FederationError('not-found', `no model version ${version} (have ${this.models.list().map((x) => x.version).join(', ')})`);
    return { version: v.version, file: v.paramsPath };
  }

  /** The clients' data spec (null when the config names none). */
  publishedData(): PublishedDataSpec | null {
    const c = this.config;
    return c.data ? { ...c.data, partition: { ...c.data.partition }, numClients: c.clients, seed: c.seed } : null;
  }

  /** A joined client's samples of the published data spec, as safetensors (for browser clients: GET /v1/client-data). */
  clientData(clientId: number, key: string | undefined): Promise<Uint8Array> {
    this.clients.authenticate(clientId, key);
    const spec = this.publishedData();
    if (!spec) throw new FederationError('not-found', 'this federation publishes no data (the server config has no "data"): clients bring their own');
    this.shards ??= new ClientShards(spec);
    return this.shards.encoded(clientId);
  }

  // --- admin ----------------------------------------------------------------------------------------------------

  status(): FederationStatus {
    return federationStatus({
      config: this.config, strategy: this.strategy, rounds: this.rounds, clients: this.clients, models: this.models,
      model: { name: this.manifest.model, paramCount: this.paramCount }, artifacts: this.artifacts, startedAt: this.startedAt,
    });
  }

  pause(): Promise<void> { return this.rounds.pause(); }
  resume(): Promise<void> { return this.rounds.resume(); }
  stop(): Promise<void> { return this.rounds.stop(); }

  /** Calls `cb` once the federation is done (immediately when it already is). */
  onDone(cb: () => void): void {
    this.rounds.onDone(cb);
  }

  /** Whether every joined client has been told 'done' (for --exit-when-done). */
  allClientsToldDone(): boolean {
    return this.clients.allToldDone();
  }

  /** The final (latest) global parameters. */
  globalParams(): Float32Array {
    return Float32Array.from(this.rounds.global);
  }

  /** Starts shutting down: no more rounds, open long polls return at once ('wait'). */
  beginClose(): void {
    this.rounds.beginClose();
  }

  /** Stops timers, wakes long polls, waits for the queue, releases the trainer and the state directory. */
  async close(): Promise<void> {
    if (this.released) return;
    this.released = true;
    this.beginClose();
    await this.queue.run(async () => {});
    await this.release();
  }

  private async release(): Promise<void> {
    await this.trainer.release();
    await this.state.unlock();
  }
}
