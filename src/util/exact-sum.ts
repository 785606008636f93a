/**
 * Exact, order-independent sums of weighted vectors: a superaccumulator per coordinate that holds the exact sum of
 * every value added as a short list of non-overlapping float64 "partials" (Shewchuk 1997, "Adaptive precision
 * floating-point arithmetic and fast robust geometric predicates"; the representation of Python's `math.fsum`), and
 * rounds it to float64 once, correctly (round to nearest, ties to even), when read.
 *
 * Because nothing is rounded before the final read, the result is a function of the multiset of values only: any
 * order of additions, and any partition into partial sums that are {@link ExactSum.merge}d afterwards (from other
 * threads, processes or machines, via {@link ExactSum.encode}), gives bitwise the same sums.
 *
 * Weighted values are made exact before they are added: a float32 value times a float64 weight is split into two
 * products that float64 holds exactly (the weight cut into 29 + 24 significant bits), a float64 value times a weight
 * into a product and its exact rounding error (Dekker's TwoProduct). This holds while no product underflows, which
 * the accepted weight range [2^-600, 2^600] guarantees for values of float32 range; larger sums than 2^1023 are an
 * error, not a silent infinity. Non-finite inputs are not summed exactly: a coordinate that received one reads as
 * the float64 sum of its non-finite inputs (±Infinity or NaN), also independent of order.
 *
 * Memory: `capacity` partials per coordinate inline (8 bytes each, 3 by default), more in a side table for the
 * rare coordinates that need them; O(model) whatever the number of vectors added.
 */
import { FedmanError } from './errors.js';

const OVERFLOW = 255;
/** 2^27 + 1: Veltkamp's splitter for float64 × float64 products. */
const SPLIT_53 = 134217729;
/** 2^24 + 1: cuts a float64 weight into 29 high bits and 24 low bits, so each times a float32 is exact. */
const SPLIT_W = 16777217;
const MIN_WEIGHT = 2 ** -600;
const MAX_WEIGHT = 2 ** 600;
const MAGIC = 0x53584d46; // 'FMXS' little-endian
const HEADER_BYTES = 24;

export class ExactSum {
  private parts: Float64Array;
  private lens: Uint8Array;
  private readonly spill = new Map<number, number[]>();
  private special: Float64Array | null = null;
  private readonly scratch: Float64Array;
  private readonly gaps: Float64Array;

  constructor(readonly size: number, readonly capacity = 3) {
    if (!(capacity >= 1 && capacity < OVERFLOW)) throw new RangeError(`ExactSum capacity must be in [1, ${OVERFLOW - 1}], got ${capacity}`);
    this.parts = new Float64Array(size * capacity);
    this.lens = new Uint8Array(size);
    this.scratch = new Float64Array(capacity + 1);
    this.gaps = new Float64Array(capacity + 1);
  }

  /** Adds one float64 value, exactly, to coordinate `i`. */
  add(i: number, x: number): void {
    if (x === 0) return;
    if (x - x !== 0) { this.addSpecial(i, x); return; }
    const len = this.lens[i]!;
    if (len === OVERFLOW) { growList(this.spill.get(i)!, x); return; }
    const p = this.parts;
    const base = i * this.capacity;
    let j = 0;
    for (let k = 0; k < len; k++) {
      const y = p[base + k]!;
      // TwoSum (Knuth): hi + lo = x + y exactly.
      const hi = x + y;
      const bv = hi - x;
      const lo = (x - (hi - bv)) + (y - bv);
      if (lo !== 0) p[base + j++] = lo;
      x = hi;
    }
    if (x !== 0) {
      if (j === this.capacity) {
        // Full: the partials may have gaps that a renormalisation closes; spill only if they still do not fit.
        const e = this.scratch;
        for (let k = 0; k < j; k++) e[k] = p[base + k]!;
        e[j] = x;
        const m = compress(e, j + 1, this.gaps);
        if (m <= this.capacity) {
          for (let k = 0; k < m; k++) p[base + k] = e[k]!;
          this.lens[i] = m;
        } else {
          this.spill.set(i, Array.from(e.subarray(0, m)));
          this.lens[i] = OVERFLOW;
        }
        return;
      }
      p[base + j++] = x;
    }
    this.lens[i] = j;
  }

