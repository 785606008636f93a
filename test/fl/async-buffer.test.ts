/**
 * The asynchronous buffer of the round core: staleness weights and drops, publication every bufferSize accepted
 * updates, the weighted mean delta through each algorithm's server step, order independence within a buffer,
 * checkpointing mid-buffer, and the strategies and options it refuses.
 */
import t from 'tap';
import { AsyncAdmission, AsyncBuffer, asyncProblems, stalenessWeight, type AsyncSettings } from '../../src/fl/round/index.js';
import { Accumulator, createStrategy, type ClientContext, type LocalResult, type Strategy } from '../../src/fl/index.js';
import { mergeConfig } from '../../src/config/index.js';
import { Rng } from '../../src/util/rng.js';

const N = 6;
const SETTINGS: AsyncSettings = { bufferSize: 3, maxStaleness: 2, stalenessExponent: 0.5, serverLr: 1 };

function ctxFor(clientId: number, global: Float32Array, numSamples: number): ClientContext {
  return { round: 1, lr: 0.1, baseLr: 0.1, numClients: 10, participants: [clientId], clientId, numSamples, global, server: { vectors: {}, scalars: {} }, state: {} };
}

function result(clientId: number, params: Float32Array, numSamples: number): LocalResult {
  return { clientId, params, numSamples, steps: 1, samples: numSamples, loss: 1, ce: 1, man: 0, accuracy: 0.5, seconds: 0 };
}

function randomVec(rng: Rng, scale = 1): Float32Array {
  return Float32Array.from({ length: N }, () => Math.fround(rng.normal(0, scale)));
}

t.test('staleness weights: (1 + s)^-a, FedBuff\'s 1/√(1+s) by default, 1 with a = 0', async (t) => {
  t.equal(stalenessWeight(0, 0.5), 1);
  t.equal(stalenessWeight(3, 0.5), 0.5);
  t.equal(stalenessWeight(1, 1), 0.5);
  t.equal(stalenessWeight(7, 0), 1);
});

t.test('admission: drops past maxStaleness, publishes every bufferSize accepted updates', async (t) => {
  const a = new AsyncAdmission({ bufferSize: 2, maxStaleness: 1 });
  t.same(a.offer(0), { accepted: true, staleness: 0, publishes: false });
  t.same(a.offer(0), { accepted: true, staleness: 0, publishes: true });
  t.equal(a.version, 1);
  t.same(a.offer(0), { accepted: true, staleness: 1, publishes: false });
  t.same(a.offer(1), { accepted: true, staleness: 0, publishes: true });
  t.same(a.offer(0), { accepted: false, staleness: 2, publishes: false }, 'two versions old: dropped');
  t.equal(a.buffered, 0, 'a dropped update does not count');
  t.throws(() => a.offer(3), /from version 3, but the latest version is 2/);
  const never = new AsyncAdmission({ bufferSize: 1, maxStaleness: null });
  for (let i = 0; i < 5; i++) never.offer(0);
  t.equal(never.version, 5, 'maxStaleness null never drops');
});

