/**
 * The defense layer between the clients' messages and `Strategy.aggregate`: the engine and the server feed it each
 * client's message (in client-id order) instead of adding it to the Accumulator directly, and hand the strategy
 * the Accumulator it returns. It only touches the `params` vector (the model each client sends):
 *
 *  1. norm bounding (`robust.normBound`, and DP's `dp.clip`): each update params − global is clipped, streaming;
 *  2. the aggregation rule (`robust.rule`): 'mean' keeps the strategy's streamed weighted mean (O(model));
 *     'median', 'trimmed-mean', 'krum', 'multi-krum' hold every update (O(participants × model)) and replace the
 *     mean by their unweighted robust statistic;
 *  3. differential privacy (`dp`): updates clipped to C, averaged uniformly (weights ignored), Gaussian noise
 *     N(0, (σC/n)²) per coordinate from the (seed, round) stream, and ε after this round from the RDP accountant.
 *
 * The strategy then sees `sums.mean('params')` = that aggregate, so every algorithm's server update (server
 * momentum, Adam, SCAFFOLD's lr, FedDyn's h, …) applies on top of it unchanged. Other message vectors (SCAFFOLD's
 * `dc`, FedDyn's `delta`, FedDC's `dh`/`dc`) are summed exactly as sent: robust rules do not protect them, and DP
 * refuses such algorithms (see config.ts).
 *
 * With the defaults (rule 'mean', no bound, no DP) the layer is a pass-through to `Accumulator.addMessage`, so
 * results are bit-identical to aggregation without it. The sums are exact (order-independent, mergeable).
 */
import { FedmanError } from '../../util/errors.js';
import { Accumulator, type ClientMessage, type Strategy } from '../strategy.js';
import { DEFAULT_ROBUST, defenseActive, messageKeys, type DpConfig, type RobustConfig } from './config.js';
import { boundUpdate } from './norm-bound.js';
import { coordinateMedian, trimmedMean } from './coordinate-wise.js';
import { multiKrum } from './krum.js';
import { addGaussianNoise, dpNoiseRng, dpNoiseStd } from './gaussian-noise.js';
import { RdpAccountant } from './rdp-accountant.js';

export interface DefenseOptions {
  robust?: RobustConfig;
  dp?: DpConfig | null;
  /** Seed of the DP noise (the run's seed). */
  seed: number;
  /** Client sampling rate q for the accountant when `dp.samplingRate` is null (see {@link samplingRateOf}). */
  samplingRate: number;
}

/** What one round's aggregation produced. */
export interface DefendedRound {
  /** What `Strategy.aggregate` gets. */
  sums: Accumulator;
  /** Updates aggregated. */
  updates: number;
  /** Updates changed by norm bounding / DP clipping. */
  clipped: number;
  /** Indices (in client-id order of this round) the Krum rules selected. */
  selected?: number[];
  /** ε after this round (DP only). */
  dpEpsilon?: number;
}

/** The sampling rate q of a config: fixed participants m of N → m/N, else the per-client probability. */
export function samplingRateOf(clients: number, perRound: number | null, probability: number): number {
  return perRound !== null ? Math.min(1, perRound / clients) : probability;
}

/** One run's defense settings; {@link Defense.begin} starts a round. */
export class Defense {
  readonly robust: RobustConfig;
  readonly dp: DpConfig | null;
  /** false: plain strategy aggregation (the defaults). */
  readonly active: boolean;
  readonly accountant: RdpAccountant | null;
  private readonly seed: number;