  /** Adds weight·values[i] to every coordinate i, exactly. */
  addVector(values: ArrayLike<number>, weight = 1): void {
    if (values.length !== this.size) throw new FedmanError(`exact sum: vector has ${values.length} values, expected ${this.size}`);
    checkWeight(weight);
    if (weight === 0) return;
    const n = this.size;
    if (weight === 1 || (values instanceof Float32Array && Number.isInteger(weight) && weight < 2 ** 29)) {
      // Exact products: integers below 2^29 (sample counts) times a float32 fit a float64.
      this.addExactProducts(values, weight);
    } else if (values instanceof Float32Array) {
      // Other weights are cut in two (a non-finite value is added once: its halves could be ∞ and −∞).
      const c = SPLIT_W * weight;
      const w1 = c - (c - weight);
      const w2 = weight - w1;
      for (let i = 0; i < n; i++) {
        const v = values[i]!;
        if (v - v !== 0) { this.add(i, weight * v); continue; }
        this.add(i, w1 * v);
        this.add(i, w2 * v);
      }
    } else {
      const c = SPLIT_53 * weight;
      const wh = c - (c - weight);
      const wl = weight - wh;
      for (let i = 0; i < n; i++) {
        const v = values[i]!;
        const p = weight * v;
        if (p - p !== 0) { this.add(i, p); continue; }
        const cv = SPLIT_53 * v;
        const vh = cv - (cv - v);
        const vl = v - vh;
        this.add(i, p);
        this.add(i, ((wh * vh - p) + wh * vl + wl * vh) + wl * vl);
      }
    }
  }

  /**
   * weight·values[i] for products float64 holds exactly, with the common cases (no partial yet, or one partial
   * and a sum that fits one float64) inline; the rest goes through {@link add}.
   */
  private addExactProducts(values: ArrayLike<number>, weight: number): void {
    const p = this.parts, lens = this.lens, cap = this.capacity;
    for (let i = 0; i < this.size; i++) {
      const x = weight * values[i]!;
      if (x === 0) continue;
      const len = lens[i]!;
      const base = i * cap;
      if (len === 0 && x - x === 0) { p[base] = x; lens[i] = 1; continue; }
      if (len === 1 && x - x === 0) {
        const y = p[base]!;
        const hi = x + y;
        const bv = hi - x;
        if ((x - (hi - bv)) + (y - bv) === 0 && hi - hi === 0) {
          if (hi === 0) lens[i] = 0; else p[base] = hi;
          continue;
        }
      }
      this.add(i, x);
    }
  }

  /** Adds everything `other` holds (an exact merge of two partial sums). */
  merge(other: ExactSum): void {
    if (other.size !== this.size) throw new FedmanError(`exact sum: cannot merge a sum of ${other.size} values into one of ${this.size}`);
    for (let i = 0; i < other.size; i++) {
      const len = other.lens[i]!;
      if (len === OVERFLOW) for (const x of other.spill.get(i)!) this.add(i, x);
      else for (let k = 0; k < len; k++) this.add(i, other.parts[i * other.capacity + k]!);
    }
    if (other.special) for (let i = 0; i < other.size; i++) if (other.special[i] !== 0) this.addSpecial(i, other.special[i]!);
  }

  /** The exact sum of coordinate `i`, rounded once to the nearest float64 (ties to even). */
  value(i: number): number {
    if (this.special && this.special[i] !== 0) return this.special[i]!;
    const len = this.lens[i]!;
    const p = len === OVERFLOW ? this.spill.get(i)! : this.parts.subarray(i * this.capacity, i * this.capacity + len);
    return roundPartials(p, p.length, i);
  }

