import t from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadDataset } from '../../src/data/registry.js';
import { BatchLoader, subset } from '../../src/data/dataset.js';
import { npz, safetensors } from '../helpers/tensor-files.js';

const tmp = await mkdtemp(path.join(os.tmpdir(), 'fedman-tensors-'));
t.teardown(() => rm(tmp, { recursive: true, force: true }));
const x = { shape: [4, 2, 3], data: Float32Array.from({ length: 24 }, (_, i) => i / 10) };

t.test('.npz: float targets of any shape, a test split, limits; batches carry the targets', async (t) => {
  const file = path.join(tmp, 'multi.npz');
  const y = { shape: [4, 3], data: Float32Array.from({ length: 12 }, (_, i) => i % 2) };
  await writeFile(file, npz({ x, y, x_test: { shape: [1, 2, 3], data: new Float32Array(6) }, y_test: { shape: [1, 3], data: Float32Array.of(1, 0, 1) } }));
  const d = await loadDataset(file);
  t.equal(d.kind, 'tensors');
  t.same([d.train.n, d.train.sampleShape, d.train.numClasses], [4, [2, 3], 1]);
  t.same(d.train.targets!.shape, [3]);
  t.ok(d.train.targets!.values instanceof Float32Array);
  t.same(Array.from(d.test.targets!.values), [1, 0, 1], 'x_test / y_test are the test split');
  const picked = subset(d.train, [2, 0]);
  t.same(Array.from(picked.targets!.values), [0, 1, 0, 0, 1, 0], 'subsets keep their targets');
  const loader = new BatchLoader(d.train, 3);
  const [first] = [...loader.batches([3, 1, 0])];
  t.same(Array.from(first!.y as Float32Array), [1, 0, 1, 1, 0, 1, 0, 1, 0], 'a batch holds the targets of its samples');
  t.equal((await loadDataset(file, { limit: 2 })).train.n, 2);
});

t.test('.safetensors: int targets per position, padded to the model\'s length; 1-D int y are class labels', async (t) => {
  const file = path.join(tmp, 'seq.safetensors');
  await writeFile(file, safetensors({ x, y: { shape: [4, 2], data: BigInt64Array.of(1n, 2n, 3n, 0n, 2n, 2n, 1n, 1n) } }));
  const d = await loadDataset(`tensors:${file}`);
  t.equal(d.test, d.train, 'without x_test the test split is the training data');
  t.ok(d.train.targets!.values instanceof Int32Array);
  const loader = new BatchLoader(d.train, 2, 4);
  const [b] = [...loader.batches([0, 1])];
  t.same(Array.from(b!.y as BigInt64Array, Number), [1, 2, 0, 0, 3, 0, 0, 0], 'padded with blanks (0) to 4 labels');
  const cls = path.join(tmp, 'cls.npz');
  await writeFile(cls, npz({ x, y: { shape: [4], data: BigInt64Array.of(0n, 2n, 1n, 2n) } }));
  const c = await loadDataset(cls);
  t.same([c.train.numClasses, Array.from(c.train.y), c.train.targets], [3, [0, 2, 1, 2], undefined], 'a classification dataset');
});

t.test('bad tensor files are FedmanErrors naming the file and what is missing', async (t) => {
  const file = path.join(tmp, 'nox.npz');
  await writeFile(file, npz({ y: { shape: [4], data: BigInt64Array.of(0n, 1n, 0n, 1n) } }));
  await t.rejects(loadDataset(file), /nox\.npz needs arrays 'x' and 'y'; it has y/);
  const bad = path.join(tmp, 'bad.npz');
  await writeFile(bad, npz({ x, y: { shape: [3], data: BigInt64Array.of(0n, 1n, 0n) } }));
  await t.rejects(loadDataset(bad), /x \[4,2,3\] and y \[3\] must both start with the sample count/);
  await writeFile(path.join(tmp, 'junk.npz'), 'not a zip');
  await t.rejects(loadDataset(path.join(tmp, 'junk.npz')), /is not a readable \.npz/);
});