  constructor(readonly strategy: Strategy, opts: DefenseOptions) {
    this.robust = opts.robust ?? { ...DEFAULT_ROBUST };
    this.dp = opts.dp ?? null;
    this.seed = opts.seed;
    this.active = defenseActive(this.robust, this.dp);
    this.accountant = null;
    if (this.dp) {
      if (this.robust.rule !== 'mean') throw new FedmanError(`field 'dp': differential privacy cannot be combined with robust.rule '${this.robust.rule}'`);
      const extra = messageKeys(strategy).filter((k) => k !== 'params');
      if (extra.length) throw new FedmanError(`field 'dp': algorithm '${strategy.name}' also sends ${extra.map((k) => `'${k}'`).join(', ')}, which differential privacy does not cover`);
      const q = this.dp.samplingRate ?? opts.samplingRate;
      if (!(q > 0 && q <= 1)) throw new FedmanError(`field 'dp.samplingRate': the sampling rate must be in (0, 1], got ${q}`);
      this.accountant = new RdpAccountant(q, this.dp.noiseMultiplier);
    }
  }

  /** ε after `rounds` DP rounds (undefined without DP). */
  epsilon(rounds: number): number | undefined {
    return this.accountant && this.dp ? this.accountant.epsilon(rounds, this.dp.delta) : undefined;
  }

  /** Starts aggregating round `round` (1-based) around the global model the clients started from. */
  begin(round: number, global: Float32Array): RoundAggregation {
    return new RoundAggregation(this, round, global, this.seed);
  }
}

/** One round: {@link add} each client's message in client-id order, then {@link finish}. */
export class RoundAggregation {
  private readonly acc: Accumulator;
  private readonly held: ArrayLike<number>[] = [];
  private readonly bound: number;
  private updates = 0;
  private clipped = 0;
  private finished = false;

  constructor(private readonly defense: Defense, readonly round: number, private readonly global: Float32Array, private readonly seed: number) {
    // Exact sums: a round's aggregate does not depend on the order its updates are added in (see strategy.ts).
    this.acc = new Accumulator(global.length, { exact: true });
    const { robust, dp } = defense;
    this.bound = Math.min(robust.normBound ?? Infinity, dp?.clip ?? Infinity);
  }

  add(message: ClientMessage): void {
    if (this.finished) throw new Error('RoundAggregation.add after finish');
    if (!this.defense.active) { this.acc.addMessage(message); return; }
    const { robust, dp } = this.defense;
    for (const [name, v] of Object.entries(message)) {
      if (name !== 'params') {
        if (dp) throw new FedmanError(`field 'dp': algorithm '${this.defense.strategy.name}' sent '${name}', which differential privacy does not cover`);
        this.acc.add(name, v.value, v.weight);
        continue;
      }
      let params: ArrayLike<number> = v.value;
      if (this.bound < Infinity) {
        const b = boundUpdate(params, this.global, this.bound);
        params = b.params;
        if (b.clipped) this.clipped++;
      }
      this.updates++;
      if (robust.rule === 'mean') this.acc.add('params', params, dp ? 1 : v.weight);
      else this.held.push(params);
    }
  }

  finish(): DefendedRound {
    if (this.finished) throw new Error('RoundAggregation.finish called twice');
    this.finished = true;
    const out: DefendedRound = { sums: this.acc, updates: this.updates, clipped: this.clipped };
    if (!this.defense.active) {
      out.updates = this.acc.count('params');
      return out;
    }
    const { robust, dp } = this.defense;
    const n = this.updates;
    if (robust.rule !== 'mean' && n > 0) {
      let agg: Float64Array;
      if (robust.rule === 'median') agg = coordinateMedian(this.held);
      else if (robust.rule === 'trimmed-mean') agg = trimmedMean(this.held, robust.trim);
      else {
        const k = multiKrum(this.held, robust.byzantine, robust.rule === 'krum' ? 1 : robust.select);
        agg = k.value;
        out.selected = k.selected;
      }
      this.held.length = 0;
      this.acc.setMean('params', agg, n);
    }
    if (dp) {
      if (n > 0) {
        const mean = this.acc.mean('params')!;
        addGaussianNoise(mean, dpNoiseStd(dp.clip, dp.noiseMultiplier, n), dpNoiseRng(this.seed, this.round));
        this.acc.setMean('params', mean, n);
      }
      out.dpEpsilon = this.defense.epsilon(this.round);
    }
    return out;
  }
}