t.test('FedAvg: the published model is w + η·Σ n_k (1+s_k)^-a Δ_k / Σ n_k', async (t) => {
  const rng = new Rng(1);
  const g0 = randomVec(rng);
  const strategy = createStrategy('fedavg');
  const settings = { ...SETTINGS, serverLr: 0.7 };
  const b = new AsyncBuffer(strategy, settings, { version: 0, global: g0, server: strategy.initServer(g0, 10) });
  // Version 1 from three fresh updates.
  const first = [0, 1, 2].map((c) => ({ c, n: 10 + c, p: randomVec(rng) }));
  let published;
  for (const u of first) published = b.offer({ ctx: ctxFor(u.c, g0, u.n), startVersion: 0, result: result(u.c, u.p, u.n) }).published;
  t.ok(published, 'the third accepted update publishes');
  t.equal(published!.version, 1);
  const want1 = new Float32Array(N);
  const total = first.reduce((s, u) => s + u.n, 0);
  for (let i = 0; i < N; i++) want1[i] = g0[i]! + 0.7 * (first.reduce((s, u) => s + u.n * (u.p[i]! - g0[i]!), 0) / total);
  let worst = 0;
  for (let i = 0; i < N; i++) worst = Math.max(worst, Math.abs(published!.global[i]! - want1[i]!));
  t.ok(worst < 1e-6, `matches the formula (max diff ${worst})`);
  // Version 2: one stale update (from version 0, s = 1) and two fresh ones; the stale one weighs 1/√2.
  const g1 = published!.global;
  const stale = { c: 3, n: 20, p: randomVec(rng) };
  const fresh = [4, 5].map((c) => ({ c, n: 20, p: randomVec(rng) }));
  t.equal(b.offer({ ctx: ctxFor(stale.c, g0, stale.n), startVersion: 0, result: result(stale.c, stale.p, stale.n) }).staleness, 1);
  let v2;
  for (const u of fresh) v2 = b.offer({ ctx: ctxFor(u.c, g1, u.n), startVersion: 1, result: result(u.c, u.p, u.n) }).published;
  t.equal(v2!.meanStaleness, 1 / 3);
  t.equal(v2!.maxStaleness, 1);
  t.same(v2!.participants, [3, 4, 5]);
  for (let i = 0; i < N; i++) {
    const d = (20 * Math.SQRT1_2 * (stale.p[i]! - g0[i]!) + 20 * (fresh[0]!.p[i]! - g1[i]!) + 20 * (fresh[1]!.p[i]! - g1[i]!)) / 60;
    worst = Math.max(worst, Math.abs(v2!.global[i]! - (g1[i]! + 0.7 * d)));
  }
  t.ok(worst < 1e-6, `stale update discounted (max diff ${worst})`);
  // Too stale: maxStaleness 2 drops an update from version 0 once version 3 exists.
  t.equal(b.version, 2);
  t.equal(b.offer({ ctx: ctxFor(0, g0, 5), startVersion: 0, result: result(0, randomVec(rng), 5) }).accepted, true, 's = 2 is still accepted');
});

t.test('a buffer\'s published model does not depend on the order its updates arrived in', async (t) => {
  const rng = new Rng(2);
  const g0 = randomVec(rng, 0.1);
  const strategy = createStrategy('fedadam');
  const settings = { ...SETTINGS, bufferSize: 5, maxStaleness: null };
  const updates = Array.from({ length: 5 }, (_, c) => ({ c, n: 1 + rng.int(500), p: Float32Array.from(g0, (x) => Math.fround(x + rng.normal(0, 1e-3 * (1 + c)))) }));
  const publishOrder = (order: number[]) => {
    const b = new AsyncBuffer(strategy, settings, { version: 0, global: g0, server: strategy.initServer(g0, 5) });
    let out;
    for (const k of order) { const u = updates[k]!; out = b.offer({ ctx: ctxFor(u.c, g0, u.n), startVersion: 0, result: result(u.c, u.p, u.n) }).published; }
    return out!;
  };
  const a = publishOrder([0, 1, 2, 3, 4]);
  for (const order of [[4, 3, 2, 1, 0], [2, 0, 4, 1, 3], [1, 3, 0, 4, 2]]) {
    const b = publishOrder(order);
    t.same(Array.from(b.global), Array.from(a.global), `order ${order}: bitwise the same model`);
    t.same(Array.from(b.server.vectors.m!), Array.from(a.server.vectors.m!), 'and server state');
  }
});

t.test('server optimisers step on the buffered pseudo-gradient exactly as on a round\'s mean', async (t) => {
  const rng = new Rng(3);
  const g0 = randomVec(rng, 0.1);
  for (const name of ['fedavgm', 'fedadam', 'fedyogi', 'fedadagrad', 'fedprox', 'fedsam', 'fedasam']) {
    const strategy: Strategy = createStrategy(name);
    const server = strategy.initServer(g0, 2);
    const b = new AsyncBuffer(strategy, { ...SETTINGS, bufferSize: 2, stalenessExponent: 0 }, { version: 0, global: g0, server });
    const ps = [randomVec(rng, 0.1), randomVec(rng, 0.1)];
    b.offer({ ctx: ctxFor(0, g0, 4), startVersion: 0, result: result(0, ps[0]!, 4) });
    const v = b.offer({ ctx: ctxFor(1, g0, 4), startVersion: 0, result: result(1, ps[1]!, 4) }).published!;
    // Reference: the strategy's own aggregate on a round whose mean is w + Δ̄ (= the two models' mean here).
    const acc = new Accumulator(N);
    const mean = new Float64Array(N);
    for (let i = 0; i < N; i++) mean[i] = g0[i]! + ((ps[0]![i]! - g0[i]!) * 4 + (ps[1]![i]! - g0[i]!) * 4) / 8;
    acc.setMean('params', mean, 2);
    const ref = strategy.aggregate({ round: 1, lr: 0, baseLr: 0, numClients: 0, participants: [0, 1] }, acc, g0, server);
    t.same(Array.from(v.global), Array.from(ref.global), `${name}: the server step of the strategy`);
  }
});