  /** Every coordinate's sum (see {@link value}). */
  round(): Float64Array {
    const out = new Float64Array(this.size);
    for (let i = 0; i < this.size; i++) out[i] = this.value(i);
    return out;
  }

  /** Coordinates whose exact sum needed more partials than fit inline (a measure of the side table's use). */
  get spilled(): number {
    return this.spill.size;
  }

  /**
   * The exact state as bytes (little-endian), for checkpoints and for shipping partial sums to be merged elsewhere.
   * Layout: a 24-byte header (magic, format 1, size, partial count, special count), the partials (float64), the
   * special values (float64) and their coordinates (uint32), the per-coordinate partial counts (uint16).
   */
  encode(): Uint8Array {
    let total = 0;
    for (let i = 0; i < this.size; i++) total += this.count(i);
    const specials: number[] = [];
    if (this.special) for (let i = 0; i < this.size; i++) if (this.special[i] !== 0) specials.push(i);
    const bytes = new Uint8Array(HEADER_BYTES + 8 * total + 12 * specials.length + 2 * this.size);
    const dv = new DataView(bytes.buffer);
    dv.setUint32(0, MAGIC, true);
    dv.setUint32(4, 1, true);
    dv.setUint32(8, this.size, true);
    dv.setUint32(12, total, true);
    dv.setUint32(16, specials.length, true);
    let off = HEADER_BYTES;
    const lensAt = bytes.length - 2 * this.size;
    for (let i = 0; i < this.size; i++) {
      const len = this.lens[i]!;
      const list: ArrayLike<number> = len === OVERFLOW ? this.spill.get(i)! : this.parts.subarray(i * this.capacity, i * this.capacity + len);
      for (let k = 0; k < list.length; k++, off += 8) dv.setFloat64(off, list[k]!, true);
      dv.setUint16(lensAt + 2 * i, list.length, true);
    }
    for (const i of specials) { dv.setFloat64(off, this.special![i]!, true); off += 8; }
    for (const i of specials) { dv.setUint32(off, i, true); off += 4; }
    return bytes;
  }

  /** Reads {@link encode}'s bytes back (the same exact sums). */
  static decode(bytes: Uint8Array, capacity = 3, where = 'exact sum'): ExactSum {
    if (bytes.length < HEADER_BYTES) throw new FedmanError(`${where} is truncated`);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (dv.getUint32(0, true) !== MAGIC || dv.getUint32(4, true) !== 1) throw new FedmanError(`${where} is not an exact sum (format 1)`);
    const size = dv.getUint32(8, true), total = dv.getUint32(12, true), nspecial = dv.getUint32(16, true);
    if (bytes.length !== HEADER_BYTES + 8 * total + 12 * nspecial + 2 * size) throw new FedmanError(`${where} has the wrong length`);
    const s = new ExactSum(size, capacity);
    const lensAt = bytes.length - 2 * size;
    let off = HEADER_BYTES;
    for (let i = 0; i < size; i++) {
      const len = dv.getUint16(lensAt + 2 * i, true);
      // The partials are already non-overlapping and increasing: put them back as they are.
      if (len > capacity) {
        const list: number[] = [];
        for (let k = 0; k < len; k++, off += 8) list.push(dv.getFloat64(off, true));
        s.spill.set(i, list);
        s.lens[i] = OVERFLOW;
      } else {
        for (let k = 0; k < len; k++, off += 8) s.parts[i * capacity + k] = dv.getFloat64(off, true);
        s.lens[i] = len;
      }
    }
    const values: number[] = [];
    for (let k = 0; k < nspecial; k++, off += 8) values.push(dv.getFloat64(off, true));
    for (let k = 0; k < nspecial; k++, off += 4) s.addSpecial(dv.getUint32(off, true), values[k]!);
    return s;
  }

