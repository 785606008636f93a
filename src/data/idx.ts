/**
 * Reader (and a small writer, for fixtures and tests) for the IDX format used by MNIST and Fashion-MNIST.
 *
 * Layout: 2 zero bytes, a type byte (0x08 = unsigned byte), a rank byte, then one big-endian uint32 per dimension,
 * then the data. Labels are rank 1 (magic 0x00000801); images are usually rank 3 (magic 0x00000803: n × rows ×
 * cols), but any rank ≥ 2 is n images of the remaining dims (rank 4, 0x00000804: n × channels × rows × cols).
 * Files may be gzip-compressed; compression is detected from the gzip magic bytes, not from the file name.
 */
import { promises as fs } from 'node:fs';
import { gunzip, gzipSync } from 'node:zlib';
import { promisify } from 'node:util';
import { FedmanError } from '../util/errors.js';

const gunzipAsync = promisify(gunzip);

/** IDX magic number of a uint8 image file of the usual rank 3 (the last byte is the rank). */
export const IDX_IMAGES_MAGIC = 0x00000803;
/** IDX magic number of a uint8 label file (rank 1). */
export const IDX_LABELS_MAGIC = 0x00000801;

const TYPE_NAMES: Record<number, string> = { 0x08: 'uint8', 0x09: 'int8', 0x0b: 'int16', 0x0c: 'int32', 0x0d: 'float32', 0x0e: 'float64' };

/** A decoded uint8 IDX array. */
export interface IdxArray {
  /** The file it came from (for messages). */
  file: string;
  dims: number[];
  /** Row-major uint8 values (a view into the file buffer). */
  data: Uint8Array;
}

/** IDX images: `n` images of `shape` uint8 pixels. */
export interface IdxImages {
  file: string;
  n: number;
  /** Dims of one image: the file's dims after `n` (`[rows, cols]` in a rank-3 file). */
  shape: number[];
  /** The last two dims of `shape` (rows is 1 when an image has one dim). */
  rows: number;
  cols: number;
  data: Uint8Array;
}

/** IDX labels: `n` uint8 labels. */
export interface IdxLabels {
  file: string;
  n: number;
  labels: Uint8Array;
}

/** True when the buffer starts with the gzip magic bytes 1f 8b. */
export function isGzip(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}

/** Reads a file and gunzips it when it is gzip-compressed (by magic bytes). Errors are FedmanErrors naming the file. */
export async function readMaybeGzip(file: string): Promise<Uint8Array> {
  let raw: Uint8Array;
  try {
    raw = await fs.readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new FedmanError(`Data file not found: ${file}`, { file });
    if (code === 'EISDIR') throw new FedmanError(`Expected a data file but found a directory: ${file}`, { file });
    throw new FedmanError(`Cannot read data file ${file}: ${(err as Error).message}`, { file });
  }
  if (!isGzip(raw)) return raw;
  try {
    return await gunzipAsync(raw);
  } catch (err) {
    throw new FedmanError(`${file}: corrupt or truncated gzip data (${(err as Error).message})`, { file });
  }
}

