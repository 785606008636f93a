/**
 * The defense layer on hand-computed vectors: norm bounding, coordinate-wise median and trimmed mean, Krum and
 * Multi-Krum picks, DP noise statistics and determinism, the pass-through with the defaults, and the config checks
 * (errors naming the field).
 */
import t from 'tap';
import { Accumulator, createStrategy, fedavg, scaffold, type ClientMessage } from '../../src/fl/index.js';
import {
  boundUpdate, coordinateMedian, trimmedMean, trimCount, krum, krumScores, multiKrum, updateNorm, Defense, DEFAULT_ROBUST,
  dpNoiseRng, dpNoiseStd, messageKeys, RdpAccountant, type RobustConfig, type DpConfig,
} from '../../src/fl/defense/index.js';
import { FedmanError } from '../../src/util/errors.js';
import { validateConfig } from '../../src/config/index.js';
import { mergeConfig, resultFieldDiffs } from '../../src/config/index.js';
import { validateServerConfig } from '../../src/config/index.js';

const f32 = (a: number[]) => Float32Array.from(a);
const robust = (over: Partial<RobustConfig>): RobustConfig => ({ ...DEFAULT_ROBUST, ...over });
const msg = (params: Float32Array, weight = 1): ClientMessage => ({ params: { value: params, weight } });

t.test('norm bounding clips the update, not the parameters; within the bound the input comes back as is', async (t) => {
  const global = f32([1, 1]);
  const p = f32([4, 5]); // update (3, 4): norm 5
  t.equal(updateNorm(p, global), 5);
  const b = boundUpdate(p, global, 1);
  t.ok(b.clipped);
  t.same(Array.from(b.params), [1 + 0.6, 1 + 0.8]);
  const same = boundUpdate(p, global, 5);
  t.equal(same.params, p, 'the same object: bit-identical');
  t.notOk(same.clipped);
  const bad = boundUpdate(f32([NaN, 2]), global, 1);
  t.ok(bad.clipped);
  t.same(Array.from(bad.params), [1, 1], 'a non-finite update counts as a zero update');
});

t.test('coordinate-wise median and trimmed mean', async (t) => {
  const v = [[1, 5, 3], [2, 1, 9], [100, -3, 4]];
  t.same(Array.from(coordinateMedian(v)), [2, 1, 4], 'odd n: the middle value');
  t.same(Array.from(coordinateMedian([[1], [3], [10], [2]])), [2.5], 'even n: mean of the two middle values');
  t.same(Array.from(coordinateMedian([[NaN], [1], [2]])), [2], 'NaN acts as an extreme value');
  const five = [[1, 10], [2, 20], [3, 30], [4, 40], [100, -1000]];
  t.equal(trimCount(5, 0.2), 1);
  t.equal(trimCount(5, 0.1), 0);
  t.equal(trimCount(10, 0.49), 4);
  t.same(Array.from(trimmedMean(five, 0.2)), [3, 20], 'one value cut from each end per coordinate: (2+3+4)/3, (10+20+30)/3 (−1000 and 40 cut)');
  t.same(Array.from(trimmedMean(five, 0)), [22, -180], 'β = 0 is the plain mean');
  t.throws(() => trimmedMean(five, 0.5), /β must be in \[0, 0.5\)/);
});

t.test('Krum picks the update with the smallest sum of squared distances to its n − f − 2 nearest neighbours', async (t) => {
  // 1-D: scores with f = 1 (2 neighbours): 0 → 1+4, 1 → 1+1, 2 → 1+1, 3 → 1+4, 100 → 97²+98².
  const v = [[0], [1], [2], [3], [100]];
  t.same(Array.from(krumScores(v, 1)), [5, 2, 2, 5, 97 * 97 + 98 * 98]);
  const k = krum(v, 1);
  t.same(k.selected, [1], 'tie between 1 and 2 goes to the lower index');
  t.same(Array.from(k.value), [1]);
  const m3 = multiKrum(v, 1, 3);
  t.same(m3.selected, [1, 2, 0]);
  t.same(Array.from(m3.value), [1], '(1 + 2 + 0)/3');
  const dflt = multiKrum(v, 1);
  t.same(dflt.selected, [1, 2, 0, 3], 'm defaults to n − f');
  t.same(Array.from(dflt.value), [1.5]);
  t.same(multiKrum(v, 1, 99).selected.length, 4, 'm is capped at n − f');
  // 2-D with the outlier in a different direction: f = 0 uses n − 2 = 3 neighbours.
  const w = [[0, 0], [1, 0], [0, 1], [1, 1], [-50, 50]];
  t.same(krum(w, 0).selected, [0], 'scores 1+1+2 = 4 for each corner; the first wins');
  t.throws(() => krum(v.slice(0, 4), 1), FedmanError, 'n = 4 < 2f + 3');
  t.throws(() => krum(v.slice(0, 4), 1), /needs at least 2f \+ 3 = 5 updates in a round, got 4/);
});

