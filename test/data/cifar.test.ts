import t from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  CIFAR10_TEST_FILE,
  CIFAR10_TRAIN_FILES,
  detectCifar,
  encodeCifar,
  loadCifar10,
  loadCifar100,
} from '../../src/data/cifar.js';
import { Rng } from '../../src/util/rng.js';
import { FedmanError } from '../../src/util/errors.js';
import { tmpDir } from './tmpdir.js';

function randomPixels(n: number, seed: number): Uint8Array {
  const r = new Rng(seed);
  return Uint8Array.from({ length: n * 3072 }, () => r.int(256));
}

/** Writes CIFAR-10 files with `per` records each; returns the pixels and labels of each file. */
function writeCifar10(dir: string, per: number, opts: { gzipFirst?: boolean } = {}) {
  const out: { labels: number[]; pixels: Uint8Array }[] = [];
  [...CIFAR10_TRAIN_FILES, CIFAR10_TEST_FILE].forEach((name, f) => {
    const labels = Array.from({ length: per }, (_, i) => (i + f) % 10);
    const pixels = randomPixels(per, 100 + f);
    const bytes = encodeCifar(labels, pixels);
    writeFileSync(path.join(dir, name), f === 0 && opts.gzipFirst ? gzipSync(bytes) : bytes);
    out.push({ labels, pixels });
  });
  return out;
}

t.test('CIFAR-10 binary: 5 training batches + test batch', async (t) => {
  const dir = tmpDir(t);
  const files = writeCifar10(dir, 4, { gzipFirst: true });
  t.equal(await detectCifar(dir), 'cifar10');
  const { train, test } = await loadCifar10(dir);
  t.same([train.n, test.n], [20, 4]);
  t.same(train.sampleShape, [3, 32, 32]);
  t.equal(train.numClasses, 10);
  t.same(Array.from(train.y.slice(0, 8)), [0, 1, 2, 3, 1, 2, 3, 4]);
  t.same(Array.from(test.y), [5, 6, 7, 8]);
  // Record 1 of batch 2 is training sample 5; pixel layout is channels-first as stored (R plane, G plane, B plane).
  const src = files[1].pixels;
  let bad = 0;
  for (let k = 0; k < 3072; k++) if (train.x[5 * 3072 + k] !== Math.fround(src[3072 + k] / 255)) bad++;
  t.equal(bad, 0);

  const limited = await loadCifar10(dir, { limit: 6, testLimit: 1, mean: [0.5, 0.5, 0.5], std: [0.5, 0.25, 1] });
  t.same([limited.train.n, limited.test.n], [6, 1]);
  const p = files[1].pixels;
  t.ok(Math.abs(limited.train.x[5 * 3072 + 1024] - (p[3072 + 1024] / 255 - 0.5) / 0.25) < 1e-6, 'green channel uses std[1]');
  t.ok(Math.abs(limited.train.x[5 * 3072 + 2048] - (p[3072 + 2048] / 255 - 0.5) / 1) < 1e-6, 'blue channel uses std[2]');
});

t.test('CIFAR-10 in the archive subdirectory, and missing files', async (t) => {
  const root = tmpDir(t);
  const sub = path.join(root, 'cifar-10-batches-bin');
  mkdirSync(sub);
  writeCifar10(sub, 2);
  t.equal(await detectCifar(root), 'cifar10');
  t.equal((await loadCifar10(root)).train.n, 10);
  const empty = tmpDir(t);
  await t.rejects(loadCifar10(empty), /CIFAR-10 directory .* is missing data_batch_1.bin, .*test_batch.bin \(expected the binary version/);
  t.equal(await detectCifar(empty), undefined);
});

t.test('CIFAR-100 binary: fine labels by default, coarse on request', async (t) => {
  const dir = tmpDir(t);
  const n = 6;
  const labels = Array.from({ length: n }, (_, i) => [i % 20, (i * 17) % 100] as const);
  const pixels = randomPixels(n, 5);
  writeFileSync(path.join(dir, 'train.bin'), encodeCifar(labels, pixels));
  writeFileSync(path.join(dir, 'test.bin'), encodeCifar(labels.slice(0, 2), pixels.subarray(0, 2 * 3072)));
  t.equal(await detectCifar(dir), 'cifar100');
  const fine = await loadCifar100(dir);
  t.equal(fine.train.numClasses, 100);
  t.same(Array.from(fine.train.y), labels.map((l) => l[1]));
  t.equal(fine.train.x[3072 * 2 + 7], Math.fround(pixels[3072 * 2 + 7] / 255));
  t.equal(fine.test.n, 2);
  const coarse = await loadCifar100(dir, { labels: 'coarse' });
  t.equal(coarse.train.numClasses, 20);
  t.same(Array.from(coarse.train.y), labels.map((l) => l[0]));
  t.equal(coarse.train.name, 'cifar100-coarse/train');
});

t.test('truncated and invalid CIFAR files give clear errors naming the file', async (t) => {
  const dir = tmpDir(t);
  writeCifar10(dir, 3);
  const victim = path.join(dir, 'data_batch_3.bin');
  const good = encodeCifar([1, 2, 3], randomPixels(3, 1));
  writeFileSync(victim, good.subarray(0, good.length - 100));
  const err = await loadCifar10(dir).catch((e: unknown) => e);
  t.type(err, FedmanError);
  t.equal(
    (err as Error).message,
    `${victim}: truncated or not a CIFAR-10 binary file: 9119 bytes is not a multiple of the 3073-byte record (2 whole records + 2973 bytes)`,
  );

  writeFileSync(victim, encodeCifar([1, 12, 3], randomPixels(3, 1)));
  await t.rejects(loadCifar10(dir), { message: `${victim}: record 1 has label 12, outside [0, 10)` });

  const d100 = tmpDir(t);
  const rec = encodeCifar([[1, 2]], randomPixels(1, 2));
  writeFileSync(path.join(d100, 'train.bin'), rec);
  writeFileSync(path.join(d100, 'test.bin'), rec.subarray(0, 3073)); // a CIFAR-10-sized record in a CIFAR-100 file
  await t.rejects(loadCifar100(d100), /test.bin: truncated or not a CIFAR-100 binary file: 3073 bytes is not a multiple of the 3074-byte record/);
  writeFileSync(path.join(d100, 'test.bin'), new Uint8Array(0));
  await t.rejects(loadCifar100(d100), /test.bin: empty CIFAR file/);
});