/** Decodes an IDX buffer (already decompressed). `file` is only used in error messages. */
export function parseIdx(buf: Uint8Array, file: string, expectedMagic?: number): IdxArray {
  if (buf.length < 4) throw new FedmanError(`${file}: truncated IDX file (${buf.length} bytes, header needs at least 4)`, { file });
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = view.getUint32(0, false);
  const type = buf[2];
  const rank = buf[3];
  if (buf[0] !== 0 || buf[1] !== 0 || !(type in TYPE_NAMES)) {
    throw new FedmanError(`${file}: not an IDX file (bad magic number 0x${hex8(magic)})`, { file });
  }
  if (expectedMagic !== undefined && magic !== expectedMagic) {
    const what = expectedMagic === IDX_LABELS_MAGIC ? 'an IDX label file' : isImagesMagic(expectedMagic) ? 'an IDX image file' : 'IDX';
    throw new FedmanError(
      `${file}: bad magic number 0x${hex8(magic)}, expected 0x${hex8(expectedMagic)} for ${what} (found ${TYPE_NAMES[type]} data of rank ${rank})`,
      { file },
    );
  }
  if (type !== 0x08) throw new FedmanError(`${file}: IDX element type ${TYPE_NAMES[type]} is not supported (only uint8)`, { file });
  const headerLen = 4 + 4 * rank;
  if (buf.length < headerLen) {
    throw new FedmanError(`${file}: truncated IDX header (${buf.length} bytes, a rank-${rank} header needs ${headerLen})`, { file });
  }
  const dims: number[] = [];
  let count = 1;
  for (let i = 0; i < rank; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    count *= d;
  }
  const have = buf.length - headerLen;
  if (have < count) {
    throw new FedmanError(
      `${file}: truncated IDX file: header declares [${dims.join(' × ')}] = ${count} bytes of data but only ${have} are present`,
      { file },
    );
  }
  if (have > count) {
    throw new FedmanError(`${file}: IDX file has ${have - count} unexpected trailing bytes after [${dims.join(' × ')}] data`, { file });
  }
  return { file, dims, data: buf.subarray(headerLen, headerLen + count) };
}

/** Reads any uint8 IDX file (gzip or plain). */
export async function readIdx(file: string, expectedMagic?: number): Promise<IdxArray> {
  return parseIdx(await readMaybeGzip(file), file, expectedMagic);
}

/** Decodes an IDX image buffer: uint8 of rank ≥ 2 (magic 0x0000080R, R = rank; usually 0x00000803). */
export function parseIdxImages(buf: Uint8Array, file: string): IdxImages {
  const rank = buf.length >= 4 ? buf[3] : 0;
  const a = parseIdx(buf, file, rank >= 2 ? (IDX_IMAGES_MAGIC & ~0xff) | rank : IDX_IMAGES_MAGIC);
  const shape = a.dims.slice(1);
  return { file, n: a.dims[0], shape, rows: shape.length >= 2 ? shape[shape.length - 2] : 1, cols: shape[shape.length - 1], data: a.data };
}

/** Decodes an IDX label buffer (magic 0x00000801). */
export function parseIdxLabels(buf: Uint8Array, file: string): IdxLabels {
  const a = parseIdx(buf, file, IDX_LABELS_MAGIC);
  return { file, n: a.dims[0], labels: a.data };
}

/** Reads an IDX image file (gzip or plain). */
export async function readIdxImages(file: string): Promise<IdxImages> {
  return parseIdxImages(await readMaybeGzip(file), file);
}

/** Reads an IDX label file (gzip or plain). */
export async function readIdxLabels(file: string): Promise<IdxLabels> {
  return parseIdxLabels(await readMaybeGzip(file), file);
}

/** Throws a FedmanError naming both files when image and label counts differ. */
export function checkImageLabelCounts(images: IdxImages, labels: IdxLabels): void {
  if (images.n !== labels.n) {
    throw new FedmanError(
      `Image/label count mismatch: ${images.file} has ${images.n} images but ${labels.file} has ${labels.n} labels`,
      { imagesFile: images.file, labelsFile: labels.file },
    );
  }
}

/** Encodes a uint8 IDX file (optionally gzip-compressed). Used for fixtures and tests. */
export function encodeIdx(dims: readonly number[], data: Uint8Array, opts: { gzip?: boolean } = {}): Uint8Array {
  const count = dims.reduce((a, b) => a * b, 1);
  if (data.length !== count) throw new RangeError(`encodeIdx: data has ${data.length} bytes, dims need ${count}`);
  const out = new Uint8Array(4 + 4 * dims.length + count);
  const view = new DataView(out.buffer);
  out[2] = 0x08;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return opts.gzip ? gzipSync(out) : out;
}

/** uint8 of rank ≥ 2: a magic {@link parseIdxImages} accepts. */
function isImagesMagic(magic: number): boolean {
  return magic >>> 8 === IDX_IMAGES_MAGIC >>> 8 && (magic & 0xff) >= 2;
}

function hex8(v: number): string {
  return (v >>> 0).toString(16).padStart(8, '0');
}