t.test('Accumulator.setMean makes mean() return exactly the given vector', async (t) => {
  const acc = new Accumulator(3);
  acc.add('params', [1, 2, 3], 5);
  acc.setMean('params', Float64Array.from([0.1, 0.2, 1 / 3]), 7);
  t.same(Array.from(acc.mean('params')!), [0.1, 0.2, 1 / 3]);
  t.equal(acc.count('params'), 7);
  t.throws(() => acc.setMean('params', [1], 1), /expected 3/);
});

function aggregate(defense: Defense, round: number, global: Float32Array, messages: ClientMessage[]) {
  const agg = defense.begin(round, global);
  for (const m of messages) agg.add(m);
  return agg.finish();
}

t.test('defaults are a pass-through: the same sums as Accumulator.addMessage, bit for bit', async (t) => {
  const global = f32([0.5, -1, 2]);
  const msgs = [msg(f32([1.1, 2.2, 3.3]), 30), msg(f32([-0.7, 0.01, 1e-3]), 20), msg(f32([5, 6, 7]), 50)];
  const plain = new Accumulator(3);
  for (const m of msgs) plain.addMessage(m);
  const d = new Defense(fedavg(), { seed: 0, samplingRate: 1 });
  t.notOk(d.active);
  const r = aggregate(d, 1, global, msgs);
  t.same(Array.from(r.sums.mean('params')!), Array.from(plain.mean('params')!));
  t.equal(r.dpEpsilon, undefined);
  const loose = new Defense(fedavg(), { robust: robust({ normBound: 1e9 }), seed: 0, samplingRate: 1 });
  t.ok(loose.active);
  const rl = aggregate(loose, 1, global, msgs);
  t.same(Array.from(rl.sums.mean('params')!), Array.from(plain.mean('params')!), 'a bound nobody exceeds changes nothing, bit for bit');
  t.equal(rl.clipped, 0);
});

t.test('robust rules replace the weighted mean; the strategy applies its update on top; other vectors are summed as sent', async (t) => {
  const global = f32([0, 0]);
  const msgs = [msg(f32([1, 10]), 1), msg(f32([2, 20]), 100), msg(f32([1000, -1000]), 1)];
  const med = aggregate(new Defense(fedavg(), { robust: robust({ rule: 'median' }), seed: 0, samplingRate: 1 }), 1, global, msgs);
  t.same(Array.from(med.sums.mean('params')!), [2, 10], 'unweighted coordinate median');
  t.equal(med.updates, 3);
  const s = fedavg().aggregate({ round: 1, lr: 0.1, baseLr: 0.1, numClients: 3, participants: [0, 1, 2] }, med.sums, global, { vectors: {}, scalars: {} });
  t.same(Array.from(s.global), [2, 10]);
  // Norm bounding then the mean keeps the strategy's weights.
  const nb = aggregate(new Defense(fedavg(), { robust: robust({ normBound: 5 }), seed: 0, samplingRate: 1 }), 1, global, [msg(f32([3, 4]), 1), msg(f32([30, 40]), 3)]);
  t.equal(nb.clipped, 1);
  t.same(Array.from(nb.sums.mean('params')!), [3, 4], 'the second (norm 50) is clipped onto the first');
  // SCAFFOLD: 'dc' is summed as sent, 'params' goes through the rule.
  const sc = new Defense(scaffold(), { robust: robust({ rule: 'trimmed-mean', trim: 0.34 }), seed: 0, samplingRate: 1 });
  const scMsgs = [1, 2, 30].map((x): ClientMessage => ({ params: { value: f32([x, x]), weight: 1 }, dc: { value: f32([x, -x]), weight: 1 } }));
  const r = aggregate(sc, 1, global, scMsgs);
  t.same(Array.from(r.sums.mean('params')!), [2, 2], 'trim 1 of 3 from each end');
  t.same(Array.from(r.sums.sum('dc')), [33, -33]);
  const kr = aggregate(new Defense(fedavg(), { robust: robust({ rule: 'krum', byzantine: 1 }), seed: 0, samplingRate: 1 }), 1, global,
    [[0, 0], [1, 0], [0, 1], [1, 1], [-50, 50]].map((p) => msg(f32(p))));
  t.same(kr.selected, [0]);
  t.same(Array.from(kr.sums.mean('params')!), [0, 0]);
});

