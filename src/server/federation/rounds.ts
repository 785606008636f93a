/**
 * The round state machine of a federation (docs/protocol.md, "Rounds"). A round starts when at least
 * `minAvailable` clients are connected: its participants are sampled among them with the seeded sampling RNG (the
 * round core's `sampleParticipants`, so with every client connected they are those `fedman simulate` draws). The
 * round is aggregated when every participant's update has arrived, or at the deadline when at least `minClients`
 * arrived; otherwise the deadline is extended (up to `maxExtensions` times) and then the round is restarted as a
 * new attempt with freshly sampled participants.
 *
 * Durability: aggregation reads the accepted updates from disk in client-id order (the round core's
 * `aggregateRound`: O(model) memory, independent of arrival order); the new model version, then the checkpoint
 * (the commit point) are written before the round is reported complete. A server killed at any moment resumes the
 * same round with the same participants and accepted updates, and ends with the model of an uninterrupted run.
 *
 * Every state change runs on the federation's serial queue.
 */
import { aggregateRound, clientContext, roundInfo, roundLr, sampleParticipants, type ClientOutcome } from '../../fl/round/index.js';
import type { RoundInfo, ServerState } from '../../fl/strategy.js';
import type { EvalResult, Phase, RoundRecord, UploadMeta } from '../../protocol/index.js';
import { isDiskFull } from '../../util/errors.js';
import { minAvailableOf } from '../../config/index.js';
import type { AdmissionState } from './admission.js';
import type { Committed, LiveRound, RoundsContext } from './round-state.js';

/** How soon a round step that failed on a full disk is tried again. */
const DISK_FULL_RETRY_MS = 2000;

export class Rounds {
  phase: Phase = 'idle';
  current: LiveRound | null = null;
  paused = false;
  stopped = false;
  closed = false;
  failure: string | null = null;
  /** The last storage error (full disk) of the state machine, until a step succeeds again. */
  storageProblem: string | null = null;
  completed: number;
  global: Float32Array;
  server: ServerState;
  records: RoundRecord[];
  initialEval: EvalResult | undefined;
  private nextAttempt = 0;
  private tickPending = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly doneListeners = new Set<() => void>();

  constructor(private readonly ctx: RoundsContext, committed: Committed) {
    this.completed = committed.completed;
    this.global = committed.global;
    this.server = committed.server;
    this.records = committed.records;
    this.initialEval = committed.initialEval;
  }

  /** Resumes from the state directory: the initial model and checkpoint when there is none, the round in progress. */
  async restore(hadCheckpoint: boolean): Promise<void> {
    const { state: sd, models, config, log, metrics, publisher, rng } = this.ctx;
    if (!hadCheckpoint) {
      await models.load(0);
      this.initialEval = publisher.evaluates ? await publisher.evaluate(this.global) : undefined;
      if (!models.get(0)) await publisher.addVersion(0, this.global, this.initialEval);
      await sd.writeCheckpoint({ round: 0, global: this.global, server: this.server, rng: rng.getState(), records: [], initialEval: this.initialEval });
    }
    await models.load(this.completed);
    if (!models.get(this.completed)) await publisher.addVersion(this.completed, this.global, undefined);

    const control = await sd.readControl();
    this.paused = control.paused;
    this.stopped = control.stopped;

    const rf = await sd.readRound();
    if (rf && rf.round === this.completed + 1 && rf.round <= config.rounds && !this.stopped) {
      rng.setState(rf.rng);
      const accepted = await sd.loadUpdates(rf.round, rf.attempt);
      for (const id of accepted.keys()) {
        if (!rf.participants.includes(id)) accepted.delete(id);
      }
      this.current = {
        round: rf.round, attempt: rf.attempt, participants: rf.participants, lr: rf.lr, startedAt: rf.startedAt, accepted,
        deadline: Date.now() + config.roundDeadline * 1000, extensions: 0, t0: performance.now(),
      };
      this.phase = 'training';
      log.info({ round: rf.round, attempt: rf.attempt, participants: rf.participants, accepted: [...accepted.keys()] }, 'resuming round in progress');
      this.armTimer();
    } else {
      await sd.clearRound();
    }
    if (this.stopped || this.completed >= config.rounds) this.phase = 'done';
    metrics.roundsCompleted.set(this.completed);
    metrics.currentRound.set(this.current?.round ?? 0);
    const last = [...this.records].reverse().find((r) => r.testAccuracy !== undefined);
    const acc = last?.testAccuracy ?? this.initialEval?.testAccuracy;
    if (acc !== undefined) metrics.globalTestAccuracy.set(acc);
    this.scheduleTick();
  }

