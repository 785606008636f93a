/**
 * One ONNX Runtime session per model version, created lazily on first use and cached. Requests lease a session
 * (`acquire` → `release`); a version other than the latest is released once no lease holds it, so a hot swap to a
 * new version never tears a session out from under an in-flight request.
 */
import { createSession, loadBackend, type Backend, type Session } from '../../runtime/backend.js';
import type { Device } from '../../runtime/device.js';
import { modelForDevice } from '../../runtime/device-model.js';
import type { ModelVersion, ModelVersions } from '../model-versions.js';
import { kserveType, type TensorSpec } from './codec.js';

export interface LoadedModel {
  version: number;
  session: Session;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

export interface Lease {
  readonly model: LoadedModel;
  /** Gives the session back (idempotent). */
  release(): void;
}

interface Entry {
  version: number;
  loading: Promise<LoadedModel>;
  refs: number;
}

export interface SessionPoolOptions {
  /** intra-op threads per session (default: ONNX Runtime's choice). */
  threads?: number;
  /** 'webgpu': each version's WebGPU lowering runs on the GPU. */
  device?: Device;
}

function specsOf(meta: readonly unknown[], names: readonly string[]): TensorSpec[] {
  return names.map((name, i) => {
    const m = meta[i] as { isTensor?: boolean; type?: string; shape?: readonly (number | string)[] } | undefined;
    const shape = (m?.shape ?? []).map((d) => (typeof d === 'number' && d >= 0 ? d : -1));
    return { name, datatype: m?.isTensor === false ? 'NONTENSOR' : kserveType(m?.type ?? 'float32'), shape };
  });
}

export class SessionPool {
  private readonly entries = new Map<number, Entry>();
  private backend: Promise<Backend> | undefined;
  private readonly unsubscribe: () => void;
  private closed = false;
  /** Sessions created and released so far (for tests and statistics). */
  readonly counts = { created: 0, released: 0 };

  constructor(readonly models: ModelVersions, private readonly opts: SessionPoolOptions = {}) {
    this.unsubscribe = models.onNewVersion(() => this.sweep());
  }

  /** Leases the session of a version (loading it if needed). */
  async acquire(v: ModelVersion): Promise<Lease> {
    let e = this.entries.get(v.version);
    if (!e) {
      e = { version: v.version, refs: 0, loading: this.load(v) };
      const entry = e;
      this.entries.set(v.version, e);
      e.loading.catch(() => { if (this.entries.get(v.version) === entry) this.entries.delete(v.version); });
    }
    e.refs++;
    const entry = e;
    let model: LoadedModel;
    try {
      model = await e.loading;
    } catch (err) {
      entry.refs--;
      throw err;
    }
    let done = false;
    return {
      model,
      release: () => {
        if (done) return;
        done = true;
        entry.refs--;
        this.sweep();
      },
    };
  }

  /** Loads a version's metadata only (acquire + release). */
  async describe(v: ModelVersion): Promise<LoadedModel> {
    const l = await this.acquire(v);
    l.release();
    return l.model;
  }

  private async load(v: ModelVersion): Promise<LoadedModel> {
    const device = this.opts.device ?? 'cpu';
    this.backend ??= loadBackend('node', device);
    const b = await this.backend;
    const session = await createSession(b, await modelForDevice(await v.bytes(), device, `model version ${v.version}`), { threads: this.opts.threads });
    this.counts.created++;
    return {
      version: v.version, session,
      inputs: specsOf(session.inputMetadata ?? [], session.inputNames),
      outputs: specsOf(session.outputMetadata ?? [], session.outputNames),
    };
  }

  /** Versions whose sessions are loaded now. */
  loaded(): number[] {
    return [...this.entries.keys()].sort((a, b) => a - b);
  }

  /** Releases every unused session of a version other than the latest (all of them once closed). */
  private sweep(): void {
    const latest = this.closed ? -1 : this.models.latest()?.version ?? -1;
    for (const [v, e] of this.entries) {
      if (v === latest || e.refs > 0) continue;
      this.entries.delete(v);
      e.loading.then((m) => { this.counts.released++; return m.session.release(); }).catch(() => {});
    }
  }

  /** Stops following new versions; sessions are released as their last leases end. */
  close(): void {
    this.closed = true;
    this.unsubscribe();
    this.sweep();
  }
}
