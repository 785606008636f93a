/**
 * The federated strategy interface (Flower-style): one object per algorithm says
 *
 *  1. what the train-step artifacts need ({@link Strategy.artifactOptions}: client terms such as proxCorrection;
 *     a SAM-type method would request its two-pass step here too),
 *  2. how each participating client is configured for a round ({@link Strategy.configureClient}: the scalar
 *     hyperparameters and per-parameter input vectors fed to the Trainer, e.g. prox_mu, anchor, correction),
 *  3. what a client sends back and how its persistent state changes ({@link Strategy.clientUpdate}),
 *  4. how the server turns the streamed client messages into the next global model ({@link Strategy.aggregate}).
 *
 * Strategies are pure: all mutable state is passed in and returned (server state, per-client state), so the
 * engine can checkpoint it and resume bit-identically. Client messages are summed into running sums
 * ({@link Accumulator}; exact in rounds, so their order does not matter), so the server never holds more than
 * O(model) per message kind.
 *
 * MAN composes with every strategy: ζ is the `man_zeta` hyperparameter the engine sets on each client.
 */
import type { ArtifactOptions } from '../training/artifacts.js';
import { FedmanError } from '../util/errors.js';
import { ExactScalar, ExactSum } from '../util/exact-sum.js';

/** Per-client persistent state, by key (e.g. SCAFFOLD's `c`). A missing key means "all zeros" (never participated). */
export type ClientState = Record<string, Float32Array>;

/** Server-side state: vectors (model-sized, float32) and scalars; everything is saved in checkpoints. */
export interface ServerState {
  vectors: Record<string, Float32Array>;
  scalars: Record<string, number>;
}

/** Facts about the current round, shared by all hooks. */
export interface RoundInfo {
  /** 1-based round number. */
  round: number;
  /** Client learning rate this round (base lr × decay^(round − 1)). */
  lr: number;
  /** Base client learning rate (round 1). */
  baseLr: number;
  /** Total number of clients N. */
  numClients: number;
  /** Participating clients this round, sorted by id. */
  participants: readonly number[];
}

/** Everything a strategy may use to configure one client and to process its result. */
export interface ClientContext extends RoundInfo {
  clientId: number;
  /** Number of training samples the client holds. */
  numSamples: number;
  /** The global model sent to clients this round (read-only). */
  global: Float32Array;
  /** Server state at the start of the round (read-only). */
  server: ServerState;
  /** The client's persistent state (read-only; missing keys are zeros). */
  state: ClientState;
}

/** How the Trainer is set up for a client's local training. */
export interface ClientPlan {
  /** Scalar hyperparameters specific to the strategy (e.g. `prox_mu`). */
  hypers: Record<string, number>;
  /** Per-parameter client inputs (e.g. `anchor`, `correction`) as flat vectors; all of the artifacts' inputs. */
  inputs: Record<string, Float32Array>;
}

/** What local training produced (computed by a worker). */
export interface LocalResult {
  clientId: number;
  /** Final local parameters. */
  params: Float32Array;
  numSamples: number;
  /** Optimiser steps taken (K). */
  steps: number;
  /** Samples processed (epochs × numSamples, or fewer with local steps). */
  samples: number;
  /** Sample-weighted means over the local steps. */
  loss: number;
  ce: number;
  man: number;
  accuracy: number;
  seconds: number;
}

/** A vector a client contributes to a server-side running sum, with its weight. */
export interface WeightedVector {
  value: Float32Array;
  weight: number;
}

/** What a client sends to the server: named vectors, each summed across clients by the engine. */
export type ClientMessage = Record<string, WeightedVector>;

/** How client models are weighted in the average: by sample count (FedAvg) or equally (FedDyn/SCAFFOLD code). */
export type Weighting = 'samples' | 'uniform';