  /** The round's facts for the strategy (participants: those whose updates count). */
  info(r: LiveRound, participants: readonly number[]): RoundInfo {
    return roundInfo(this.ctx.config, r.round, participants);
  }

  /** What upload admission needs to know. */
  admission(paramCount: number): AdmissionState {
    return {
      current: this.current, training: this.phase === 'training', records: this.records, completed: this.completed,
      stopped: this.stopped, done: this.phase === 'done', paramCount,
    };
  }

  /** An accepted update is durable: count it, and aggregate when the round is full. */
  accepted(meta: UploadMeta): void {
    const r = this.current!;
    r.accepted.set(meta.clientId, meta);
    this.ctx.metrics.uploadsAccepted.inc();
    this.ctx.log.info({ round: r.round, clientId: meta.clientId, uploadId: meta.uploadId, received: r.accepted.size, expected: r.participants.length }, 'update accepted');
    this.ctx.changed.notify();
    this.scheduleTick();
  }

  // --- admin ----------------------------------------------------------------------------------------------------

  /** Pause: no new rounds or train tasks; uploads of the round in progress still count; the deadline stops. */
  pause(): Promise<void> {
    return this.ctx.queue.run(async () => {
      if (this.paused) return;
      this.paused = true;
      await this.ctx.state.writeControl({ paused: true, stopped: this.stopped });
      this.clearTimer();
      this.ctx.log.warn('paused by the admin');
      this.ctx.changed.notify();
    });
  }

  resume(): Promise<void> {
    return this.ctx.queue.run(async () => {
      if (!this.paused) return;
      this.paused = false;
      await this.ctx.state.writeControl({ paused: false, stopped: this.stopped });
      if (this.current) this.current.deadline = Date.now() + this.ctx.config.roundDeadline * 1000;
      this.armTimer();
      this.ctx.log.warn('resumed by the admin');
      this.ctx.changed.notify();
      this.scheduleTick();
    });
  }

  /** Stop for good: the round in progress is abandoned, clients are told 'done'; the latest version is final. */
  stop(): Promise<void> {
    return this.ctx.queue.run(async () => {
      if (this.stopped) return;
      this.stopped = true;
      await this.ctx.state.writeControl({ paused: this.paused, stopped: true });
      this.clearTimer();
      this.current = null;
      await this.ctx.state.clearRound();
      this.ctx.metrics.currentRound.set(0);
      this.ctx.log.warn({ completedRounds: this.completed }, 'stopped by the admin');
      this.finish();
    });
  }

  /** Calls `cb` once the federation is done (immediately when it already is). */
  onDone(cb: () => void): void {
    if (this.phase === 'done') cb(); else this.doneListeners.add(cb);
  }

  /** No more rounds; open long polls return at once. */
  beginClose(): void {
    this.closed = true;
    this.clearTimer();
    this.ctx.changed.notify();
  }

  // --- the machine (runs on the queue) ----------------------------------------------------------------------------

  private clearTimer(): void {
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
  }

  private armTimer(): void {
    this.clearTimer();
    if (!this.current || this.closed || this.paused) return;
    const ms = Math.max(0, this.current.deadline - Date.now()) + 5;
    this.timer = setTimeout(() => { this.timer = null; this.scheduleTick(); }, ms);
    this.timer.unref();
  }

