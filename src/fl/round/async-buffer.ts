/**
 * Asynchronous buffered aggregation (FedBuff: Nguyen et al., "Federated learning with buffered asynchronous
 * aggregation", AISTATS 2022), as one small class that takes client updates as they come and says when a version is
 * published — so the simulation (on its virtual clock) and a server (as uploads arrive) drive the same code.
 *
 *  - A client trains from whatever version v it was given; its update is its delta Δ = w − w_v against that version.
 *  - At arrival the update's staleness is s = (versions published since v); past `maxStaleness` it is dropped,
 *    otherwise it is weighted by n_k·(1 + s)^−a (n_k the algorithm's client weight: samples or 1).
 *  - Every `bufferSize` accepted updates: Δ̄ = Σ n_k (1 + s_k)^−a Δ_k / Σ n_k (so staleness damps an update's
 *    absolute contribution, as FedBuff's (1/K)·Σ s(τ)Δ does with uniform weights), and the algorithm's own server
 *    step runs on the pseudo-mean w + η·Δ̄ (η = `serverLr`): FedAvg/FedProx/FedSAM publish it, FedAvgM/FedAdam/
 *    FedYogi/FedAdagrad treat η·Δ̄ as their pseudo-gradient.
 *
 * The buffer's sums are exact (util/exact-sum.ts), so the published model does not depend on the order in which
 * a version's updates arrived, and partial buffers filled elsewhere merge exactly. The whole state (version,
 * model, server state, the exact partial sums) is checkpointable between any two updates ({@link AsyncBuffer.save}).
 */
import { ExactScalar, ExactSum } from '../../util/exact-sum.js';
import { FedmanError } from '../../util/errors.js';
import type { NamedTensor } from '../../runtime/safetensors.js';
import type { DpConfig, RobustConfig } from '../defense/config.js';
import { updateNorm } from '../defense/norm-bound.js';
import { Accumulator, type ClientContext, type LocalResult, type ServerState, type Strategy } from '../strategy.js';
import { TrainTotals, type TrainMetrics } from './metrics.js';

export interface AsyncSettings {
  bufferSize: number;
  /** Updates staler than this are dropped (null: never). */
  maxStaleness: number | null;
  /** a of the staleness weight (1 + s)^−a. */
  stalenessExponent: number;
  /** η: the buffered mean delta is scaled by η before the server step. */
  serverLr: number;
}

/** The weight (1 + s)^−a of an update of staleness s. */
export function stalenessWeight(staleness: number, exponent: number): number {
  return exponent === 0 ? 1 : (1 + staleness) ** -exponent;
}

/**
 * Which updates are accepted into which version, without the model: a pure counter that a scheduler can run
 * ahead (the simulation predicts from it which updates to train) and that the buffer runs for real.
 */
export class AsyncAdmission {
  constructor(private readonly settings: Pick<AsyncSettings, 'bufferSize' | 'maxStaleness'>, public version = 0, public buffered = 0) {}

  /** Staleness of an update that started from `startVersion`, if it arrived now. */
  staleness(startVersion: number): number {
    if (!(startVersion >= 0 && startVersion <= this.version && Number.isInteger(startVersion))) {
      throw new FedmanError(`async update from version ${startVersion}, but the latest version is ${this.version}`);
    }
    return this.version - startVersion;
  }

  /** Counts an arriving update: whether it is accepted, and whether it completes the buffer (a new version). */
  offer(startVersion: number): { accepted: boolean; staleness: number; publishes: boolean } {
    const staleness = this.staleness(startVersion);
    const max = this.settings.maxStaleness;
    if (max !== null && staleness > max) return { accepted: false, staleness, publishes: false };
    this.buffered++;
    const publishes = this.buffered >= this.settings.bufferSize;
    if (publishes) { this.version++; this.buffered = 0; }
    return { accepted: true, staleness, publishes };
  }
}

/**
 * Why a config cannot run asynchronously (each naming its field): strategies with per-client state (their state
 * and the server's must move in step, which rounds guarantee and asynchronous arrivals do not), robust rules that
 * need a whole round at once, and differential privacy (its accountant assumes sampled rounds).
 */
