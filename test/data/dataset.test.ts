import t from 'tap';
import {
  BatchLoader,
  channelStats,
  classCounts,
  makeDataset,
  normalizeInPlace,
  sampleSize,
  shuffledIndices,
  subset,
  takeFirst,
  type Dataset,
} from '../../src/data/dataset.js';
import { Rng } from '../../src/util/rng.js';
import { FedmanError } from '../../src/util/errors.js';

/** n samples of shape [2, 2, 3]; sample i has value i*100 + k at position k; label i % 3. */
function toy(n = 7): Dataset {
  const ss = 12;
  const x = new Float32Array(n * ss);
  for (let i = 0; i < n; i++) for (let k = 0; k < ss; k++) x[i * ss + k] = i * 100 + k;
  const y = Int32Array.from({ length: n }, (_, i) => i % 3);
  return makeDataset({ name: 'toy', x, y, n, sampleShape: [2, 2, 3], numClasses: 3 });
}

t.test('makeDataset validates shapes and labels', async (t) => {
  const ds = toy();
  t.equal(sampleSize(ds), 12);
  t.throws(() => makeDataset({ ...ds, n: 8 }), FedmanError);
  t.throws(() => makeDataset({ ...ds, y: Int32Array.from([0, 1, 2, 3, 0, 1, 2]) }), /label 3 at index 3 is outside \[0, 3\)/);
  t.throws(() => makeDataset({ ...ds, sampleShape: [2, 0, 6] }), /positive integers/);
});

t.test('subset copies rows in the given order; takeFirst', async (t) => {
  const ds = toy();
  const s = subset(ds, [5, 0, 5]);
  t.equal(s.n, 3);
  t.same(Array.from(s.y), [2, 0, 2]);
  t.equal(s.x[0], 500);
  t.equal(s.x[12], 0);
  t.equal(s.x[35], 511);
  s.x[0] = -1;
  t.equal(ds.x[5 * 12], 500, 'subset does not alias the source');
  t.throws(() => subset(ds, [7]), RangeError);
  const f = takeFirst(ds, 2);
  t.equal(f.n, 2);
  t.equal(f.x.length, 24);
  t.same(classCounts(ds), [3, 2, 2]);
  t.equal(takeFirst(ds, 100), ds);
});

t.test('per-channel normalisation in place and channel statistics', async (t) => {
  const ds = toy(4);
  const before = channelStats(ds);
  // Channel 0 of sample i holds i*100 + 0..5; channel 1 holds i*100 + 6..11.
  t.ok(Math.abs(before.mean[0] - (150 + 2.5)) < 1e-9);
  t.ok(Math.abs(before.mean[1] - (150 + 8.5)) < 1e-9);
  normalizeInPlace(ds, before.mean, before.std);
  const after = channelStats(ds);
  for (let c = 0; c < 2; c++) {
    t.ok(Math.abs(after.mean[c]) < 1e-5, `mean ${after.mean[c]}`);
    t.ok(Math.abs(after.std[c] - 1) < 1e-5, `std ${after.std[c]}`);
  }
  const one = toy(2);
  normalizeInPlace(one, [1], [2]); // broadcast to both channels
  t.equal(one.x[0], -0.5);
  t.equal(one.x[11], 5);
  t.throws(() => normalizeInPlace(toy(2), [0, 0, 0], [1, 1, 1]), /mean has 3 values but samples have 2 channel/);
  t.throws(() => normalizeInPlace(toy(2), [0], [0]), /std for channel 0 must be a positive number/);
});

t.test('BatchLoader fills preallocated buffers in index order', async (t) => {
  const ds = toy(7);
  const loader = new BatchLoader(ds, 3);
  const order = [6, 2, 4, 0, 1, 3, 5];
  const seen: number[] = [];
  const sizes: number[] = [];
  const xBuffers = new Set<ArrayBufferLike>();
  for (const b of loader.batches(order)) {
    sizes.push(b.size);
    t.equal(b.x.length, b.size * 12);
    t.equal(b.y.length, b.size);
    t.type(b.y[0], 'bigint');
    xBuffers.add(b.x.buffer);
    for (let i = 0; i < b.size; i++) {
      const sample = b.x[i * 12] / 100;
      seen.push(sample);
      t.equal(b.y[i], BigInt(ds.y[sample]));
      t.equal(b.x[i * 12 + 11], sample * 100 + 11);
    }
  }
  t.same(sizes, [3, 3, 1]);
  t.same(seen, order);
  t.equal(xBuffers.size, 1, 'every batch is a view over the same buffer');
  t.ok(loader.x.buffer === [...xBuffers][0]);
  t.same([...loader.batches(order, { dropLast: true })].length, 2);
  t.equal(loader.numBatches(7), 3);
  t.equal(loader.numBatches(7, true), 2);

  // Partial-batch views are cached: no new view object per epoch.
  const tails = [...Array(2)].map(() => {
    let last: Float32Array | undefined;
    for (const b of loader.batches(order)) last = b.x;
    return last;
  });
  t.equal(tails[0], tails[1]);
  t.throws(() => loader.fill([7], 0), RangeError);
  t.throws(() => new BatchLoader(ds, 0), FedmanError);
});

t.test('shuffledIndices is deterministic per seed', async (t) => {
  const a = shuffledIndices(100, new Rng(1));
  const b = shuffledIndices(100, new Rng(1));
  const c = shuffledIndices(100, new Rng(2));
  t.same(a, b);
  t.not(a.join(), c.join());
  t.same([...a].sort((x, y) => x - y), Array.from({ length: 100 }, (_, i) => i));
  t.same(shuffledIndices([10, 20, 30], new Rng(1)).sort(), [10, 20, 30]);
});
