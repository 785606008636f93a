/**
 * The model-version registry: every completed round's global model is a version (its number is the round;
 * version 0 is the initial model), stored in `<state>/models/` as
 *
 *   v<N>.params   the flat parameter vector (float32 little-endian; what GET /v1/params serves)
 *   v<N>.onnx     the exported inference model (forward graph with the round's weights)
 *   v<N>.json     metadata; written last, so a version exists only once all three files are durable
 *
 * The inference plugin reads versions from here (`latest()`, `get(v)`, `list()`) and hot-swaps on
 * `onNewVersion(cb)`, which fires after a version is durable.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import { FedmanError } from '../util/errors.js';

export interface ModelVersionMeta {
  version: number;
  /** Round that produced it (0: the initial model). */
  round: number;
  createdAt: string;
  paramCount: number;
  /** Model name from the artifacts' manifest. */
  model: string;
  /** Server-side evaluation of this version, when configured. */
  testAccuracy?: number;
  testLoss?: number;
}

export interface ModelVersion extends ModelVersionMeta {
  /** Path of the exported ONNX model. */
  onnxPath: string;
  /** Path of the raw parameter vector. */
  paramsPath: string;
  /** The ONNX model's bytes (read from disk on each call). */
  bytes(): Promise<Uint8Array>;
  /** The parameter vector (read from disk on each call). */
  params(): Promise<Float32Array>;
}

export type NewVersionListener = (v: ModelVersion) => void;

const META_RE = /^v(\d+)\.json$/;

/** Writes `tmp` durably under `file` (fsync, rename, directory fsync). */
export async function commitFile(tmp: string, file: string): Promise<void> {
  const fh = await fs.open(tmp, 'r+');
  try { await fh.sync(); } finally { await fh.close(); }
  await fs.rename(tmp, file);
  try {
    const dh = await fs.open(path.dirname(file), 'r');
    try { await dh.sync(); } finally { await dh.close(); }
  } catch { /* directory fsync unsupported */ }
}

export class ModelVersions {
  private readonly versions = new Map<number, ModelVersion>();
  private readonly listeners = new Set<NewVersionListener>();

  constructor(readonly dir: string) {}

  private make(meta: ModelVersionMeta): ModelVersion {
    const onnxPath = path.join(this.dir, `v${meta.version}.onnx`);
    const paramsPath = path.join(this.dir, `v${meta.version}.params`);
    return {
      ...meta,
      onnxPath,
      paramsPath,
      bytes: async () => new Uint8Array(await fs.readFile(onnxPath)),
      params: async () => {
        const b = await fs.readFile(paramsPath);
        return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
      },
    };
  }

  /**
   * Reads the directory: versions up to `maxVersion` are kept, files of later versions (written by a round whose
   * checkpoint never landed) and incomplete versions are removed.
   */
  async load(maxVersion: number): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
    this.versions.clear();
    const names = await fs.readdir(this.dir);
    const complete = new Set<number>();
    for (const name of names) {
      const m = META_RE.exec(name);
      if (!m) continue;
      const v = Number(m[1]);
      if (v > maxVersion) continue;
      try {
        const meta = JSON.parse(await fs.readFile(path.join(this.dir, name), 'utf8')) as ModelVersionMeta;
        if (names.includes(`v${v}.onnx`) && names.includes(`v${v}.params`)) {
          this.versions.set(v, this.make(meta));
          complete.add(v);
        }
      } catch { /* unreadable metadata: treated as incomplete */ }
    }
    for (const name of names) {
      const m = /^v(\d+)\.(json|onnx|params)$/.exec(name);
      if ((m && !complete.has(Number(m[1]))) || name.endsWith('.tmp')) await fs.rm(path.join(this.dir, name), { force: true });
    }
  }

  /**
   * Adds a version durably: the parameters, the ONNX model written by `writeOnnx(tmpPath)`, then the metadata.
   * Listeners are called afterwards.
   */
  async add(meta: ModelVersionMeta, params: Float32Array, writeOnnx: (file: string) => Promise<void>): Promise<ModelVersion> {
    if (params.length !== meta.paramCount) throw new FedmanError(`model version ${meta.version}: ${params.length} parameters, expected ${meta.paramCount}`);
    await fs.mkdir(this.dir, { recursive: true });
    const base = path.join(this.dir, `v${meta.version}`);
    await writeFileAtomic(`${base}.params`, new Uint8Array(params.buffer, params.byteOffset, params.byteLength));
    const tmp = path.join(this.dir, `.v${meta.version}.onnx.${process.pid}.tmp`);
    try {
      await writeOnnx(tmp);
      await commitFile(tmp, `${base}.onnx`);
    } catch (err) {
      await fs.rm(tmp, { force: true });
      throw err;
    }
    await writeFileAtomic(`${base}.json`, JSON.stringify(meta, null, 2) + '\n');
    const v = this.make(meta);
    this.versions.set(meta.version, v);
    for (const cb of this.listeners) {
      try { cb(v); } catch { /* a listener's failure is its own business */ }
    }
    return v;
  }

  /** Updates a version's metadata (e.g. its evaluation) in place. */
  async annotate(version: number, extra: Partial<Pick<ModelVersionMeta, 'testAccuracy' | 'testLoss'>>): Promise<void> {
    const v = this.versions.get(version);
    if (!v) return;
    const meta: ModelVersionMeta = { ...this.metaOf(v), ...extra };
    await writeFileAtomic(path.join(this.dir, `v${version}.json`), JSON.stringify(meta, null, 2) + '\n');
    this.versions.set(version, this.make(meta));
  }

  private metaOf(v: ModelVersion): ModelVersionMeta {
    const { version, round, createdAt, paramCount, model, testAccuracy, testLoss } = v;
    return { version, round, createdAt, paramCount, model, ...(testAccuracy !== undefined ? { testAccuracy } : {}), ...(testLoss !== undefined ? { testLoss } : {}) };
  }

  /** The newest version (undefined before the initial model is written). */
  latest(): ModelVersion | undefined {
    let best: ModelVersion | undefined;
    for (const v of this.versions.values()) if (!best || v.version > best.version) best = v;
    return best;
  }

  get(version: number): ModelVersion | undefined {
    return this.versions.get(version);
  }

  /** Every version, oldest first. */
  list(): ModelVersion[] {
    return [...this.versions.values()].sort((a, b) => a.version - b.version);
  }

  /** Calls `cb` for each version added from now on; returns a function that unsubscribes. */
  onNewVersion(cb: NewVersionListener): () => void {
    this.listeners.add(cb);
    return () => { this.listeners.delete(cb); };
  }
}
