/**
 * The in-memory dataset type used across fedman, plus helpers: subsets, per-channel normalisation and a
 * batch loader that fills preallocated ONNX-ready buffers.
 */
import { FedmanError } from '../util/errors.js';
import type { Rng } from '../util/rng.js';

/** A labelled dataset held in memory. */
export interface Dataset {
  /** Human-readable name, e.g. `mnist/train`. */
  name: string;
  /** Samples, `n × sampleSize` values, row-major (each sample laid out as `sampleShape`, channels first). */
  x: Float32Array;
  /** Class labels in `[0, numClasses)`, one per sample. */
  y: Int32Array;
  /** Number of samples. */
  n: number;
  /** Shape of one sample, e.g. `[1, 28, 28]` or `[3, 32, 32]` (or `[784]` for a flat MLP input). */
  sampleShape: number[];
  /** Number of classes (labels are `0 … numClasses-1`). */
  numClasses: number;
  /**
   * Per-sample target tensors, for models trained on more than one class label (segmentation maps, multi-label
   * scores, regression values, label sequences): `n × size(shape)` values, float targets or int class indices.
   * Datasets with targets have `y` all 0 and `numClasses` 1.
   */
  targets?: Targets;
}

/** Target tensors of a dataset (see Dataset.targets). */
export interface Targets {
  shape: number[];
  values: Float32Array | Int32Array;
}

/** Number of values in one sample (the product of `sampleShape`). */
export function sampleSize(dsOrShape: Dataset | readonly number[]): number {
  const shape = Array.isArray(dsOrShape) ? (dsOrShape as readonly number[]) : (dsOrShape as Dataset).sampleShape;
  let s = 1;
  for (const d of shape) s *= d;
  return s;
}

/** Builds a dataset and checks that `x`, `y`, `n` and `sampleShape` agree (throws a FedmanError if not). */
export function makeDataset(init: Dataset): Dataset {
  validateDataset(init);
  return init;
}

/** Checks the internal consistency of a dataset; labels are range-checked too. */
export function validateDataset(ds: Dataset): void {
  const ss = sampleSize(ds.sampleShape);
  if (!ds.sampleShape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new FedmanError(`Dataset ${ds.name}: sampleShape [${ds.sampleShape.join(', ')}] must contain positive integers`);
  }
  if (ds.x.length !== ds.n * ss) {
    throw new FedmanError(`Dataset ${ds.name}: x has ${ds.x.length} values, expected n × sampleSize = ${ds.n} × ${ss}`);
  }
  if (ds.y.length !== ds.n) throw new FedmanError(`Dataset ${ds.name}: y has ${ds.y.length} labels, expected ${ds.n}`);
  if (ds.targets && ds.targets.values.length !== ds.n * sampleSize(ds.targets.shape)) {
    throw new FedmanError(`Dataset ${ds.name}: the targets hold ${ds.targets.values.length} values, expected n × [${ds.targets.shape}] = ${ds.n * sampleSize(ds.targets.shape)}`);
  }
  const bad = firstLabelOutOfRange(ds.y, ds.numClasses);
  if (bad >= 0) {
    throw new FedmanError(`Dataset ${ds.name}: label ${ds.y[bad]} at index ${bad} is outside [0, ${ds.numClasses})`);
  }
}

function firstLabelOutOfRange(y: Int32Array, numClasses: number): number {
  for (let i = 0; i < y.length; i++) if (y[i] < 0 || y[i] >= numClasses) return i;
  return -1;
}

/** A new dataset holding copies of the given samples, in the given order. */
export function subset(ds: Dataset, indices: ArrayLike<number>, name = `${ds.name}[subset]`): Dataset {
  const ss = sampleSize(ds.sampleShape);
  const m = indices.length;
  const x = new Float32Array(m * ss);
  const y = new Int32Array(m);
  for (let i = 0; i < m; i++) {
    const j = indices[i];
    if (!(j >= 0 && j < ds.n) || !Number.isInteger(j)) throw new RangeError(`subset: index ${j} out of range [0, ${ds.n})`);
    x.set(ds.x.subarray(j * ss, (j + 1) * ss), i * ss);
    y[i] = ds.y[j];
  }
  return { name, x, y, n: m, sampleShape: [...ds.sampleShape], numClasses: ds.numClasses, ...(ds.targets ? { targets: pickTargets(ds.targets, indices) } : {}) };
}

/** The first `limit` samples (copied), or the dataset itself when it already has at most `limit`. */
export function takeFirst(ds: Dataset, limit: number): Dataset {
  if (!(limit >= 0) || !Number.isInteger(limit)) throw new FedmanError(`limit must be a non-negative integer, got ${limit}`);
  if (limit >= ds.n) return ds;
  const ss = sampleSize(ds.sampleShape);
  const targets = ds.targets ? { shape: [...ds.targets.shape], values: ds.targets.values.slice(0, limit * sampleSize(ds.targets.shape)) } : undefined;
  return { ...ds, x: ds.x.slice(0, limit * ss), y: ds.y.slice(0, limit), n: limit, sampleShape: [...ds.sampleShape], ...(targets ? { targets } : {}) };
}

