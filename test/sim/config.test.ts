/** Config validation (errors name the field), defaults, overrides, and CLI flag parsing. */
import t from 'tap';
import { defaultConfig, validateConfig } from '../../src/config/index.js';
import { mergeConfig, resultFieldDiffs } from '../../src/config/index.js';
import { parsePartition } from '../../src/cli/commands/simulate.js';
import { sampleParticipants, clientRoundSeed } from '../../src/fl/round/index.js';
import { Rng } from '../../src/util/rng.js';

t.test('defaults follow the paper protocol and are all filled in', async (t) => {
  const c = defaultConfig();
  t.match(c, {
    data: 'mnist', normalize: false, model: 'mlp', clients: 100, participation: 0.1, partition: { scheme: 'dirichlet-equal', alpha: 0.3 }, rounds: 500,
    localEpochs: 5, batchSize: 50, lr: 0.1, lrDecay: 0.998, weightDecay: 1e-3, clipNorm: 10, man: 0, algorithm: 'fedavg',
    evalEvery: 1, seed: 0, shuffle: true, workers: 'auto', threads: 1, clientState: 'disk', limit: null, localSteps: null,
  });
  t.same(Object.keys(c), Object.keys(validateConfig({ seed: 3, data: 'mnist' })), 'same field order whatever the input');
});

t.test('validation errors name the field', async (t) => {
  const cases: [unknown, RegExp][] = [
    [{ rounds: 0 }, /field 'rounds' must be >= 1/],
    [{ rounds: 2.5 }, /field 'rounds' must be integer/],
    [{ participation: 1.5 }, /field 'participation' must be <= 1/],
    [{ lr: 'fast' }, /field 'lr' must be number/],
    [{ partition: { scheme: 'dirichlet' } }, /field 'partition.alpha' is required/],
    [{ partition: { scheme: 'zipf' } }, /field 'partition.scheme' must be one of "iid", "dirichlet-equal"/],
    [{ partition: { scheme: 'iid', alpah: 1 } }, /unknown field 'partition.alpah'/],
    [{ roundz: 3 }, /unknown field 'roundz'/],
    [{ workers: -1 }, /field 'workers' must be a non-negative integer or 'auto'/],
    [{ manLayers: [] }, /field 'manLayers' must be 'auto', 'none' or a non-empty list/],
    [{ clientState: 'cloud' }, /field 'clientState' must be one of "disk", "memory"/],
    [{ limit: 0 }, /field 'limit' must be >= 1/],
    [[1, 2], /expected a JSON object/],
  ];
  for (const [raw, re] of cases) t.throws(() => validateConfig(raw), re, JSON.stringify(raw));
  // Several problems are reported together.
  t.throws(() => validateConfig({ rounds: 0, lr: -1 }), /'rounds'.*'lr'|'lr'.*'rounds'/);
  t.throws(() => mergeConfig({}, { clients: 0 }, "config 'x.json'"), /^config 'x.json': field 'clients'/);
});

t.test('overrides: flags win; algorithm options merge, and reset when the algorithm changes', async (t) => {
  const base = { rounds: 10, algorithm: 'feddyn', algorithmOptions: { alpha: 0.1 } };
  t.equal(mergeConfig(base, { rounds: 3, seed: undefined }).rounds, 3);
  t.same(mergeConfig(base).algorithmOptions, { alpha: 0.1, weighting: 'uniform' }, 'algorithm defaults filled in');
  t.same(mergeConfig(base, { algorithmOptions: { weighting: 'samples' } }).algorithmOptions, { alpha: 0.1, weighting: 'samples' });
  t.same(mergeConfig(base, { algorithm: 'fedprox' }).algorithmOptions, { mu: 0.01, weighting: 'samples' });
  t.throws(() => mergeConfig(base, { algorithm: 'fedfoo' }), /unknown algorithm 'fedfoo'/);
  t.same(mergeConfig(base, { algorithm: 'fedsam' }).algorithmOptions, { rho: 0.05, weighting: 'samples' });
  t.same(resultFieldDiffs(mergeConfig(base, { rounds: 99, workers: 3 }), mergeConfig(base)), [], 'rounds/workers do not change results');
  t.same(resultFieldDiffs(mergeConfig(base, { man: 0.1 }), mergeConfig(base)), ['man']);
});

t.test('--partition specs', async (t) => {
  t.same(parsePartition('iid'), { scheme: 'iid' });
  t.same(parsePartition('dirichlet-equal:0.6'), { scheme: 'dirichlet-equal', alpha: 0.6 });
  t.same(parsePartition('classes:2'), { scheme: 'classes', classesPerClient: 2 });
  t.same(parsePartition('{"scheme":"shards","numShards":20}'), { scheme: 'shards', numShards: 20 });
  t.throws(() => parsePartition('dirichlet'), /needs δ/);
  t.throws(() => parsePartition('zipf:1'), /unknown scheme 'zipf'/);
});

t.test('participation: probability p (never empty) or a fixed count; seeds per (seed, round, client)', async (t) => {
  const rng = new Rng(1);
  let total = 0;
  for (let r = 0; r < 200; r++) {
    const p = sampleParticipants(rng, 100, 0.1, null);
    t.ok(p.length > 0);
    t.same(p, [...p].sort((a, b) => a - b));
    total += p.length;
  }
  t.ok(Math.abs(total / 200 - 10) < 1.5, `about 10 per round: ${total / 200}`);
  t.equal(sampleParticipants(new Rng(2), 5, 0.001, null).length >= 1, true, 'redrawn until someone joins');
  const fixed = sampleParticipants(new Rng(3), 20, 0.1, 7);
  t.equal(new Set(fixed).size, 7);
  t.equal(clientRoundSeed(0, 3, 4), clientRoundSeed(0, 3, 4));
  t.not(clientRoundSeed(0, 3, 4), clientRoundSeed(0, 4, 3));
  t.not(clientRoundSeed(0, 3, 4), clientRoundSeed(1, 3, 4));
});
