/**
 * The exact superaccumulator against an exact BigInt reference: random float32 vectors over the whole float32
 * exponent range (subnormals included), heavy cancellation, weights, ties; every order of addition and every
 * partition into merged partial sums gives bitwise the same, correctly rounded result.
 */
import t from 'tap';
import { ExactScalar, ExactSum } from '../../src/util/exact-sum.js';
import { Rng } from '../../src/util/rng.js';

const SCALE = 1074n; // every finite float64 is an integer multiple of 2^-1074

/** x as an integer multiple of 2^-1074 (exact). */
function toBig(x: number): bigint {
  if (x === 0) return 0n;
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, x);
  const bits = dv.getBigUint64(0);
  const sign = bits >> 63n ? -1n : 1n;
  const exp = Number((bits >> 52n) & 0x7ffn);
  const frac = bits & ((1n << 52n) - 1n);
  const mant = exp === 0 ? frac : frac | (1n << 52n);
  const shift = BigInt(Math.max(exp, 1) - 1);
  return sign * (mant << shift);
}

/** The float64 nearest to s·2^-scale (ties to even), for results in the normal range or exact small ones. */
function fromBig(s: bigint, scale = Number(SCALE)): number {
  if (s === 0n) return 0;
  const neg = s < 0n;
  let a = neg ? -s : s;
  const bits = a.toString(2).length;
  let e = -scale;
  if (bits > 53) {
    const shift = BigInt(bits - 53);
    const q = a >> shift;
    const r = a - (q << shift);
    const half = 1n << (shift - 1n);
    a = r > half || (r === half && (q & 1n) === 1n) ? q + 1n : q;
    e += Number(shift);
  }
  // Apply 2^e in steps that stay in range.
  let v = Number(a);
  while (e < -1000) { v *= 2 ** -1000; e += 1000; }
  while (e > 1000) { v *= 2 ** 1000; e -= 1000; }
  v *= 2 ** e;
  return neg ? -v : v;
}

/** A float32 of random sign, significand and exponent over the whole float32 range (subnormals included). */
function randomF32(rng: Rng, minExp = -149, maxExp = 127): number {
  const m = 1 + rng.uniform();
  const e = minExp + rng.int(maxExp - minExp + 1);
  return Math.fround((rng.uniform() < 0.5 ? -1 : 1) * m * 2 ** e);
}

function referenceSums(vectors: { v: Float32Array | Float64Array; w: number }[], n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    // w·v exactly: both are float64, so the product is an integer multiple of 2^-2148.
    let s = 0n;
    for (const { v, w } of vectors) s += toBig(w) * toBig(v[i]!);
    out[i] = fromBig(s, 2 * Number(SCALE));
  }
  return out;
}