function pickTargets(t: Targets, indices: ArrayLike<number>): Targets {
  const ts = sampleSize(t.shape);
  const values = t.values instanceof Float32Array ? new Float32Array(indices.length * ts) : new Int32Array(indices.length * ts);
  for (let i = 0; i < indices.length; i++) values.set(t.values.subarray(indices[i]! * ts, (indices[i]! + 1) * ts), i * ts);
  return { shape: [...t.shape], values };
}

/** Per-class sample counts. */
export function classCounts(ds: Pick<Dataset, 'y' | 'numClasses'>): number[] {
  const c = new Array<number>(ds.numClasses).fill(0);
  for (let i = 0; i < ds.y.length; i++) c[ds.y[i]]++;
  return c;
}

/** Channel count and per-channel plane size: the first axis is the channel axis when the sample is ≥ 2-D. */
export function channelLayout(sampleShape: readonly number[]): { channels: number; plane: number } {
  const ss = sampleSize(sampleShape);
  const channels = sampleShape.length >= 2 ? sampleShape[0] : 1;
  return { channels, plane: ss / channels };
}

/** Per-channel mean and (population) standard deviation over all samples, accumulated in float64. */
export function channelStats(ds: Dataset): { mean: number[]; std: number[] } {
  const ss = sampleSize(ds.sampleShape);
  const { channels, plane } = channelLayout(ds.sampleShape);
  const sum = new Float64Array(channels);
  const sumSq = new Float64Array(channels);
  const x = ds.x;
  for (let i = 0; i < ds.n; i++) {
    const base = i * ss;
    for (let c = 0; c < channels; c++) {
      let s = 0;
      let s2 = 0;
      const off = base + c * plane;
      for (let k = 0; k < plane; k++) {
        const v = x[off + k];
        s += v;
        s2 += v * v;
      }
      sum[c] += s;
      sumSq[c] += s2;
    }
  }
  const count = ds.n * plane;
  const mean: number[] = [];
  const std: number[] = [];
  for (let c = 0; c < channels; c++) {
    const m = count > 0 ? sum[c] / count : 0;
    mean.push(m);
    std.push(count > 0 ? Math.sqrt(Math.max(0, sumSq[c] / count - m * m)) : 0);
  }
  return { mean, std };
}

/**
 * Normalises `ds.x` in place, per channel: `x ← (x − mean[c]) / std[c]`. A single mean/std is broadcast to all
 * channels. Returns the same dataset.
 */
export function normalizeInPlace(ds: Dataset, mean: readonly number[], std: readonly number[]): Dataset {
  const ss = sampleSize(ds.sampleShape);
  const { channels, plane } = channelLayout(ds.sampleShape);
  const m = broadcastChannels(mean, channels, 'mean', ds.name);
  const s = broadcastChannels(std, channels, 'std', ds.name);
  for (let c = 0; c < channels; c++) {
    if (!(s[c] > 0) || !Number.isFinite(s[c])) throw new FedmanError(`Dataset ${ds.name}: std for channel ${c} must be a positive number, got ${s[c]}`);
    if (!Number.isFinite(m[c])) throw new FedmanError(`Dataset ${ds.name}: mean for channel ${c} must be finite, got ${m[c]}`);
  }
  const x = ds.x;
  for (let i = 0; i < ds.n; i++) {
    for (let c = 0; c < channels; c++) {
      const mc = m[c];
      const sc = s[c];
      const off = i * ss + c * plane;
      const end = off + plane;
      for (let k = off; k < end; k++) x[k] = (x[k] - mc) / sc;
    }
  }
  return ds;
}

/** Expands a per-channel vector (length 1 broadcasts) or throws a FedmanError naming the field. */
export function broadcastChannels(v: readonly number[], channels: number, field: string, dsName: string): number[] {
  if (v.length === channels) return [...v];
  if (v.length === 1) return new Array<number>(channels).fill(v[0]);
  throw new FedmanError(`Dataset ${dsName}: ${field} has ${v.length} values but samples have ${channels} channel(s)`);
}

/** Indices 0..n-1 (or a copy of `indices`) shuffled with `rng`. */
export function shuffledIndices(nOrIndices: number | ArrayLike<number>, rng: Rng): number[] {
  const idx = typeof nOrIndices === 'number' ? Array.from({ length: nOrIndices }, (_, i) => i) : Array.from(nOrIndices);
  return rng.shuffle(idx);
}

/** A batch's labels: int64 class indices, or float32 target values. */
export type Labels = BigInt64Array | Float32Array;

/** One batch produced by {@link BatchLoader}. The object and its buffers are reused: read them before the next step. */
export interface Batch {
  /** `size × sampleSize` values: a view over the loader's preallocated buffer. */
  x: Float32Array;
  /** `size` int64 labels (ONNX SoftmaxCrossEntropyLoss takes int64), or for a dataset with targets `size ×
   *  labelSize` target values (float32, or int64 class indices): a view over the loader's buffer. */
  y: Labels;
  /** Number of samples in this batch (`batchSize`, or fewer for a final partial batch). */
  size: number;
  /** 0-based position of the batch within the current pass. */
  index: number;
}

