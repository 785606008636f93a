/**
 * Tensor datasets: a `.npz` (numpy.savez) or `.safetensors` file holding `x` (the samples, [n, …]) and `y` (their
 * targets, [n, …]), optionally `x_test` and `y_test`. What `y` holds decides what it is:
 *   - integers of shape [n]: class labels (a classification dataset, as the IDX and CIFAR loaders give);
 *   - integers of shape [n, …]: class indices per position (segmentation maps [n, H, W], label sequences [n, S]
 *     padded with 0 for CTC), as Dataset.targets;
 *   - floats of shape [n, …]: target values (multi-label 0/1 scores, regression targets), as Dataset.targets.
 * Samples become float32 (any numeric type; no scaling). Without x_test/y_test the test split is the training data.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { unzipSync } from 'fflate';
import { FedmanError } from '../util/errors.js';
import { makeDataset, sampleSize, takeFirst, type Dataset } from './dataset.js';

interface Array_ { shape: number[]; values: Float64Array | Float32Array | Int32Array; integer: boolean }

const NPY_TYPES: Record<string, { bytes: number; read: (v: DataView, o: number) => number; integer: boolean }> = {
  '<f4': { bytes: 4, read: (v, o) => v.getFloat32(o, true), integer: false },
  '<f8': { bytes: 8, read: (v, o) => v.getFloat64(o, true), integer: false },
  '<i8': { bytes: 8, read: (v, o) => Number(v.getBigInt64(o, true)), integer: true },
  '<i4': { bytes: 4, read: (v, o) => v.getInt32(o, true), integer: true },
  '<i2': { bytes: 2, read: (v, o) => v.getInt16(o, true), integer: true },
  '<u2': { bytes: 2, read: (v, o) => v.getUint16(o, true), integer: true },
  '|i1': { bytes: 1, read: (v, o) => v.getInt8(o), integer: true },
  '|u1': { bytes: 1, read: (v, o) => v.getUint8(o), integer: true },
  '|b1': { bytes: 1, read: (v, o) => v.getUint8(o), integer: true },
};
const SAFETENSORS_TYPES: Record<string, string> = { F32: '<f4', F64: '<f8', I64: '<i8', I32: '<i4', I16: '<i2', U16: '<u2', I8: '|i1', U8: '|u1', BOOL: '|b1' };

function decode(bytes: Uint8Array, offset: number, count: number, descr: string, where: string): Array_['values'] & { integer?: boolean } {
  const t = NPY_TYPES[descr];
  if (!t) throw new FedmanError(`${where} has element type '${descr}'; fedman reads little-endian float32/64, int8–64, uint8/16 and bool`);
  if (offset + count * t.bytes > bytes.length) throw new FedmanError(`${where} is truncated`);
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, count * t.bytes);
  const out = t.integer ? new Int32Array(count) : new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = t.read(view, i * t.bytes);
  return out;
}

function parseNpy(bytes: Uint8Array, where: string): Array_ {
  if (bytes.length < 10 || bytes[0] !== 0x93 || new TextDecoder().decode(bytes.subarray(1, 6)) !== 'NUMPY') throw new FedmanError(`${where} is not a .npy array`);
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = new TextDecoder().decode(bytes.subarray(start, start + headerLen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*True/.test(header);
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || shapeText === undefined) throw new FedmanError(`${where} has an unreadable .npy header`);
  if (fortran) throw new FedmanError(`${where} is stored in Fortran order; save it C-contiguous (np.ascontiguousarray)`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s).map(Number);
  const count = shape.reduce((p, d) => p * d, 1);
  return { shape, values: decode(bytes, start + headerLen, count, descr, where), integer: NPY_TYPES[descr]?.integer ?? false };
}

function readNpz(bytes: Uint8Array, where: string): Map<string, Array_> {
  let files: Record<string, Uint8Array>;
  try { files = unzipSync(bytes); } catch (err) {
    throw new FedmanError(`${where} is not a readable .npz (zip) file: ${(err as Error).message}`);
  }
  const out = new Map<string, Array_>();
  for (const [name, data] of Object.entries(files)) if (name.endsWith('.npy')) out.set(name.slice(0, -4), parseNpy(data, `${where}: ${name}`));
  return out;
}

function readSafetensors(bytes: Uint8Array, where: string): Map<string, Array_> {
  if (bytes.length < 8) throw new FedmanError(`${where} is truncated (no header)`);
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  try { header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))); } catch {
    throw new FedmanError(`${where} has a corrupt safetensors header`);
  }
  const out = new Map<string, Array_>();
  for (const [name, e] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const descr = SAFETENSORS_TYPES[e.dtype] ?? e.dtype;
    const count = e.shape.reduce((p, d) => p * d, 1);
    out.set(name, { shape: e.shape, values: decode(bytes, 8 + n + e.data_offsets[0], count, descr, `${where}: tensor '${name}'`), integer: NPY_TYPES[descr]?.integer ?? false });
  }
  return out;
}

function toDataset(x: Array_ | undefined, y: Array_ | undefined, name: string, where: string, names: string): Dataset {
  if (!x || !y) throw new FedmanError(`${where} needs arrays '${name === 'test' ? 'x_test' : 'x'}' and '${name === 'test' ? 'y_test' : 'y'}'; it has ${names}`);
  const n = x.shape[0] ?? 0;
  if (x.shape.length < 2 || y.shape[0] !== n) throw new FedmanError(`${where}: x ${JSON.stringify(x.shape)} and y ${JSON.stringify(y.shape)} must both start with the sample count (x with at least one more axis)`);
  const samples = Float32Array.from(x.values);
  const base = { name: `${path.basename(where)}/${name}`, x: samples, n, sampleShape: x.shape.slice(1) };
  if (y.integer && y.shape.length === 1) {
    const labels = Int32Array.from(y.values);
    const numClasses = labels.reduce((m, v) => Math.max(m, v + 1), 1);
    return makeDataset({ ...base, y: labels, numClasses });
  }
  const values = y.integer ? Int32Array.from(y.values) : Float32Array.from(y.values);
  return makeDataset({ ...base, y: new Int32Array(n), numClasses: 1, targets: { shape: y.shape.slice(1), values } });
}

export async function loadTensorFile(file: string, opts: { limit?: number; testLimit?: number } = {}): Promise<{ train: Dataset; test: Dataset }> {
  let bytes: Uint8Array;
  try { bytes = await fs.readFile(file); } catch (err) {
    throw new FedmanError(`cannot read tensor dataset '${file}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const arrays = file.endsWith('.npz') ? readNpz(bytes, file) : readSafetensors(bytes, file);
  const names = [...arrays.keys()].join(', ') || 'none';
  let train = toDataset(arrays.get('x'), arrays.get('y'), 'train', file, names);
  let test = arrays.has('x_test') || arrays.has('y_test') ? toDataset(arrays.get('x_test'), arrays.get('y_test'), 'test', file, names) : train;
  if (sampleSize(test.sampleShape) !== sampleSize(train.sampleShape)) throw new FedmanError(`${file}: x_test's samples differ in shape from x's`);
  if (opts.limit !== undefined) train = takeFirst(train, opts.limit);
  const testLimit = opts.testLimit ?? opts.limit;
  if (testLimit !== undefined) test = takeFirst(test, testLimit);
  return { train, test };
}

export function isTensorFile(spec: string): boolean {
  return /\.(npz|safetensors)$/i.test(spec);
}