  scheduleTick(): void {
    if (this.tickPending || this.closed) return;
    this.tickPending = true;
    void this.ctx.queue.run(async () => {
      this.tickPending = false;
      try {
        await this.tick();
        this.storageProblem = null;
      } catch (err) {
        if (!isDiskFull(err)) { this.fail(err as Error); return; }
        // A full disk is transient: nothing of the round was committed, so the same step is retried.
        this.storageProblem = (err as Error).message;
        this.ctx.log.error({ err }, `the disk is full; retrying in ${DISK_FULL_RETRY_MS / 1000} s`);
        setTimeout(() => this.scheduleTick(), DISK_FULL_RETRY_MS).unref();
      }
    });
  }

  private fail(err: Error): void {
    this.failure = err.message;
    this.ctx.log.error({ err }, 'federation failed; the server keeps serving but starts no rounds (see the admin status)');
    this.ctx.changed.notify();
  }

  private async tick(): Promise<void> {
    const { config, log } = this.ctx;
    if (this.closed || this.failure || this.phase === 'done' || this.phase === 'aggregating') return;
    if (this.phase === 'idle') {
      if (this.stopped || this.completed >= config.rounds) return this.finish();
      if (this.paused) return;
      const connected = this.ctx.clients.connectedIds();
      if (connected.length < minAvailableOf(config)) return;
      await this.startRound(connected);
      return;
    }
    const r = this.current!;
    if (r.accepted.size === r.participants.length) return this.aggregate();
    if (this.paused || Date.now() < r.deadline) return;
    if (r.accepted.size >= config.minClients) return this.aggregate();
    if (r.extensions < config.maxExtensions) {
      r.extensions++;
      r.deadline = Date.now() + config.roundDeadline * 1000;
      log.warn({ round: r.round, accepted: r.accepted.size, minClients: config.minClients, extension: r.extensions }, 'too few updates by the deadline; extending the round');
      this.armTimer();
      return;
    }
    log.warn({ round: r.round, attempt: r.attempt, accepted: r.accepted.size }, 'too few updates after every extension; restarting the round with new participants');
    this.nextAttempt = r.attempt + 1;
    this.current = null;
    this.phase = 'idle';
    await this.ctx.state.clearRound();
    this.ctx.metrics.currentRound.set(0);
    this.ctx.changed.notify();
    this.scheduleTick();
  }

  private finish(): void {
    if (this.phase !== 'done') {
      this.phase = 'done';
      this.ctx.log.info({ completedRounds: this.completed, stopped: this.stopped }, 'federation finished');
    }
    this.ctx.changed.notify();
    for (const cb of this.doneListeners) cb();
  }