function bitsEqual(a: Float64Array, b: Float64Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

function sumOf(vectors: { v: Float32Array | Float64Array; w: number }[], n: number, capacity = 3): ExactSum {
  const s = new ExactSum(n, capacity);
  for (const { v, w } of vectors) s.addVector(v, w);
  return s;
}

t.test('the BigInt reference rounds to nearest, ties to even', async (t) => {
  t.equal(fromBig(toBig(1.5)), 1.5);
  t.equal(fromBig(toBig(2 ** -1074)), 2 ** -1074);
  // 1 + 2^-53 is a tie between 1 and 1 + 2^-52: to even → 1; 1 + 3·2^-53 → 1 + 2^-51.
  t.equal(fromBig(toBig(1) + toBig(2 ** -53)), 1);
  t.equal(fromBig(toBig(1) + toBig(3 * 2 ** -53)), 1 + 2 ** -51);
});

t.test('random float32 vectors over the whole exponent range: exact and correctly rounded', async (t) => {
  const rng = new Rng(1);
  const n = 64;
  for (let trial = 0; trial < 12; trial++) {
    const count = 2 + rng.int(30);
    const vectors = Array.from({ length: count }, () => ({
      v: Float32Array.from({ length: n }, () => randomF32(rng)),
      w: trial % 3 === 0 ? 1 : trial % 3 === 1 ? 1 + rng.int(600) : rng.uniform() + 2 ** -(rng.int(40)),
    }));
    const ref = referenceSums(vectors, n);
    t.ok(bitsEqual(sumOf(vectors, n).round(), ref), `trial ${trial}: ${count} vectors equal the exact reference`);
  }
});

t.test('cancellation: huge terms that cancel leave the tiny ones exact', async (t) => {
  const rng = new Rng(2);
  const n = 32;
  const tiny = Array.from({ length: 5 }, () => Float32Array.from({ length: n }, () => randomF32(rng, -149, -120)));
  const huge = Float32Array.from({ length: n }, () => randomF32(rng, 100, 127));
  const vectors = [{ v: huge, w: 1 }, ...tiny.map((v) => ({ v, w: 1 })), { v: huge.map((x) => -x), w: 1 }, { v: huge, w: 0.75 }, { v: huge, w: 0.25 }];
  const negHuge = { v: huge.map((x) => -x), w: 1 };
  vectors.push(negHuge);
  const s = sumOf(vectors, n).round();
  const ref = referenceSums(vectors, n);
  t.ok(bitsEqual(s, ref), 'equal to the reference');
  // The naive float64 sum loses the tiny terms entirely.
  let lost = 0;
  for (let i = 0; i < n; i++) {
    let naive = 0;
    for (const { v, w } of vectors) naive += w * v[i]!;
    if (naive !== s[i]) lost++;
  }
  t.ok(lost > 0, `the naive float64 sum differs in ${lost}/${n} coordinates`);
  t.ok(s.some((x) => x !== 0), 'the tiny terms survive');
});

t.test('float64 values times float64 weights (TwoProduct) are exact', async (t) => {
  const rng = new Rng(3);
  const n = 48;
  const vectors = Array.from({ length: 20 }, () => ({
    v: Float64Array.from({ length: n }, () => (rng.uniform() - 0.5) * 2 ** (rng.int(200) - 100)),
    w: rng.uniform() * 2 ** (rng.int(20) - 10) + 1e-9,
  }));
  t.ok(bitsEqual(sumOf(vectors, n).round(), referenceSums(vectors, n)));
});

t.test('any order and any partition into merged partial sums gives bitwise the same sums', async (t) => {
  const rng = new Rng(4);
  const n = 200;
  const vectors = Array.from({ length: 40 }, (_, k) => ({
    v: Float32Array.from({ length: n }, () => randomF32(rng, k % 4 === 0 ? -149 : -30, k % 4 === 0 ? 127 : 5)),
    w: (1 + rng.int(50)) * (1 + rng.int(10)) ** -0.5,
  }));
  const want = sumOf(vectors, n).round();
  t.ok(bitsEqual(want, referenceSums(vectors, n)), 'the in-order sum is the exact one');
  for (let trial = 0; trial < 8; trial++) {
    const order = rng.permutation(vectors.length);
    const parts = 1 + rng.int(5);
    const partials = Array.from({ length: parts }, () => new ExactSum(n, 1 + rng.int(4)));
    for (const k of order) partials[rng.int(parts)]!.addVector(vectors[k]!.v, vectors[k]!.w);
    // Merge in a random order, some after an encode/decode round trip (as partial sums shipped between machines).
    const total = new ExactSum(n);
    for (const k of rng.permutation(parts)) {
      const p = partials[k]!;
      total.merge(rng.uniform() < 0.5 ? ExactSum.decode(p.encode()) : p);
    }
    t.ok(bitsEqual(total.round(), want), `trial ${trial}: ${parts} partial sums in random order`);
  }
});

t.test('partials spill past the inline capacity and stay exact', async (t) => {
  // Values 2^(60k) for k = -5..5 cannot be held in fewer than 11 partials.
  const n = 3;
  const vectors = Array.from({ length: 11 }, (_, k) => ({ v: Float64Array.from({ length: n }, (_, i) => (i + 1) * 2 ** (60 * (k - 5))), w: 1 }));
  const s = sumOf(vectors, n, 2);
  t.equal(s.spilled, n);
  t.ok(bitsEqual(s.round(), referenceSums(vectors, n)));
  const back = ExactSum.decode(s.encode(), 2);
  t.ok(bitsEqual(back.round(), s.round()), 'encode/decode keeps a spilled sum');
  for (const { v } of vectors) back.addVector(v.map((x) => -x));
  t.same(Array.from(back.round()), [0, 0, 0], 'subtracting everything leaves exactly 0');
});

t.test('non-finite inputs, weights, sizes', async (t) => {
  const s = new ExactSum(3);
  s.addVector(Float32Array.from([1, Infinity, Infinity]));
  s.addVector(Float32Array.from([2, 1, -Infinity]));
  const r = s.round();
  t.equal(r[0], 3);
  t.equal(r[1], Infinity);
  t.ok(Number.isNaN(r[2]));
  t.ok(Number.isNaN(ExactSum.decode(s.encode()).value(2)), 'specials survive encoding');
  for (const w of [0.5, 0.1, 3e-5]) {
    const inf = new ExactSum(2);
    inf.addVector(Float32Array.from([Infinity, -Infinity]), w);
    t.same(Array.from(inf.round()), [Infinity, -Infinity], `±Infinity × ${w} stays ±Infinity`);
  }
  t.throws(() => s.addVector(new Float32Array(2)), /vector has 2 values, expected 3/);
  t.throws(() => s.addVector(new Float32Array(3), -1), /weight must be 0 or in/);
  t.throws(() => s.addVector(new Float32Array(3), 2 ** -700), /weight must be 0 or in/);
  t.throws(() => ExactSum.decode(new Uint8Array(30)), /not an exact sum/);
  const big = new ExactSum(1);
  big.add(0, Number.MAX_VALUE);
  big.add(0, Number.MAX_VALUE);
  t.throws(() => big.value(0), /exceeds the float64 range/);
  const sc = new ExactScalar();
  for (const x of [0.1, 0.2, 0.3, -0.6]) sc.add(x);
  t.equal(sc.value(), fromBig(toBig(0.1) + toBig(0.2) + toBig(0.3) + toBig(-0.6)), 'exact scalar');
  t.equal(ExactScalar.decode(sc.encode()).value(), sc.value());
});
