/**
 * Small, fast, seeded pseudo-random number generator (xoshiro128**, seeded through splitmix32).
 *
 * All integer arithmetic is 32-bit (`Math.imul`, `>>>`), so the raw stream is bit-identical on every platform.
 * The derived real-valued draws (`normal`, `gamma`, `dirichlet`) use `Math.log`/`Math.sqrt`/`Math.cos`, which V8
 * implements with its own portable fdlibm port, so they are reproducible across Node installs as well.
 *
 * Use one `Rng` per purpose (data shuffling, partitioning, client sampling, …) and derive independent streams
 * with {@link Rng.fork} or {@link createRng}`(seed, stream)` rather than sharing a generator between modules,
 * so that adding draws in one place does not change the numbers seen elsewhere.
 */

const TWO_POW_32 = 4294967296;
const TWO_POW_53 = 9007199254740992;

/** splitmix32 step: used to expand a 32-bit seed into the 128-bit xoshiro state. */
function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** Mixes a seed and an optional stream id into one 32-bit value (order-sensitive). */
function mixSeed(seed: number, stream: number): number {
  // Accept any finite number as seed: fold the high part of large integers in so that 2**32 + 1 ≠ 1.
  const lo = seed >>> 0;
  const hi = Math.floor(seed / TWO_POW_32) >>> 0;
  const st = { s: lo ^ Math.imul(hi, 0x27d4eb2d) };
  let h = splitmix32(st);
  st.s = (h ^ Math.imul(stream >>> 0, 0x165667b1)) | 0;
  h = splitmix32(st);
  return h;
}

