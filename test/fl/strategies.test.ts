/** The algorithms' client and server rules on tiny hand-checkable vectors (no training). */
import t, { type Test } from 'tap';
import {
  Accumulator, createStrategy, fedavg, fedavgm, fedadam, fedadagrad, fedyogi, feddc, feddyn, fedprox, scaffold, fedsam, fedasam, fedspeed,
  type ClientContext, type LocalResult, type RoundInfo, type ServerState, type Strategy, type ClientState,
} from '../../src/fl/index.js';
import { Rng } from '../../src/util/rng.js';

const f32 = (...v: number[]) => Float32Array.from(v);
const close = (t: Test, a: ArrayLike<number>, b: ArrayLike<number>, tol: number, msg: string) => {
  t.equal(a.length, b.length, `${msg}: length`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
  t.ok(worst <= tol, `${msg}: max rel diff ${worst} <= ${tol}`);
};

function info(round: number, participants: number[], numClients: number, lr = 0.1, baseLr = 0.1): RoundInfo {
  return { round, lr, baseLr, numClients, participants };
}

function ctx(i: RoundInfo, clientId: number, global: Float32Array, server: ServerState, state: ClientState = {}, numSamples = 10): ClientContext {
  return { ...i, clientId, numSamples, global, server, state };
}

function result(clientId: number, params: Float32Array, numSamples = 10, steps = 5): LocalResult {
  return { clientId, params, numSamples, steps, samples: numSamples, loss: 0, ce: 0, man: 0, accuracy: 0, seconds: 0 };
}

/** One round of a strategy on given client results; returns the new global/server and the new client states. */
function round(s: Strategy, i: RoundInfo, global: Float32Array, server: ServerState, states: Map<number, ClientState>, params: Map<number, Float32Array>, sizes?: Map<number, number>) {
  const acc = new Accumulator(global.length);
  const newStates = new Map(states);
  for (const c of i.participants) {
    const cx = ctx(i, c, global, server, states.get(c) ?? {}, sizes?.get(c) ?? 10);
    const { state, message } = s.clientUpdate(cx, result(c, params.get(c)!, sizes?.get(c) ?? 10));
    newStates.set(c, state);
    acc.addMessage(message);
  }
  return { ...s.aggregate(i, acc, global, server), states: newStates };
}

t.test('Accumulator: float64 weighted sums and means', async (t) => {
  const a = new Accumulator(2);
  a.add('p', f32(1, 2), 3);
  a.add('p', f32(3, 4), 1);
  t.same(Array.from(a.sum('p')), [6, 10]);
  t.equal(a.weight('p'), 4);
  t.equal(a.count('p'), 2);
  t.same(Array.from(a.mean('p')!), [1.5, 2.5]);
  t.equal(a.mean('none'), undefined);
  t.throws(() => a.add('p', f32(1)), /expected 2/);
});

t.test('FedAvg: sample-weighted average; uniform on request', async (t) => {
  const g = f32(0, 0);
  const i = info(1, [0, 1], 2);
  const params = new Map([[0, f32(1, 1)], [1, f32(4, 7)]]);
  const sizes = new Map([[0, 30], [1, 10]]);
  const r = round(fedavg(), i, g, { vectors: {}, scalars: {} }, new Map(), params, sizes);
  t.same(Array.from(r.global), [(30 * 1 + 10 * 4) / 40, (30 * 1 + 10 * 7) / 40]);
  const u = round(fedavg({ weighting: 'uniform' }), i, g, { vectors: {}, scalars: {} }, new Map(), params, sizes);
  t.same(Array.from(u.global), [2.5, 4]);
  t.same(fedavg().artifactOptions.clientTerms, []);
});

t.test('FedProx: μ as prox_mu, anchor = global, zero correction; μ = 0 aggregates like FedAvg', async (t) => {
  const s = fedprox();
  t.equal(s.options.mu, 0.01, 'paper default μ = 0.01');
  const g = f32(1, 2, 3);
  const plan = s.configureClient(ctx(info(1, [0], 1), 0, g, s.initServer(g, 1)));
  t.same(plan.hypers, { prox_mu: 0.01 });
  t.equal(plan.inputs.anchor, g);
  t.same(Array.from(plan.inputs.correction!), [0, 0, 0]);
  t.equal(s.artifactOptions.clientTerms![0]!.name, 'prox-correction');
  const p0 = fedprox({ mu: 0 });
  const params = new Map([[0, f32(2, 2, 2)], [1, f32(0, 4, 8)]]);
  const a = round(p0, info(1, [0, 1], 2), g, p0.initServer(g, 2), new Map(), params);
  const b = round(fedavg(), info(1, [0, 1], 2), g, { vectors: {}, scalars: {} }, new Map(), params);
  t.same(Array.from(a.global), Array.from(b.global));
});

t.test('FedDyn: hand-computed client and server updates', async (t) => {
  const alpha = 0.5;
  const s = feddyn({ alpha });
  t.equal(feddyn().options.alpha, 0.01, 'paper default α = 0.01');
  const N = 4;
  const w0 = f32(1, -2);
  let server = s.initServer(w0, N);
  t.same(Array.from(server.vectors.h!), [0, 0]);
  // Round 1: clients 0 and 2 participate.
  const i1 = info(1, [0, 2], N);
  const plan = s.configureClient(ctx(i1, 0, w0, server, { grad: f32(0.2, -0.4) }));
  t.same(plan.hypers, { prox_mu: alpha }, 'prox_mu = α');
  t.same(Array.from(plan.inputs.anchor!), [1, -2], 'anchor = global');
  t.same(Array.from(plan.inputs.correction!), [-Math.fround(0.2), Math.fround(0.4)], 'correction = −g_k');
  const states = new Map<number, ClientState>([[0, { grad: f32(0.2, -0.4) }]]);
  const params = new Map([[0, f32(2, -1)], [2, f32(0, 0)]]);
  const r = round(s, i1, w0, server, states, params);
  // g_k ← g_k − α(w_k − w_g): client 0: (0.2, −0.4) − 0.5·(1, 1); client 2: 0 − 0.5·(−1, 2).
  close(t, r.states.get(0)!.grad!, [0.2 - 0.5, -0.4 - 0.5], 1e-7, 'g_0');
  close(t, r.states.get(2)!.grad!, [0.5, -1], 1e-7, 'g_2');
  // h ← h − α/N Σ(w_k − w_g) = −0.5/4 · ((1, 1) + (−1, 2)) = (0, −0.375)
  close(t, r.server.vectors.h!, [0, -0.375], 1e-7, 'h');
  // w = mean(w_k) − h/α = (1, −0.5) − (0, −0.75) = (1, 0.25)
  close(t, r.global, [1, 0.25], 1e-7, 'w');
  server = r.server;
  // Round 2: the new h accumulates on the old one.
  const r2 = round(s, info(2, [1], N), r.global, server, r.states, new Map([[1, f32(3, 0.25)]]));
  close(t, r2.server.vectors.h!, [0 - (0.5 / 4) * 2, -0.375], 1e-7, 'h after round 2');
  close(t, r2.global, [3 - (-0.25) / 0.5, 0.25 + 0.375 / 0.5], 1e-7, 'w after round 2');
});

t.test('SCAFFOLD: option II update; c stays the mean of all c_k when everyone participates', async (t) => {
  const s = scaffold();
  const N = 3, n = 5;
  const rng = new Rng(7);
  let global: Float32Array = Float32Array.from({ length: n }, () => rng.normal());
  let server = s.initServer(global, N);
  let states = new Map<number, ClientState>();
  for (let r = 1; r <= 4; r++) {
    const i = info(r, [0, 1, 2], N, 0.1 * 0.9 ** (r - 1));
    // correction = c − c_k
    const c1 = s.configureClient(ctx(i, 1, global, server, states.get(1) ?? {}));
    const ck = states.get(1)?.c ?? new Float32Array(n);
    close(t, c1.inputs.correction!, Array.from(server.vectors.c!, (v, j) => v - ck[j]!), 1e-7, `round ${r}: correction`);
    t.same(c1.hypers, { prox_mu: 0 });
    const params = new Map([0, 1, 2].map((c) => [c, Float32Array.from(global, (v) => v + 0.1 * rng.normal())] as const));
    const res = round(s, i, global, server, states, params);
    // c_k⁺ = c_k − c + (w_g − w_k)/(K·lr) for client 0 (K = 5 steps)
    const old0 = states.get(0)?.c ?? new Float32Array(n);
    close(t, res.states.get(0)!.c!, Array.from(old0, (v, j) => v - server.vectors.c![j]! + (global[j]! - params.get(0)![j]!) / (5 * i.lr)), 1e-5, `round ${r}: c_0`);
    ({ global, server, states } = res);
    const mean = Array.from({ length: n }, (_, j) => ([0, 1, 2].reduce((a, c) => a + states.get(c)!.c![j]!, 0)) / N);
    close(t, server.vectors.c!, mean, 1e-5, `round ${r}: c = mean(c_k)`);
  }
  // Server lr 1: the global model is the plain mean of client models.
  const i = info(9, [0, 1], 2);
  const r = round(scaffold(), i, f32(0), scaffold().initServer(f32(0), 2), new Map(), new Map([[0, f32(1)], [1, f32(3)]]));
  t.same(Array.from(r.global), [2]);
});

t.test('FedDC: anchor = w − h_i, correction = c − c_i, drift and server updates', async (t) => {
  const alpha = 0.1;
  const s = feddc({ alpha });
  t.equal(feddc().options.alpha, 0.01, 'paper default α = 0.01');
  const N = 2;
  const w = f32(1, 1);
  const server: ServerState = { vectors: { c: f32(0.5, 0), hSum: f32(0.2, 0.2) }, scalars: {} };
  const st: ClientState = { h: f32(0.2, 0.2), c: f32(0.1, 0.3) };
  const i = info(3, [0], N, 0.05, 0.1);
  const plan = s.configureClient(ctx(i, 0, w, server, st));
  t.same(plan.hypers, { prox_mu: alpha });
  close(t, plan.inputs.anchor!, [0.8, 0.8], 1e-7, 'anchor');
  close(t, plan.inputs.correction!, [0.4, -0.3], 1e-7, 'correction');
  const r = round(s, i, w, server, new Map([[0, st]]), new Map([[0, f32(2, 0)]]));
  // δ = (1, −1); h ← (1.2, −0.8); c⁺ = c_i − c − δ/(K·base lr) = (0.1 − 0.5 − 2, 0.3 − 0 + 2)
  close(t, r.states.get(0)!.h!, [1.2, -0.8], 1e-6, 'h_0');
  close(t, r.states.get(0)!.c!, [0.1 - 0.5 - 1 / (5 * 0.1), 0.3 + 1 / (5 * 0.1)], 1e-6, 'c_0 (base lr)');
  // server: c += Δc/N; hSum += δ; w = mean θ + hSum/N
  close(t, r.server.vectors.c!, [0.5 + (-2.4 - 0.1) / 2, 0 + (2.3 - 0.3) / 2], 1e-6, 'c');
  close(t, r.server.vectors.hSum!, [1.2, -0.8], 1e-6, 'hSum');
  close(t, r.global, [2 + 1.2 / 2, 0 - 0.8 / 2], 1e-6, 'w');
});

t.test('server optimisers: FedAvgM(β = 0, η = 1) = FedAvg; FedAdam / FedAdagrad / FedYogi first step', async (t) => {
  const rng = new Rng(3);
  const n = 50;
  const g = Float32Array.from({ length: n }, () => rng.normal());
  const params = new Map([0, 1, 2].map((c) => [c, Float32Array.from(g, (v) => v + 0.3 * rng.normal())] as const));
  const sizes = new Map([[0, 10], [1, 20], [2, 5]]);
  const i = info(1, [0, 1, 2], 3);
  const avg = round(fedavg(), i, g, { vectors: {}, scalars: {} }, new Map(), params, sizes).global;
  const m0 = fedavgm({ momentum: 0, serverLr: 1 });
  close(t, round(m0, i, g, m0.initServer(g, 3), new Map(), params, sizes).global, avg, 1e-6, 'FedAvgM β=0 η=1');
  const delta = Array.from(avg, (v, j) => v - g[j]!); // Δ = mean − w (float32 mean is close enough at 1e-6)

  const lr = 0.05, b1 = 0.9, b2 = 0.99, tau = 1e-3;
  const adam = fedadam({ serverLr: lr, beta1: b1, beta2: b2, tau });
  const ra = round(adam, i, g, adam.initServer(g, 3), new Map(), params, sizes);
  const expAdam = delta.map((d, j) => g[j]! + (lr * (1 - b1) * d) / (Math.sqrt(b2 * tau * tau + (1 - b2) * d * d) + tau));
  close(t, ra.global, expAdam, 1e-5, 'FedAdam step 1');
  close(t, ra.server.vectors.m!, delta.map((d) => (1 - b1) * d), 1e-5, 'FedAdam m');
  const ada = fedadagrad({ serverLr: lr, beta1: b1, tau });
  const rg = round(ada, i, g, ada.initServer(g, 3), new Map(), params, sizes);
  close(t, rg.global, delta.map((d, j) => g[j]! + (lr * (1 - b1) * d) / (Math.sqrt(tau * tau + d * d) + tau)), 1e-5, 'FedAdagrad step 1');
  const yogi = fedyogi({ serverLr: lr, beta1: b1, beta2: b2, tau });
  const ry = round(yogi, i, g, yogi.initServer(g, 3), new Map(), params, sizes);
  close(t, ry.global, delta.map((d, j) => {
    const v = tau * tau - (1 - b2) * d * d * Math.sign(tau * tau - d * d);
    return g[j]! + (lr * (1 - b1) * d) / (Math.sqrt(v) + tau);
  }), 1e-5, 'FedYogi step 1');
  // Momentum accumulates over rounds: two identical updates with β = 0.5, η = 1 move 1 + 1.5 times Δ.
  const mom = fedavgm({ momentum: 0.5 });
  const one = f32(1);
  const s1 = round(mom, info(1, [0], 1), f32(0), mom.initServer(f32(0), 1), new Map(), new Map([[0, one]]));
  const s2 = round(mom, info(2, [0], 1), s1.global, s1.server, new Map(), new Map([[0, f32(2)]]));
  t.same([s1.global[0], s2.global[0]], [1, 1 + 1.5]);
});

t.test('createStrategy: names, defaults and option errors', async (t) => {
  t.equal(createStrategy('feddyn').options.alpha, 0.01);
  t.same(createStrategy('fedadam').options, { serverLr: 0.01, beta1: 0.9, beta2: 0.99, tau: 1e-3, weighting: 'samples' });
  t.throws(() => createStrategy('fedfoo'), /unknown algorithm 'fedfoo'; available: .*fedsam/);
  t.throws(() => createStrategy('feddyn', { beta: 1 }), /feddyn: unknown option 'beta' \(known: alpha, weighting\)/);
  t.throws(() => createStrategy('feddyn', { alpha: -1 }), /feddyn: option 'alpha' must be > 0/);
  t.throws(() => createStrategy('fedprox', { mu: 'x' }), /fedprox: option 'mu' must be a number/);
  t.throws(() => createStrategy('fedavg', { weighting: 'x' }), /'weighting' must be 'samples' or 'uniform'/);
  t.throws(() => createStrategy('scaffold', { controlLr: 'x' }), /'controlLr' must be 'round' or 'base'/);
});

t.test('FedSAM / FedASAM: SAM artifacts, paper radii, FedAvg aggregation', async (t) => {
  t.equal(fedsam().artifactOptions.sam, 'sam');
  t.equal(fedasam().artifactOptions.sam, 'asam');
  const i = info(1, [0, 1], 2);
  t.same(fedsam().configureClient(ctx(i, 0, f32(0), { vectors: {}, scalars: {} })).hypers, { sam_rho: 0.05, sam_mix: 1 });
  t.same(fedasam().configureClient(ctx(i, 0, f32(0), { vectors: {}, scalars: {} })).hypers, { sam_rho: 0.5, sam_mix: 1, sam_eta: 0.2 });
  const g = f32(1, 1);
  const avg = round(fedavg(), i, g, { vectors: {}, scalars: {} }, new Map(), new Map([[0, f32(2, 0)], [1, f32(4, 2)]]), new Map([[0, 10], [1, 30]]));
  const sam = round(fedsam(), i, g, { vectors: {}, scalars: {} }, new Map(), new Map([[0, f32(2, 0)], [1, f32(4, 2)]]), new Map([[0, 10], [1, 30]]));
  close(t, sam.global, avg.global, 0, 'same server rule as FedAvg');
});

t.test('FedSpeed: prox-correction inputs, ĥ update and x̂ = w − ĥ/α message', async (t) => {
  const alpha = 0.5;
  const s = fedspeed({ alpha, rho: 0.1, mix: 0.5 });
  t.equal(s.artifactOptions.sam, 'sam');
  const w0 = f32(1, -2);
  const server = s.initServer(w0, 2);
  const i1 = info(1, [0, 1], 2);
  const plan = s.configureClient(ctx(i1, 0, w0, server, { h: f32(0.2, -0.4) }));
  t.same(plan.hypers, { prox_mu: alpha, sam_rho: 0.1, sam_mix: 0.5 });
  t.same(Array.from(plan.inputs.correction!), [-Math.fround(0.2), Math.fround(0.4)], 'correction = −ĥ');
  const r = round(s, i1, w0, server, new Map([[0, { h: f32(0.2, -0.4) }]]), new Map([[0, f32(2, -1)], [1, f32(0, 0)]]));
  // ĥ_0 = (0.2, −0.4) − 0.5·(1, 1) = (−0.3, −0.9); ĥ_1 = −0.5·(−1, 2) = (0.5, −1)
  close(t, r.states.get(0)!.h!, [-0.3, -0.9], 1e-6, 'ĥ_0');
  close(t, r.states.get(1)!.h!, [0.5, -1], 1e-6, 'ĥ_1');
  // x̂_0 = (2, −1) − ĥ_0/0.5 = (2.6, 0.8); x̂_1 = (0, 0) − (1, −2) = (−1, 2); uniform mean = (0.8, 1.4)
  close(t, r.global, [0.8, 1.4], 1e-6, 'w = mean x̂');
});