export function asyncProblems(strategy: Strategy, robust: RobustConfig | undefined, dp: DpConfig | null | undefined): string[] {
  const out: string[] = [];
  if (strategy.clientStateKeys.length) {
    out.push(`field 'aggregation.mode': algorithm '${strategy.name}' keeps per-client state (${strategy.clientStateKeys.map((k) => `'${k}'`).join(', ')}) `
      + 'that asynchronous aggregation cannot keep in step with the server\'s; use it with aggregation.mode \'sync\', or run async with '
      + 'fedavg, fedprox, fedsam, fedasam, fedavgm, fedadam, fedyogi or fedadagrad');
  }
  if (robust && robust.rule !== 'mean') {
    out.push(`field 'robust.rule': rule '${robust.rule}' needs every update of a round at once; asynchronous aggregation keeps a streamed `
      + "weighted mean of its buffer (use rule 'mean', optionally with robust.normBound, which async supports)");
  }
  if (dp) {
    out.push("field 'dp': the privacy accountant assumes sampled synchronous rounds; asynchronous participation is not such a sampling, so "
      + "differential privacy needs aggregation.mode 'sync'");
  }
  return out;
}

/** One accepted or dropped update. */
export interface AsyncUpdate {
  /** The context the client was configured with: `global` is the version it started from. */
  ctx: ClientContext;
  startVersion: number;
  result: LocalResult;
}

/** What a completed buffer produced. */
export interface PublishedVersion {
  version: number;
  global: Float32Array;
  server: ServerState;
  /** Clients whose updates it holds, sorted (a client may appear twice). */
  participants: number[];
  train: TrainMetrics;
  updates: number;
  /** Mean and largest staleness of its updates. */
  meanStaleness: number;
  maxStaleness: number;
  /** Updates changed by norm bounding. */
  clipped: number;
}

export interface AsyncOffer {
  accepted: boolean;
  staleness: number;
  published?: PublishedVersion;
}

/** The buffer's state between two updates, as {@link AsyncBuffer.save} writes it and {@link AsyncBuffer.load} reads it. */
export interface AsyncBufferState {
  version: number;
  global: Float32Array;
  server: ServerState;
}

interface Pending {
  sum: ExactSum;
  weight: ExactScalar;
  count: number;
  participants: number[];
  stalenessSum: number;
  stalenessMax: number;
  clipped: number;
  totals: TrainTotals;
}

function emptyPending(n: number): Pending {
  return { sum: new ExactSum(n), weight: new ExactScalar(), count: 0, participants: [], stalenessSum: 0, stalenessMax: 0, clipped: 0, totals: new TrainTotals() };
}

export class AsyncBuffer {
  private readonly admission: AsyncAdmission;
  private pending: Pending;
  private state: AsyncBufferState;

  constructor(
    private readonly strategy: Strategy, private readonly settings: AsyncSettings, state: AsyncBufferState,
    /** robust.normBound: each delta is clipped to this L2 norm (null: off). */
    private readonly normBound: number | null = null,
  ) {
    if (strategy.clientStateKeys.length) throw new FedmanError(asyncProblems(strategy, undefined, null)[0]!);
    this.state = state;
    this.admission = new AsyncAdmission(settings, state.version, 0);
    this.pending = emptyPending(state.global.length);
  }

  get version(): number { return this.state.version; }
  get global(): Float32Array { return this.state.global; }
  get server(): ServerState { return this.state.server; }
  /** Accepted updates waiting in the buffer. */
  get buffered(): number { return this.pending.count; }

  /** Takes one update as it arrives. */
  offer(u: AsyncUpdate): AsyncOffer {
    const { accepted, staleness, publishes } = this.admission.offer(u.startVersion);
    if (!accepted) return { accepted, staleness };
    const { message } = this.strategy.clientUpdate(u.ctx, u.result);
    const extra = Object.keys(message).filter((k) => k !== 'params');
    if (extra.length || !message.params) throw new FedmanError(`async aggregation: algorithm '${this.strategy.name}' sends ${Object.keys(message).join(', ')}; only 'params' can be buffered`);
    const start = u.ctx.global;
    const params = message.params.value;
    const delta = new Float64Array(start.length);
    for (let i = 0; i < delta.length; i++) delta[i] = params[i]! - start[i]!;
    const p = this.pending;
    if (this.normBound !== null) {
      const norm = updateNorm(params, start);
      if (!(norm <= this.normBound)) {
        // Scaled down to the bound; a non-finite update counts as a zero update (as in the defense layer).
        const scale = Number.isFinite(norm) ? this.normBound / norm : 0;
        for (let i = 0; i < delta.length; i++) delta[i] = scale === 0 ? 0 : delta[i]! * scale;
        p.clipped++;
      }
    }
    const w = message.params.weight;
    p.sum.addVector(delta, w * stalenessWeight(staleness, this.settings.stalenessExponent));
    p.weight.add(w);
    p.count++;
    p.participants.push(u.ctx.clientId);
    p.stalenessSum += staleness;
    p.stalenessMax = Math.max(p.stalenessMax, staleness);
    p.totals.add(u.result);
    if (!publishes) return { accepted, staleness };
    return { accepted, staleness, published: this.publish() };
  }