export interface Strategy {
  /** Algorithm name, as in configs. */
  readonly name: string;
  /** Options with every default resolved (recorded in report.json). */
  readonly options: Readonly<Record<string, number | string | boolean>>;
  /** What the train-step artifacts must contain (client terms; later SAM-type steps). */
  readonly artifactOptions: Pick<ArtifactOptions, 'clientTerms' | 'sam'>;
  /** Keys of the per-client state this strategy keeps (empty: stateless clients). */
  readonly clientStateKeys: readonly string[];
  /** Server state for the initial global model. */
  initServer(global: Float32Array, numClients: number): ServerState;
  /** Per-round client configuration. */
  configureClient(ctx: ClientContext): ClientPlan;
  /** Client side after local training: its new persistent state and the message it sends. */
  clientUpdate(ctx: ClientContext, result: LocalResult): { state: ClientState; message: ClientMessage };
  /** Server update from the summed messages. Must not modify `global` or `server` in place. */
  aggregate(info: RoundInfo, sums: Accumulator, global: Float32Array, server: ServerState): { global: Float32Array; server: ServerState };
}

/**
 * Running weighted sums of client vectors: O(model) memory per name, independent of the number of clients.
 *
 * By default in float64, rounded at every addition: add in a fixed (client-id) order for results that do not
 * depend on scheduling. With `exact`, each name is an exact superaccumulator (util/exact-sum.ts) rounded once when
 * read, so the sums do not depend on the order of additions at all, and partial sums made elsewhere can be merged
 * in exactly ({@link mergeFrom}): what asynchronous buffers and sums split over several servers need.
 */
export class Accumulator {
  private sums = new Map<string, Float64Array>();
  private exactSums = new Map<string, ExactSum>();
  private weights = new Map<string, number>();
  private exactWeights = new Map<string, ExactScalar>();
  private counts = new Map<string, number>();
  readonly exact: boolean;

  constructor(readonly size: number, opts: { exact?: boolean } = {}) {
    this.exact = opts.exact ?? false;
  }

  add(name: string, value: ArrayLike<number>, weight = 1): void {
    if (value.length !== this.size) throw new FedmanError(`accumulator '${name}': vector has ${value.length} values, expected ${this.size}`);
    if (!Number.isFinite(weight) || weight < 0) throw new FedmanError(`accumulator '${name}': weight must be a finite number ≥ 0, got ${weight}`);
    if (this.exact && !this.sums.has(name)) {
      this.exactEntry(name).sum.addVector(value, weight);
      this.exactWeights.get(name)!.add(weight);
    } else {
      let s = this.sums.get(name);
      if (!s) { s = new Float64Array(this.size); this.sums.set(name, s); }
      if (weight === 1) for (let i = 0; i < s.length; i++) s[i] += value[i];
      else if (weight !== 0) for (let i = 0; i < s.length; i++) s[i] += weight * value[i];
      this.weights.set(name, (this.weights.get(name) ?? 0) + weight);
    }
    this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
  }

  addMessage(msg: ClientMessage): void {
    for (const [name, v] of Object.entries(msg)) this.add(name, v.value, v.weight);
  }

  /** Adds what another exact accumulator summed (exactly; both must be exact). */
  mergeFrom(other: Accumulator): void {
    if (!this.exact || !other.exact) throw new FedmanError('accumulator: only exact accumulators merge');
    if (other.size !== this.size) throw new FedmanError(`accumulator: cannot merge ${other.size} values into ${this.size}`);
    for (const [name, s] of other.exactSums) {
      const e = this.exactEntry(name);
      e.sum.merge(s);
      e.weight.merge(other.exactWeights.get(name)!);
      this.counts.set(name, (this.counts.get(name) ?? 0) + other.count(name));
    }
  }

  has(name: string): boolean {
    return this.sums.has(name) || this.exactSums.has(name);
  }

  /** Σ weight·value (zeros when nothing was added). */
  sum(name: string): Float64Array {
    const e = this.exactSums.get(name);
    if (e) return e.round();
    return this.sums.get(name) ?? new Float64Array(this.size);
  }

  /** Σ weight. */
  weight(name: string): number {
    const e = this.exactWeights.get(name);
    return e ? e.value() : this.weights.get(name) ?? 0;
  }

  /** Number of vectors added under `name`. */
  count(name: string): number {
    return this.counts.get(name) ?? 0;
  }

