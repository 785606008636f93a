/**
 * Model poisoning end to end: 5 simulated clients on 500 MNIST samples with the zoo MLP, one of them Byzantine.
 * Plain FedAvg is wrecked; the coordinate median, the trimmed mean, Krum / Multi-Krum and norm bounding keep the
 * accuracy close to the attack-free run. Also: with DP the report and metrics.csv carry ε per round and runs are
 * reproducible from the seed; a norm bound nobody reaches leaves a run bit-identical.
 *
 * The attacker is a test-only strategy wrapper (no production hook), registered as 'fedavg-attacked' so that
 * configs can name it. Client `attacker` sends, instead of its parameters,
 *   mode 'flip':  global − 10·(params − global)  (its update sign-flipped and amplified ten times), or
 *   mode 'noise': global + N(0, 5²) per coordinate (a huge random update, norm ≈ 2200 against honest ≈ 0.5).
 * Norm bounding is tested against the huge update: it removes the amplification, which is what it is for; a
 * sign-flipped update of honest size is the residual influence it leaves (documented in docs/simulation.md).
 */
import t from 'tap';
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { simulate } from '../../src/sim/engine.js';
import { mergeConfig } from '../../src/config/index.js';
import { ALGORITHMS, fedavg, type Strategy } from '../../src/fl/index.js';
import { RdpAccountant } from '../../src/fl/defense/index.js';
import { Rng } from '../../src/util/rng.js';
import { tmpDir } from '../data/tmpdir.js';

/** Wraps a strategy so that client `attacker` poisons its message every round (see the header). */
function attacked(base: Strategy, attacker: number, mode: string): Strategy {
  return {
    ...base,
    name: 'fedavg-attacked',
    options: { ...base.options, attacker, mode },
    clientUpdate(ctx, r) {
      const out = base.clientUpdate(ctx, r);
      if (ctx.clientId !== attacker) return out;
      const p = out.message.params!;
      const evil = new Float32Array(p.value.length);
      const rng = new Rng(ctx.round, ctx.clientId);
      for (let i = 0; i < evil.length; i++) {
        evil[i] = mode === 'flip' ? ctx.global[i]! - 10 * (p.value[i]! - ctx.global[i]!) : ctx.global[i]! + rng.normal(0, 5);
      }
      return { ...out, message: { ...out.message, params: { value: evil, weight: p.weight } } };
    },
  };
}

ALGORITHMS['fedavg-attacked'] = {
  doc: 'test only: FedAvg with one poisoning client',
  create: (o = {}) => attacked(fedavg(), Number(o.attacker ?? 0), String(o.mode ?? 'flip')),
};
t.teardown(() => { delete ALGORITHMS['fedavg-attacked']; });

const tmp = tmpDir(t, 'fedman-poison-');
let runs = 0;
const ROUNDS = 10;
const BASE = {
  data: 'mnist', limit: 500, testLimit: 300, model: 'mlp', clients: 5, participation: 1, partition: { scheme: 'iid' },
  rounds: ROUNDS, evalEvery: ROUNDS, localEpochs: 2, batchSize: 20, lr: 0.1, lrDecay: 1, man: 0, workers: 0,
};
const FLIP = { algorithm: 'fedavg-attacked', algorithmOptions: { attacker: 2, mode: 'flip' } };
const NOISE = { algorithm: 'fedavg-attacked', algorithmOptions: { attacker: 2, mode: 'noise' } };

async function run(overrides: Record<string, unknown>) {
  const out = path.join(tmp, `run-${runs++}`);
  const t0 = performance.now();
  const r = await simulate(mergeConfig(BASE, overrides), { out });
  return { ...r, out, accuracy: r.report.final!.testAccuracy!, seconds: (performance.now() - t0) / 1000 };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

t.test('one Byzantine client of five: FedAvg breaks, robust rules and norm bounding hold', async (t) => {
  const clean = await run({});
  t.comment(`attack-free FedAvg: ${pct(clean.accuracy)} (${clean.seconds.toFixed(1)} s)`);
  t.ok(clean.accuracy > 0.65, `attack-free FedAvg learns: ${pct(clean.accuracy)}`);
  const cases: [string, Record<string, unknown>, 'broken' | 'holds'][] = [
    ['flip: fedavg', FLIP, 'broken'],
    ['flip: median', { ...FLIP, robust: { rule: 'median' } }, 'holds'],
    ['flip: trimmed-mean β = 0.2', { ...FLIP, robust: { rule: 'trimmed-mean', trim: 0.2 } }, 'holds'],
    ['flip: krum f = 1', { ...FLIP, robust: { rule: 'krum', byzantine: 1 } }, 'holds'],
    ['flip: multi-krum f = 1', { ...FLIP, robust: { rule: 'multi-krum', byzantine: 1 } }, 'holds'],
    ['noise: fedavg', NOISE, 'broken'],
    ['noise: normBound 1', { ...NOISE, robust: { normBound: 1 } }, 'holds'],
  ];
  for (const [name, over, expect] of cases) {
    const r = await run(over);
    t.comment(`${name}: ${pct(r.accuracy)} (${r.seconds.toFixed(1)} s)`);
    if (expect === 'broken') t.ok(r.accuracy < 0.3, `${name} is wrecked: ${pct(r.accuracy)}`);
    else t.ok(r.accuracy > clean.accuracy - 0.1, `${name} stays within 10 points of the attack-free run: ${pct(r.accuracy)} vs ${pct(clean.accuracy)}`);
  }
});

t.test('DP-FedAvg: ε per round in the report and metrics.csv; reproducible from the seed', async (t) => {
  const cfg = { rounds: 3, evalEvery: 3, localEpochs: 1, clientsPerRound: 4, dp: { clip: 1, noiseMultiplier: 0.5, delta: 1e-5 } };
  const a = await run(cfg);
  const b = await run(cfg);
  t.same(a.global, b.global, 'same seed: same noise, same model');
  const eps = a.report.rounds.map((r) => r.dpEpsilon!);
  const acc = new RdpAccountant(4 / 5, 0.5);
  t.same(eps, [1, 2, 3].map((k) => acc.epsilon(k, 1e-5)), 'ε of q = 4/5, σ = 0.5 after each round');
  t.ok(eps[0]! < eps[1]! && eps[1]! < eps[2]!);
  t.comment(`ε per round: ${eps.map((e) => e.toFixed(2)).join(', ')}`);
  const csv = await readFile(path.join(a.out, 'metrics.csv'), 'utf8');
  t.match(csv.split('\n')[0], /,seconds,dp_epsilon$/);
  t.equal(Number(csv.split('\n')[3]!.split(',').at(-1)), eps[2]);
  const c = await run({ ...cfg, seed: 1 });
  t.not(c.global[0], a.global[0], 'another seed: another model');
});

t.test('a norm bound nobody reaches leaves the run bit-identical to the default', async (t) => {
  const cfg = { rounds: 3, evalEvery: 3, localEpochs: 1, clientsPerRound: 4 };
  const plain = await run(cfg);
  const loose = await run({ ...cfg, robust: { normBound: 1e6 } });
  t.same(loose.global, plain.global);
  t.same(loose.report.rounds.map((r) => r.testAccuracy), plain.report.rounds.map((r) => r.testAccuracy));
  t.equal(plain.report.rounds[0]!.dpEpsilon, undefined, 'no ε without DP');
});