/**
 * Fills preallocated batch buffers from a dataset, following a list of sample indices. No per-batch data
 * allocation: full batches reuse one pair of buffers; a final partial batch uses a cached view of them.
 */
export class BatchLoader {
  /** Full-size sample buffer (`batchSize × sampleSize`). */
  readonly x: Float32Array;
  /** Full-size label buffer (`batchSize × labelSize`). */
  readonly y: Labels;
  readonly sampleSize: number;
  /** Label values per sample: 1 (a class), or the targets' size (int targets padded with 0 to `labelSize`). */
  readonly labelSize: number;
  private readonly labelTable: bigint[];
  private readonly views = new Map<number, { x: Float32Array; y: Labels }>();
  private readonly batch: Batch;

  constructor(readonly ds: Dataset, readonly batchSize: number, labelSize?: number) {
    if (!(batchSize >= 1) || !Number.isInteger(batchSize)) throw new FedmanError(`batch size must be a positive integer, got ${batchSize}`);
    this.sampleSize = sampleSize(ds.sampleShape);
    this.x = new Float32Array(batchSize * this.sampleSize);
    const own = ds.targets ? sampleSize(ds.targets.shape) : 1;
    this.labelSize = labelSize ?? own;
    const float = ds.targets?.values instanceof Float32Array;
    if (this.labelSize < own || (float && this.labelSize !== own)) {
      throw new FedmanError(`dataset '${ds.name}' has ${ds.targets ? `targets of shape [${ds.targets.shape}]` : 'one label'} per sample but the model reads ${this.labelSize} label values per sample`);
    }
    this.y = float ? new Float32Array(batchSize * this.labelSize) : new BigInt64Array(batchSize * this.labelSize);
    // One bigint per class, so filling labels does not create a BigInt per sample.
    this.labelTable = Array.from({ length: Math.max(ds.numClasses, 256) }, (_, c) => BigInt(c));
    this.views.set(batchSize, { x: this.x, y: this.y });
    this.batch = { x: this.x, y: this.y, size: 0, index: 0 };
  }

  /**
   * Copies up to `batchSize` samples, `indices[start …]`, into the buffers; returns how many were copied.
   */
  fill(indices: ArrayLike<number>, start: number): number {
    const count = Math.max(0, Math.min(this.batchSize, indices.length - start));
    const ss = this.sampleSize;
    const src = this.ds.x;
    const dst = this.x;
    const ys = this.ds.y;
    const n = this.ds.n;
    for (let i = 0; i < count; i++) {
      const j = indices[start + i];
      if (!(j >= 0 && j < n)) throw new RangeError(`BatchLoader: index ${j} out of range [0, ${n})`);
      const from = j * ss;
      const to = i * ss;
      for (let k = 0; k < ss; k++) dst[to + k] = src[from + k];
      if (this.ds.targets) this.fillTargets(i, j);
      else (this.y as BigInt64Array)[i] = this.labelTable[ys[j]];
    }
    return count;
  }

  private fillTargets(i: number, j: number): void {
    const t = this.ds.targets!;
    const own = t.values.length / this.ds.n;
    const row = t.values.subarray(j * own, (j + 1) * own);
    const at = i * this.labelSize;
    if (this.y instanceof Float32Array) { this.y.set(row, at); return; }
    for (let k = 0; k < this.labelSize; k++) {
      const v = k < own ? row[k]! : 0;
      this.y[at + k] = this.labelTable[v] ?? BigInt(v);
    }
  }

  /** Number of batches one pass over `numIndices` indices yields. */
  numBatches(numIndices: number, dropLast = false): number {
    return dropLast ? Math.floor(numIndices / this.batchSize) : Math.ceil(numIndices / this.batchSize);
  }

  /**
   * Iterates over `indices` in order, one batch at a time. The yielded object is reused between steps.
   * With `dropLast`, a final partial batch is skipped.
   */
  *batches(indices: ArrayLike<number>, opts: { dropLast?: boolean } = {}): Generator<Batch, void, undefined> {
    const nb = this.numBatches(indices.length, opts.dropLast ?? false);
    const b = this.batch;
    for (let bi = 0; bi < nb; bi++) {
      const size = this.fill(indices, bi * this.batchSize);
      const v = this.viewFor(size);
      b.x = v.x;
      b.y = v.y;
      b.size = size;
      b.index = bi;
      yield b;
    }
  }

  private viewFor(size: number): { x: Float32Array; y: Labels } {
    let v = this.views.get(size);
    if (!v) {
      v = { x: this.x.subarray(0, size * this.sampleSize), y: this.y.subarray(0, size * this.labelSize) };
      this.views.set(size, v);
    }
    return v;
  }
}