  private count(i: number): number {
    const len = this.lens[i]!;
    return len === OVERFLOW ? this.spill.get(i)!.length : len;
  }

  private addSpecial(i: number, x: number): void {
    // ±Infinity and NaN under + are commutative and associative (inf + inf = inf, inf − inf = NaN, NaN sticks).
    this.special ??= new Float64Array(this.size);
    this.special[i]! += x;
  }
}

/** One exact scalar sum (e.g. the total weight of a weighted mean). */
export class ExactScalar {
  private readonly s = new ExactSum(1, 4);
  add(x: number): void { this.s.add(0, x); }
  merge(o: ExactScalar): void { this.s.merge(o.s); }
  value(): number { return this.s.value(0); }
  encode(): Uint8Array { return this.s.encode(); }
  static decode(bytes: Uint8Array, where?: string): ExactScalar {
    const e = new ExactScalar();
    e.s.merge(ExactSum.decode(bytes, 4, where));
    return e;
  }
}

function checkWeight(w: number): void {
  if (!(w === 0 || (w >= MIN_WEIGHT && w <= MAX_WEIGHT))) {
    throw new FedmanError(`exact sum: weight must be 0 or in [2^-600, 2^600] (exact products), got ${w}`);
  }
}

/** Shewchuk's grow step on a JS array of partials (the side table). */
function growList(p: number[], x: number): void {
  let j = 0;
  for (let k = 0; k < p.length; k++) {
    const y = p[k]!;
    const hi = x + y;
    const bv = hi - x;
    const lo = (x - (hi - bv)) + (y - bv);
    if (lo !== 0) p[j++] = lo;
    x = hi;
  }
  p.length = j;
  if (x !== 0) p.push(x);
  if (p.length > 8) p.length = compress(p, p.length);
}

/**
 * Shewchuk's Compress, in place: the same exact value in as few non-overlapping partials as it takes (each of
 * them but the largest below half an ulp of the next), still in increasing magnitude.
 */
function compress(e: Float64Array | number[], m: number, g: Float64Array | number[] = new Array<number>(m)): number {
  if (m < 2) return m === 1 && e[0] === 0 ? 0 : m;
  let bottom = m - 1;
  let q = e[m - 1]!;
  for (let i = m - 2; i >= 0; i--) {
    const a = q, b = e[i]!;
    const sum = a + b;
    const lo = b - (sum - a);
    if (lo !== 0) { g[bottom--] = sum; q = lo; } else q = sum;
  }
  g[bottom] = q;
  let top = 0;
  q = g[bottom]!;
  for (let i = bottom + 1; i < m; i++) {
    const a = g[i]!, b = q;
    const sum = a + b;
    const lo = b - (sum - a);
    if (lo !== 0) e[top++] = lo;
    q = sum;
  }
  // A zero can only be the whole value; drop it.
  if (q !== 0 || top > 0) e[top++] = q;
  return top;
}

/**
 * The correctly rounded float64 of non-overlapping partials in increasing magnitude: summed from the top until the
 * sum becomes inexact, then the half-way case fixed up from the sign of what lies below (Python's math.fsum).
 */
function roundPartials(p: ArrayLike<number>, n: number, i: number): number {
  if (n === 0) return 0;
  let k = n - 1;
  let hi = p[k]!;
  let lo = 0;
  while (k > 0) {
    const x = hi;
    const y = p[--k]!;
    hi = x + y;
    lo = y - (hi - x);
    if (lo !== 0) break;
  }
  if (k > 0 && ((lo < 0 && p[k - 1]! < 0) || (lo > 0 && p[k - 1]! > 0))) {
    const y = lo * 2;
    const x = hi + y;
    if (y === x - hi) hi = x;
  }
  if (hi - hi !== 0) throw new FedmanError(`exact sum: coordinate ${i} exceeds the float64 range`);
  return hi;
}