t.test('checkpointed mid-buffer, a restored buffer publishes bitwise what the original does', async (t) => {
  const rng = new Rng(4);
  const g0 = randomVec(rng);
  const strategy = createStrategy('fedavgm');
  const settings = { ...SETTINGS, bufferSize: 4 };
  const ups = Array.from({ length: 4 }, (_, c) => ({ c, p: randomVec(rng) }));
  const whole = new AsyncBuffer(strategy, settings, { version: 0, global: g0, server: strategy.initServer(g0, 4) }, 0.5);
  let want;
  for (const u of ups) want = whole.offer({ ctx: ctxFor(u.c, g0, 7), startVersion: 0, result: result(u.c, u.p, 7) }).published;
  const first = new AsyncBuffer(strategy, settings, { version: 0, global: g0, server: strategy.initServer(g0, 4) }, 0.5);
  for (const u of ups.slice(0, 2)) first.offer({ ctx: ctxFor(u.c, g0, 7), startVersion: 0, result: result(u.c, u.p, 7) });
  const saved = first.save();
  t.equal(saved.meta.count, 2);
  const restored = AsyncBuffer.load(strategy, settings, saved, 0.5);
  t.equal(restored.buffered, 2);
  let got;
  for (const u of ups.slice(2)) got = restored.offer({ ctx: ctxFor(u.c, g0, 7), startVersion: 0, result: result(u.c, u.p, 7) }).published;
  t.same(Array.from(got!.global), Array.from(want!.global), 'same model');
  t.same(got!.participants, want!.participants);
  t.equal(got!.clipped, want!.clipped);
  t.ok(want!.clipped > 0, 'norm bounding clipped some updates');
});

t.test('refused: per-client state, robust rules, DP — with messages naming the field', async (t) => {
  for (const name of ['scaffold', 'feddyn', 'feddc', 'fedspeed']) {
    const s = createStrategy(name);
    t.match(asyncProblems(s, undefined, null)[0], new RegExp(`field 'aggregation.mode': algorithm '${name}' keeps per-client state`));
    t.throws(() => new AsyncBuffer(s, SETTINGS, { version: 0, global: new Float32Array(2), server: s.initServer(new Float32Array(2), 2) }), /keeps per-client state/);
    t.throws(() => mergeConfig({ algorithm: name, aggregation: { mode: 'async' } }), /asynchronous aggregation cannot keep in step/);
  }
  t.throws(() => mergeConfig({ aggregation: { mode: 'async' }, robust: { rule: 'median' } }), /field 'robust.rule': rule 'median' needs every update/);
  t.throws(() => mergeConfig({ aggregation: { mode: 'async' }, dp: { clip: 1, noiseMultiplier: 1 } }), /field 'dp': the privacy accountant assumes sampled/);
  t.doesNotThrow(() => mergeConfig({ aggregation: { mode: 'async' }, robust: { normBound: 3 }, algorithm: 'fedyogi', man: 0.1 }), 'normBound, server optimisers and MAN are fine');
  t.doesNotThrow(() => mergeConfig({ algorithm: 'scaffold', aggregation: { mode: 'sync', concurrency: 3 } }), 'sync mode takes any algorithm');
  t.throws(() => mergeConfig({ aggregation: { mode: 'later' } }), /field 'aggregation.mode' must be one of "sync", "async"/);
  t.throws(() => mergeConfig({ aggregation: { bufferSize: 0 } }), /field 'aggregation.bufferSize' must be >= 1/);
});