  /**
   * Replaces what was summed under `name` so that {@link mean}(name) is exactly `mean` (total weight 1, `count`
   * vectors): for aggregation rules that are not a weighted sum (robust rules, differential privacy; see
   * fl/defense), so that strategies keep reading `mean('params')`.
   */
  setMean(name: string, mean: ArrayLike<number>, count: number): void {
    if (mean.length !== this.size) throw new FedmanError(`accumulator '${name}': vector has ${mean.length} values, expected ${this.size}`);
    this.exactSums.delete(name);
    this.exactWeights.delete(name);
    this.sums.set(name, Float64Array.from(mean));
    this.weights.set(name, 1);
    this.counts.set(name, count);
  }

  /** Σ weight·value / Σ weight, or undefined when the total weight is 0. */
  mean(name: string): Float64Array | undefined {
    const w = this.weight(name);
    if (!(w > 0)) return undefined;
    const s = this.sum(name);
    const out = new Float64Array(this.size);
    for (let i = 0; i < out.length; i++) out[i] = s[i] / w;
    return out;
  }

  private exactEntry(name: string): { sum: ExactSum; weight: ExactScalar } {
    let sum = this.exactSums.get(name);
    if (!sum) {
      sum = new ExactSum(this.size);
      this.exactSums.set(name, sum);
      this.exactWeights.set(name, new ExactScalar());
    }
    return { sum, weight: this.exactWeights.get(name)! };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Small helpers shared by the algorithms.

const zeroCache = new Map<number, Float32Array>();

/** A shared all-zeros vector of length n. Treat as read-only. */
export function zerosShared(n: number): Float32Array {
  let z = zeroCache.get(n);
  if (!z) { z = new Float32Array(n); zeroCache.set(n, z); }
  return z;
}

/** A client-state vector, or zeros when the client has none yet. */
export function stateOr0(state: ClientState, key: string, n: number): Float32Array {
  const v = state[key];
  if (v && v.length !== n) throw new FedmanError(`client state '${key}' has ${v.length} values, expected ${n}`);
  return v ?? zerosShared(n);
}

/** The sample weight of a client under a weighting rule. */
export function clientWeight(weighting: Weighting, numSamples: number): number {
  return weighting === 'samples' ? numSamples : 1;
}

/** Rounds a float64 vector to float32. */
export function toF32(v: Float64Array): Float32Array {
  return Float32Array.from(v);
}

/** The weighted mean of the client models, or the old global when no client had weight. */
export function meanParams(sums: Accumulator, global: Float32Array): Float64Array {
  return sums.mean('params') ?? Float64Array.from(global);
}

/** Checks a numeric option; throws a FedmanError naming the algorithm and option. */
export function checkOption(algo: string, name: string, v: unknown, opts: { min?: number; max?: number; exclusiveMin?: boolean } = {}): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new FedmanError(`${algo}: option '${name}' must be a finite number, got ${JSON.stringify(v)}`);
  if (opts.min !== undefined && (opts.exclusiveMin ? v <= opts.min : v < opts.min)) {
    throw new FedmanError(`${algo}: option '${name}' must be ${opts.exclusiveMin ? '>' : '≥'} ${opts.min}, got ${v}`);
  }
  if (opts.max !== undefined && v > opts.max) throw new FedmanError(`${algo}: option '${name}' must be ≤ ${opts.max}, got ${v}`);
  return v;
}

/** Resolves algorithm options: defaults filled in, unknown keys rejected. */
export function resolveOptions<T extends Record<string, number | string | boolean>>(algo: string, defaults: T, given: Record<string, unknown> = {}): T {
  for (const k of Object.keys(given)) {
    if (!(k in defaults)) {
      const known = Object.keys(defaults);
      throw new FedmanError(`${algo}: unknown option '${k}'${known.length ? ` (known: ${known.join(', ')})` : ' (it takes no options)'}`);
    }
  }
  const out = { ...defaults } as Record<string, unknown>;
  for (const [k, v] of Object.entries(given)) {
    if (v === undefined) continue;
    if (typeof v !== typeof defaults[k]) throw new FedmanError(`${algo}: option '${k}' must be a ${typeof defaults[k]}, got ${JSON.stringify(v)}`);
    out[k] = v;
  }
  return out as T;
}

export function checkWeighting(algo: string, w: unknown): Weighting {
  if (w !== 'samples' && w !== 'uniform') throw new FedmanError(`${algo}: option 'weighting' must be 'samples' or 'uniform', got ${JSON.stringify(w)}`);
  return w;
}
