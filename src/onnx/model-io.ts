/** Loading and saving ONNX models (with external-data tensors resolved on load). */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { onnx, toNumber, type ModelProto, type TensorProto } from './proto.js';
import { decodeModel, encodeModel } from './model-codec.js';

// The pure (file-system-free) half lives in model-codec.ts so browser code can use it.
export { decodeModel, encodeModel };
import { FedmanError } from '../util/errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';

export async function loadModel(file: string): Promise<ModelProto> {
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(file);
  } catch (err) {
    throw new FedmanError(`cannot read model file '${file}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const model = decodeModel(bytes, `'${file}'`);
  await resolveExternalData(model, path.dirname(file), file);
  return model;
}

/** Protobuf's hard limit on one message: larger models must keep their weights in an external-data file. */
export const PROTOBUF_LIMIT = 2 ** 31 - 1;

export interface SaveOptions {
  /**
   * Move initializers of at least this many bytes into `<file>.data` (ONNX external data, 4 KiB-aligned offsets).
   * Default: only when the model would exceed protobuf's 2 GiB limit (then every initializer of ≥ 1 KiB moves).
   */
  externalDataThreshold?: number;
}

/**
 * Saves a model atomically. With external data, the weights file is written (and fsynced) first, then the model
 * that points at it, so a crash never leaves a model referring to a missing or partial weights file.
 */
export async function saveModel(file: string, model: ModelProto, opts: SaveOptions = {}): Promise<void> {
  const inits = model.graph?.initializer ?? [];
  const rawBytes = inits.reduce((s, t) => s + (t.rawData?.length ?? 0), 0);
  const threshold = opts.externalDataThreshold ?? (rawBytes > PROTOBUF_LIMIT - (1 << 20) ? 1024 : undefined);
  if (threshold === undefined) {
    await writeFileAtomic(file, encodeModel(model));
    return;
  }
  const location = `${path.basename(file)}.data`;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const initializer = inits.map((t) => {
    const raw = t.rawData;
    if (!raw || raw.length < threshold) return t;
    const pad = (4096 - (offset % 4096)) % 4096;
    if (pad) chunks.push(new Uint8Array(pad));
    offset += pad;
    chunks.push(raw);
    const entry: TensorProto = {
      ...t, rawData: new Uint8Array(0), dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [{ key: 'location', value: location }, { key: 'offset', value: String(offset) }, { key: 'length', value: String(raw.length) }],
    };
    offset += raw.length;
    return entry;
  });
  const slim: ModelProto = { ...model, graph: { ...model.graph, initializer } };
  const encoded = encodeModel(slim);
  if (encoded.length > PROTOBUF_LIMIT) {
    throw new FedmanError(`'${file}': the model is ${encoded.length} bytes even with its weights external; protobuf allows at most ${PROTOBUF_LIMIT}`);
  }
  const data = new Uint8Array(offset);
  let pos = 0;
  for (const c of chunks) { data.set(c, pos); pos += c.length; }
  await writeFileAtomic(path.join(path.dirname(file), location), data);
  await writeFileAtomic(file, encoded);
}

function externalEntry(t: TensorProto, key: string): string | undefined {
  return t.externalData?.find((e) => e.key === key)?.value ?? undefined;
}

/** Inlines tensors stored in external files (ONNX's data_location = EXTERNAL) as raw_data. */
async function resolveExternalData(model: ModelProto, dir: string, file: string): Promise<void> {
  for (const t of model.graph?.initializer ?? []) {
    if (t.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) continue;
    const location = externalEntry(t, 'location');
    if (!location) throw new FedmanError(`'${file}': initializer '${t.name}' is external but names no location`);
    const resolved = path.resolve(dir, location);
    if (!resolved.startsWith(path.resolve(dir) + path.sep)) {
      throw new FedmanError(`'${file}': initializer '${t.name}' points outside the model directory ('${location}')`);
    }
    /** A byte count of the external-data entry: a non-negative integer (a bad one must not reach fs.read). */
    const count = (key: string, v: string): number => {
      const x = Number(v);
      if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(x)) {
        throw new FedmanError(`'${file}': initializer '${t.name}' has an invalid external-data ${key} '${v}' (expected a non-negative integer)`);
      }
      return x;
    };
    const offset = count('offset', externalEntry(t, 'offset') ?? '0');
    const lengthStr = externalEntry(t, 'length');
    let fh;
    try {
      fh = await fs.open(resolved, 'r');
    } catch {
      throw new FedmanError(`'${file}': external data file '${location}' for initializer '${t.name}' is missing`);
    }
    try {
      const size = (await fh.stat()).size;
      const length = lengthStr !== undefined ? count('length', lengthStr) : size - offset;
      if (offset + length > size || length < 0) {
        throw new FedmanError(`'${file}': initializer '${t.name}' reads past the end of '${location}'`);
      }
      const buf = Buffer.alloc(length);
      await fh.read(buf, 0, length, offset);
      t.rawData = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } finally {
      await fh.close();
    }
    t.dataLocation = onnx.TensorProto.DataLocation.DEFAULT;
    t.externalData = [];
  }
}

/** The opset version of the default ('' / ai.onnx) domain. */
export function defaultOpset(model: ModelProto): number {
  const entry = model.opsetImport?.find((o) => !o.domain || o.domain === 'ai.onnx');
  return entry ? toNumber(entry.version) : 0;
}