  private async startRound(connected: number[]): Promise<void> {
    const { config, rng, state } = this.ctx;
    const round = this.completed + 1;
    const attempt = this.nextAttempt;
    const picks = sampleParticipants(rng, connected.length, config.participation, config.clientsPerRound);
    const participants = picks.map((i) => connected[i]!).sort((a, b) => a - b);
    const lr = roundLr(config, round);
    const startedAt = new Date().toISOString();
    await state.clearRound();
    await state.writeRound({ round, attempt, participants, rng: rng.getState(), lr, startedAt });
    this.current = {
      round, attempt, participants, lr, startedAt, accepted: new Map(), deadline: Date.now() + config.roundDeadline * 1000, extensions: 0, t0: performance.now(),
    };
    this.phase = 'training';
    this.ctx.metrics.currentRound.set(round);
    this.ctx.log.info({ round, attempt, participants, connected: connected.length, lr }, 'round started');
    this.armTimer();
    this.ctx.changed.notify();
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

  /** The accepted updates of the round, read from disk in client-id order. */
  private async *outcomes(r: LiveRound, info: RoundInfo): AsyncGenerator<ClientOutcome> {
    for (const c of info.participants) {
      const { meta, params } = await this.ctx.state.readUpdate(r.round, r.attempt, c);
      const ctx = await clientContext(info, c, meta.numSamples, this.global, this.server, this.ctx.store);
      yield {
        ctx,
        result: {
          clientId: c, params, numSamples: meta.numSamples, steps: meta.steps, samples: meta.samples,
          loss: meta.metrics.loss, ce: meta.metrics.ce, man: meta.metrics.man, accuracy: meta.metrics.accuracy, seconds: meta.seconds,
        },
      };
    }
  }

  private async aggregateAndCommit(): Promise<void> {
    const { config, metrics, log, publisher, strategy, defense, store } = this.ctx;
    const r = this.current!;
    this.phase = 'aggregating';
    this.clearTimer();
    this.ctx.changed.notify();
    const t0 = performance.now();
    const ids = [...r.accepted.keys()].sort((a, b) => a - b);
    const info = this.info(r, ids);
    const agg = await aggregateRound(strategy, defense, info, this.global, this.server, store, this.outcomes(r, info));
    const uploads: Record<string, string> = {};
    for (const c of ids) uploads[String(c)] = r.accepted.get(c)!.uploadId;
    const record: RoundRecord = {
      round: r.round, attempt: r.attempt, lr: r.lr, participants: r.participants, aggregated: ids, uploads,
      ...agg.train, seconds: 0, aggregationSeconds: 0, completedAt: '',
    };
    if (agg.defended.dpEpsilon !== undefined) record.dpEpsilon = agg.defended.dpEpsilon;
    const ev = config.evaluation;
    /** Whether something done every k rounds (and after the last) is due this round. */
    const due = (every: number) => r.round % every === 0 || r.round === config.rounds;
    if (ev && due(ev.every)) Object.assign(record, await publisher.evaluate(agg.global));
    // Until the checkpoint is written nothing in memory changes, so a step that fails (a full disk) can run again.
    await publisher.addVersion(r.round, agg.global, record.testAccuracy !== undefined ? { testLoss: record.testLoss!, testAccuracy: record.testAccuracy } : undefined);
    if (ev?.flatness && due(ev.flatness.every)) record.topEigenvalue = await publisher.topEigenvalue(r.round);
    record.aggregationSeconds = (performance.now() - t0) / 1000;
    record.seconds = (performance.now() - r.t0) / 1000;
    record.completedAt = new Date().toISOString();
    const records = [...this.records, record];
    await this.ctx.state.writeCheckpoint({ round: r.round, global: agg.global, server: agg.server, rng: this.ctx.rng.getState(), records, initialEval: this.initialEval });
    // The round is committed (and with it any storage problem of earlier tries is over, before the status says done).
    this.storageProblem = null;
    this.global = agg.global;
    this.server = agg.server;
    this.records = records;
    this.completed = r.round;
    this.current = null;
    this.nextAttempt = 0;
    this.phase = this.completed >= config.rounds ? 'done' : 'idle';
    await store?.commit(r.round);
    await this.ctx.state.clearRound();
    metrics.aggregationSeconds.observe(record.aggregationSeconds);
    metrics.roundSeconds.observe(record.seconds);
    metrics.roundsCompleted.set(r.round);
    metrics.currentRound.set(0);
    if (record.testAccuracy !== undefined) metrics.globalTestAccuracy.set(record.testAccuracy);
    const d = agg.defended;
    log.info({
      round: r.round, aggregated: ids, trainLoss: record.trainLoss, testAccuracy: record.testAccuracy, seconds: record.seconds,
      aggregationSeconds: record.aggregationSeconds,
      ...(defense.active ? { clipped: d.clipped, selected: d.selected?.map((i) => ids[i]), dpEpsilon: d.dpEpsilon } : {}),
    }, 'round completed');
    if (this.phase === 'done') {
      log.info({ completedRounds: this.completed }, 'federation finished');
      for (const cb of this.doneListeners) cb();
    }
    this.ctx.changed.notify();
    this.scheduleTick();
  }
}