/** xoshiro128** generator with convenience draws. Not cryptographically secure. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  /** Cached second Box-Muller variate (NaN when none is cached). */
  private spare = NaN;

  /**
   * @param seed any finite number (integers are used as-is; fractions are truncated)
   * @param stream optional stream id: the same seed with different streams gives independent sequences
   */
  constructor(seed: number, stream = 0) {
    if (!Number.isFinite(seed)) throw new RangeError(`Rng seed must be a finite number, got ${seed}`);
    const st = { s: mixSeed(Math.trunc(seed), Math.trunc(stream)) };
    this.a = splitmix32(st) | 0;
    this.b = splitmix32(st) | 0;
    this.c = splitmix32(st) | 0;
    this.d = splitmix32(st) | 0;
    if ((this.a | this.b | this.c | this.d) === 0) this.d = 1; // the all-zero state is a fixed point
  }

  /** Next raw 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9);
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result >>> 0;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / TWO_POW_53;
  }

  /** Uniform double in [lo, hi). */
  uniformRange(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }

  /** Uniform integer in [0, n), unbiased (rejection sampling), for 1 ≤ n ≤ 2^32. */
  int(n: number): number {
    if (!(n >= 1) || n > TWO_POW_32 || !Number.isInteger(n)) throw new RangeError(`Rng.int: n must be an integer in [1, 2^32], got ${n}`);
    if (n === 1) return 0;
    // Largest multiple of n that fits in 2^32; draws at or above it are rejected.
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    for (;;) {
      const r = this.nextUint32();
      if (r < limit) return r % n;
    }
  }

  /** Fisher-Yates shuffle in place; returns the same array. */
  shuffle<T extends { length: number; [i: number]: unknown }>(arr: T): T {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = arr[i];
      arr[i] = arr[j];
      arr[j] = tmp;
    }
    return arr;
  }

  /** A uniformly random permutation of 0..n-1. */
  permutation(n: number): number[] {
    const p = new Array<number>(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }

  /** `k` distinct integers from [0, n), in random order (partial Fisher-Yates). */
  sampleWithoutReplacement(n: number, k: number): number[] {
    if (k > n || k < 0) throw new RangeError(`Rng.sampleWithoutReplacement: k=${k} not in [0, ${n}]`);
    const p = new Array<number>(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = 0; i < k; i++) {
      const j = i + this.int(n - i);
      const tmp = p[i];
      p[i] = p[j];
      p[j] = tmp;
    }
    p.length = k;
    return p;
  }

  /** Normal draw (Box-Muller, polar-free form; the second variate is cached). */
  normal(mean = 0, std = 1): number {
    if (!Number.isNaN(this.spare)) {
      const z = this.spare;
      this.spare = NaN;
      return mean + std * z;
    }
    let u1 = this.uniform();
    while (u1 === 0) u1 = this.uniform();
    const u2 = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    const theta = 2 * Math.PI * u2;
    this.spare = r * Math.sin(theta);
    return mean + std * r * Math.cos(theta);
  }

  /**
   * Gamma(shape, scale) draw by Marsaglia-Tsang (2000); shapes below 1 use the boost
   * `Gamma(a) = Gamma(a + 1) · U^(1/a)`.
   */
  gamma(shape: number, scale = 1): number {
    if (!(shape > 0) || !Number.isFinite(shape)) throw new RangeError(`Rng.gamma: shape must be > 0, got ${shape}`);
    if (shape < 1) return Math.exp(this.logGamma(shape)) * scale;
    return this.mtGamma(shape) * scale;
  }

  /**
   * Natural log of a Gamma(shape, 1) draw. For tiny shapes the draw itself underflows to 0, but its log
   * stays finite, which is what {@link dirichlet} needs.
   */
  logGamma(shape: number): number {
    if (!(shape > 0) || !Number.isFinite(shape)) throw new RangeError(`Rng.logGamma: shape must be > 0, got ${shape}`);
    if (shape >= 1) return Math.log(this.mtGamma(shape));
    let u = this.uniform();
    while (u === 0) u = this.uniform();
    return Math.log(this.mtGamma(shape + 1)) + Math.log(u) / shape;
  }

  private mtGamma(shape: number): number {
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = this.uniform();
      const x2 = x * x;
      if (u < 1 - 0.0331 * x2 * x2) return d * v;
      if (u > 0 && Math.log(u) < 0.5 * x2 + d * (1 - v + Math.log(v))) return d * v;
    }
  }

  /**
   * Dirichlet draw with concentration vector `alpha` (or `k` copies of a scalar `alpha`).
   * Computed in log space, so very small concentrations (e.g. 0.01) still give a valid simplex point.
   */
  dirichlet(alpha: number | readonly number[], k?: number): number[] {
    const alphas = typeof alpha === 'number' ? new Array<number>(k ?? 0).fill(alpha) : alpha;
    if (alphas.length === 0) throw new RangeError('Rng.dirichlet: need at least one component');
    const logs = alphas.map((a) => this.logGamma(a));
    let max = -Infinity;
    for (const l of logs) if (l > max) max = l;
    let sum = 0;
    const out = logs.map((l) => {
      const e = Math.exp(l - max);
      sum += e;
      return e;
    });
    for (let i = 0; i < out.length; i++) out[i] /= sum;
    return out;
  }

  /** Index drawn from unnormalised non-negative weights (linear scan). Throws if all weights are 0. */
  categorical(weights: ArrayLike<number>): number {
    let total = 0;
    for (let i = 0; i < weights.length; i++) total += weights[i];
    if (!(total > 0)) throw new RangeError('Rng.categorical: weights sum to 0');
    let u = this.uniform() * total;
    let last = -1;
    for (let i = 0; i < weights.length; i++) {
      if (weights[i] <= 0) continue;
      last = i;
      u -= weights[i];
      if (u < 0) return i;
    }
    return last; // rounding put u at the very top: the last positive weight
  }

  /** An independent generator derived from this one's next output and a stream id. */
  fork(stream = 0): Rng {
    return new Rng(this.nextUint32(), stream);
  }

  /** Snapshot of the internal state (for checkpoints; JSON-safe: a missing cached normal is `null`). */
  getState(): (number | null)[] {
    return [this.a, this.b, this.c, this.d, Number.isNaN(this.spare) ? null : this.spare];
  }

  /** Restores a snapshot taken with {@link getState}. */
  setState(state: readonly (number | null)[]): void {
    if (state.length !== 5) throw new RangeError('Rng.setState: expected 5 entries');
    [this.a, this.b, this.c, this.d] = state.slice(0, 4).map((v) => Number(v) | 0);
    const spare = state[4];
    this.spare = typeof spare === 'number' ? spare : NaN;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Creates a seeded generator; `stream` selects an independent sequence for the same seed. */
export function createRng(seed: number, stream = 0): Rng {
  return new Rng(seed, stream);
}

/** Shuffles `arr` in place with a generator (convenience wrapper over {@link Rng.shuffle}). */
export function shuffle<T extends { length: number; [i: number]: unknown }>(arr: T, rng: Rng): T {
  return rng.shuffle(arr);
}

/** Uniform double in [0, 1). */
export function uniform(rng: Rng): number {
  return rng.uniform();
}

/** Normal draw with the given mean and standard deviation. */
export function normal(rng: Rng, mean = 0, std = 1): number {
  return rng.normal(mean, std);
}

/** Gamma(shape, scale) draw. */
export function gamma(rng: Rng, shape: number, scale = 1): number {
  return rng.gamma(shape, scale);
}

/** Dirichlet draw. */
export function dirichlet(rng: Rng, alpha: number | readonly number[], k?: number): number[] {
  return rng.dirichlet(alpha, k);
}