t.test('DP: clipped uniform mean plus N(0, (σC/n)²) noise, reproducible from (seed, round); ε from the accountant', async (t) => {
  const size = 40_000;
  const global = new Float32Array(size).fill(0.25);
  const n = 4;
  const msgs: ClientMessage[] = [];
  for (let k = 0; k < n; k++) {
    const p = new Float32Array(size);
    for (let i = 0; i < size; i++) p[i] = global[i]! + (i % n === k ? 1 : 0); // update norm √(size/n) = 100, disjoint supports
    msgs.push(msg(p, 10 * (k + 1)));
  }
  const dp: DpConfig = { clip: 2, noiseMultiplier: 1.5, delta: 1e-5, samplingRate: null };
  const d = new Defense(fedavg(), { dp, seed: 11, samplingRate: 0.5 });
  const r = aggregate(d, 3, global, msgs);
  t.equal(r.clipped, n);
  const mean = r.sums.mean('params')!;
  // Without noise: global + (clip / 100)·e_k / n on each coordinate (uniform weights, not 10, 20, 30, 40).
  const clean = 0.25 + 2 / 100 / n;
  let s = 0, s2 = 0;
  for (let i = 0; i < size; i++) { const z = mean[i]! - clean; s += z; s2 += z * z; }
  const mu = s / size, sd = Math.sqrt(s2 / size - mu * mu);
  const want = dpNoiseStd(2, 1.5, n);
  t.equal(want, 0.75);
  t.ok(Math.abs(mu) < 4 * want / Math.sqrt(size), `noise mean ${mu} ≈ 0`);
  t.ok(Math.abs(sd / want - 1) < 0.02, `noise std ${sd} ≈ σC/n = ${want}`);
  t.equal(r.dpEpsilon, new RdpAccountant(0.5, 1.5).epsilon(3, 1e-5), 'ε after round 3 at q = 0.5');
  const again = aggregate(new Defense(fedavg(), { dp, seed: 11, samplingRate: 0.5 }), 3, global, msgs);
  t.same(Array.from(again.sums.mean('params')!.subarray(0, 100)), Array.from(mean.subarray(0, 100)), 'same seed and round: same noise');
  const other = aggregate(new Defense(fedavg(), { dp, seed: 11, samplingRate: 0.5 }), 4, global, msgs);
  t.not(other.sums.mean('params')![0], mean[0], 'another round: other noise');
  const seed2 = aggregate(new Defense(fedavg(), { dp, seed: 12, samplingRate: 0.5 }), 3, global, msgs);
  t.not(seed2.sums.mean('params')![0], mean[0], 'another seed: other noise');
  t.equal(dpNoiseRng(11, 3).normal(), dpNoiseRng(11, 3).normal());
  const e = [1, 2, 3, 10].map((k) => d.epsilon(k)!);
  t.ok(e[0]! < e[1]! && e[1]! < e[2]! && e[2]! < e[3]!, `ε grows with the rounds: ${e}`);
  t.equal(new Defense(fedavg(), { dp: { ...dp, samplingRate: 0.1 }, seed: 0, samplingRate: 0.5 }).accountant!.samplingRate, 0.1, 'dp.samplingRate overrides');
});