  private publish(): PublishedVersion {
    const p = this.pending;
    const { global, server } = this.state;
    const n = global.length;
    const total = p.weight.value();
    const sum = p.sum.round();
    const mean = new Float64Array(n);
    const eta = this.settings.serverLr;
    if (total > 0) for (let i = 0; i < n; i++) mean[i] = global[i]! + eta * (sum[i]! / total);
    else for (let i = 0; i < n; i++) mean[i] = global[i]!;
    // The strategy reads mean('params') as it reads a round's (possibly defended) mean.
    const acc = new Accumulator(n);
    acc.setMean('params', mean, p.count);
    const version = this.state.version + 1;
    const participants = [...p.participants].sort((a, b) => a - b);
    const info = { round: version, lr: 0, baseLr: 0, numClients: 0, participants };
    const next = this.strategy.aggregate(info, acc, global, server);
    this.state = { version, global: next.global, server: next.server };
    this.pending = emptyPending(n);
    return {
      version, global: next.global, server: next.server, participants, train: p.totals.metrics(), updates: p.count,
      meanStaleness: p.stalenessSum / p.count, maxStaleness: p.stalenessMax, clipped: p.clipped,
    };
  }

  /**
   * The state as tensors and JSON (to store with the round-state checkpoint): the partial buffer's exact sums as
   * raw bytes in a float32 tensor (bit-preserving), its counters and training totals as JSON.
   */
  save(): { state: AsyncBufferState; tensors: Map<string, NamedTensor>; meta: Record<string, unknown> } {
    const p = this.pending;
    const tensors = new Map<string, NamedTensor>();
    const put = (name: string, bytes: Uint8Array) => {
      const data = new Float32Array(Math.ceil(bytes.length / 4));
      new Uint8Array(data.buffer).set(bytes);
      tensors.set(name, { dims: [data.length], data });
      return bytes.length;
    };
    const meta = {
      count: p.count, participants: p.participants, stalenessSum: p.stalenessSum, stalenessMax: p.stalenessMax, clipped: p.clipped,
      totals: p.totals.snapshot(), sumBytes: put('async/sum', p.sum.encode()), weightBytes: put('async/weight', p.weight.encode()),
    };
    return { state: { ...this.state }, tensors, meta };
  }

  /** A buffer from {@link save}'s output: offering it the remaining updates publishes what the original would have. */
  static load(strategy: Strategy, settings: AsyncSettings, saved: ReturnType<AsyncBuffer['save']>, normBound: number | null = null): AsyncBuffer {
    const b = new AsyncBuffer(strategy, settings, saved.state, normBound);
    const m = saved.meta as {
      count: number; participants: number[]; stalenessSum: number; stalenessMax: number; clipped: number;
      totals: ReturnType<TrainTotals['snapshot']>; sumBytes: number; weightBytes: number;
    };
    const bytes = (name: string, length: number) => {
      const t = saved.tensors.get(name);
      if (!t) throw new FedmanError(`async buffer checkpoint lacks '${name}'`);
      return new Uint8Array(t.data.buffer, t.data.byteOffset, length);
    };
    const sum = ExactSum.decode(bytes('async/sum', m.sumBytes), undefined, 'async buffer checkpoint');
    if (sum.size !== saved.state.global.length) throw new FedmanError(`async buffer checkpoint holds ${sum.size} values, the model ${saved.state.global.length}`);
    b.pending = {
      sum, weight: ExactScalar.decode(bytes('async/weight', m.weightBytes)), count: m.count, participants: [...m.participants],
      stalenessSum: m.stalenessSum, stalenessMax: m.stalenessMax, clipped: m.clipped, totals: TrainTotals.restore(m.totals),
    };
    b.admission.buffered = m.count;
    return b;
  }
}
