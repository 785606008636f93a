/**
 * Loads an MNIST-style directory of IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte,
 * t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each optionally gzip-compressed with a `.gz` suffix).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { FedmanError } from '../util/errors.js';
import { sampleSize, type Dataset } from './dataset.js';
import { checkImageLabelCounts, readIdxImages, readIdxLabels, type IdxImages, type IdxLabels } from './idx.js';
import { convertPixels, pixelLut, type PixelOptions } from './pixels.js';

/** Standard file stems; each may also be spelled with a dot (`train-images.idx3-ubyte`) and/or end in `.gz`. */
export const IDX_FILE_STEMS = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

export type IdxRole = keyof typeof IDX_FILE_STEMS;

/** Options for {@link loadIdxDir}. */
export interface IdxDirOptions extends PixelOptions {
  /** Shape of one sample; its size must equal the image's (default: `[1, rows, cols]` for rank-3 files, else the image dims). */
  sampleShape?: number[];
  /** Keep only the first `limit` training samples (and test samples unless `testLimit` is given). */
  limit?: number;
  /** Keep only the first `testLimit` test samples (default: `limit`). */
  testLimit?: number;
  /** Dataset name prefix (default: the directory's base name). */
  name?: string;
  /** Number of classes (default: 1 + the largest label in either split). */
  numClasses?: number;
}

/** A train/test pair. */
export interface TrainTest {
  train: Dataset;
  test: Dataset;
}

function candidates(stem: string): string[] {
  const dotted = stem.replace(/-(idx\d)-/, '.$1-');
  return [stem, `${stem}.gz`, dotted, `${dotted}.gz`];
}

/**
 * Finds the four IDX files in `dir`. Returns the paths found per role and the list of roles missing
 * (plain files win over `.gz` when both exist).
 */
export async function findIdxFiles(dir: string): Promise<{ files: Partial<Record<IdxRole, string>>; missing: string[] }> {
  let entries: string[];
  try {
    entries = await fs.readdir(dir);
  } catch {
    return { files: {}, missing: Object.values(IDX_FILE_STEMS).map((s) => `${s}[.gz]`) };
  }
  const present = new Set(entries);
  const files: Partial<Record<IdxRole, string>> = {};
  const missing: string[] = [];
  for (const [role, stem] of Object.entries(IDX_FILE_STEMS) as [IdxRole, string][]) {
    const hit = candidates(stem).find((c) => present.has(c));
    if (hit) files[role] = path.join(dir, hit);
    else missing.push(`${stem}[.gz]`);
  }
  return { files, missing };
}

/** True when `dir` holds all four IDX files. */
export async function isIdxDir(dir: string): Promise<boolean> {
  return (await findIdxFiles(dir)).missing.length === 0;
}

/** Loads `{train, test}` from an IDX directory; pixels become float32 in [0, 1] unless options say otherwise. */
export async function loadIdxDir(dir: string, opts: IdxDirOptions = {}): Promise<TrainTest> {
  const { files, missing } = await findIdxFiles(dir);
  if (missing.length > 0) {
    throw new FedmanError(`IDX dataset directory ${dir} is missing: ${missing.join(', ')}`, { dir, missing });
  }
  const [trI, trL, teI, teL] = await Promise.all([
    readIdxImages(files.trainImages!),
    readIdxLabels(files.trainLabels!),
    readIdxImages(files.testImages!),
    readIdxLabels(files.testLabels!),
  ]);
  checkImageLabelCounts(trI, trL);
  checkImageLabelCounts(teI, teL);
  if (trI.shape.join('×') !== teI.shape.join('×')) {
    throw new FedmanError(
      `IDX image size mismatch: ${trI.file} has ${trI.shape.join('×')} images but ${teI.file} has ${teI.shape.join('×')}`,
    );
  }
  const numClasses = opts.numClasses ?? Math.max(maxByte(trL.labels), maxByte(teL.labels)) + 1;
  const name = opts.name ?? path.basename(path.resolve(dir));
  const train = idxToDataset(trI, trL, { ...opts, numClasses, name: `${name}/train`, limit: opts.limit });
  const test = idxToDataset(teI, teL, { ...opts, numClasses, name: `${name}/test`, limit: opts.testLimit ?? opts.limit });
  return { train, test };
}

/** Converts decoded IDX images and labels into a Dataset (first `limit` samples only, when given). */
export function idxToDataset(
  images: IdxImages,
  labels: IdxLabels,
  opts: PixelOptions & { sampleShape?: number[]; limit?: number; numClasses: number; name: string },
): Dataset {
  checkImageLabelCounts(images, labels);
  const pixels = sampleSize(images.shape);
  // A rank-3 file holds single-channel images: one channel axis first, as image models take them.
  const sampleShape = opts.sampleShape ? [...opts.sampleShape] : images.shape.length === 2 ? [1, ...images.shape] : [...images.shape];
  if (sampleSize(sampleShape) !== pixels || !sampleShape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new FedmanError(
      `sampleShape [${sampleShape.join(', ')}] does not fit ${images.shape.join('×')} images from ${images.file} (needs ${pixels} values)`,
    );
  }
  if (opts.limit !== undefined && (!(opts.limit >= 0) || !Number.isInteger(opts.limit))) {
    throw new FedmanError(`limit must be a non-negative integer, got ${opts.limit}`);
  }
  const n = opts.limit === undefined ? images.n : Math.min(opts.limit, images.n);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const l = labels.labels[i];
    if (l >= opts.numClasses) {
      throw new FedmanError(`${labels.file}: label ${l} at index ${i} is outside [0, ${opts.numClasses})`, { file: labels.file });
    }
    y[i] = l;
  }
  const x = new Float32Array(n * pixels);
  const lut = pixelLut(sampleShape.length >= 2 ? sampleShape[0] : 1, opts, opts.name);
  convertPixels(images.data, 0, x, 0, n, sampleShape, lut);
  return { name: opts.name, x, y, n, sampleShape, numClasses: opts.numClasses };
}

function maxByte(a: Uint8Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) if (a[i] > m) m = a[i];
  return m;
}