t.test('combinations DP cannot cover are refused, naming the field', async (t) => {
  const dp: DpConfig = { clip: 1, noiseMultiplier: 1, delta: 1e-5, samplingRate: null };
  t.same(messageKeys(scaffold()), ['params', 'dc']);
  t.same(messageKeys(createStrategy('feddyn')), ['params', 'delta']);
  t.same(messageKeys(createStrategy('fedspeed')), ['params']);
  t.throws(() => new Defense(scaffold(), { dp, seed: 0, samplingRate: 1 }), /field 'dp': algorithm 'scaffold' also sends 'dc'/);
  t.throws(() => new Defense(fedavg(), { dp, robust: robust({ rule: 'median' }), seed: 0, samplingRate: 1 }), /field 'dp'.*robust.rule 'median'/);
  t.throws(() => mergeConfig({ algorithm: 'feddc', dp: { clip: 1, noiseMultiplier: 1 } }), /field 'dp': algorithm 'feddc' also sends 'dh', 'dc'/);
  t.throws(() => mergeConfig({ clients: 4, robust: { rule: 'krum' } }), /field 'robust.byzantine' \(1\): rule 'krum' needs at least 2f \+ 3 = 5 clients/);
  t.throws(() => mergeConfig({ clients: 10, clientsPerRound: 4, robust: { rule: 'multi-krum', byzantine: 1 } }), /needs at least 2f \+ 3 = 5 updates per round/);
  t.throws(() => mergeConfig({ robust: { rule: 'median', select: 2 } }), /field 'robust.select' applies to rule 'multi-krum' only/);
  t.ok(mergeConfig({ clients: 5, robust: { rule: 'krum' } }), 'n = 5 = 2f + 3 is enough');
  t.ok(mergeConfig({ algorithm: 'fedadam', dp: { clip: 1, noiseMultiplier: 1 } }), 'DP composes with server optimisers');
  t.throws(() => validateConfig({ robust: { rule: 'mode' } }), /field 'robust.rule' must be one of "mean", "median", "trimmed-mean", "krum", "multi-krum"/);
  t.throws(() => validateConfig({ dp: { clip: 1 } }), /field 'dp.noiseMultiplier' is required/);
  t.throws(() => validateConfig({ dp: { clip: 1, noiseMultiplier: 1, delta: 1 } }), /field 'dp.delta' must be < 1/);
  t.throws(() => validateConfig({ robust: { normBound: 0 } }), /field 'robust.normBound' must be > 0/);
  const srv = { model: 'mlp', clients: 6 };
  t.throws(() => validateServerConfig({ ...srv, robust: { rule: 'krum' } }), /field 'minClients' \(1\) must be at least 2f \+ 3 = 5/);
  t.ok(validateServerConfig({ ...srv, minClients: 5, robust: { rule: 'krum' } }).robust.rule === 'krum');
  t.throws(() => validateServerConfig({ ...srv, algorithm: 'scaffold', dp: { clip: 1, noiseMultiplier: 1 } }), /server config: field 'dp': algorithm 'scaffold'/);
  t.throws(() => validateServerConfig({ ...srv, dp: { clip: -1, noiseMultiplier: 1 } }), /field 'dp.clip' must be > 0/);
  t.same(validateServerConfig(srv).robust, DEFAULT_ROBUST);
  t.equal(validateServerConfig(srv).dp, null);
});

t.test('robust and dp are result fields; a checkpoint config without them counts as the defaults', async (t) => {
  const base = mergeConfig({});
  t.same(resultFieldDiffs(mergeConfig({ robust: { rule: 'median' } }), base), ['robust']);
  t.same(resultFieldDiffs(mergeConfig({ dp: { clip: 1, noiseMultiplier: 1 } }), base), ['dp']);
  const old = { ...base } as Record<string, unknown>;
  delete old.robust;
  delete old.dp;
  t.same(resultFieldDiffs(base, old as never), [], 'pre-defense checkpoints resume');
  t.same(resultFieldDiffs(mergeConfig({ robust: { normBound: 3 } }), old as never), ['robust']);
});
