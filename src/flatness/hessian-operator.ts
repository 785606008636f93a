/**
 * Exact Hessian-vector products (./hvp-graph.ts) of a model's training loss, run on ONNX Runtime.
 *
 * The Hessian is that of the loss over a whole data subset, L = (1/n) Σ_i ℓ_i (mean CE, plus MAN's
 * (ζ/2)·Σ_l mean a_l² when ζ > 0): HVPs of the subset's batches are averaged with weights (batch size / n), so
 * the batch size only trades memory for speed. BatchNormalization runs in inference mode (running statistics), as
 * PyHessian measures a model in eval() mode.
 *
 * On device 'webgpu' the HVP graph's WebGPU lowering runs, with the weights and the data batches uploaded to GPU
 * memory once (the direction once per HVP).
 */
import { encodeModel } from '../onnx/model-io.js';
import { tensorToFloat32 } from '../onnx/tensor.js';
import { createSession, loadBackend, type Backend, type BackendName, type OrtTensor, type Session } from '../runtime/backend.js';
import type { Device } from '../runtime/device.js';
import { DeviceCopier, disposeGpu } from '../runtime/transfer.js';
import { lowerModelForWebGpu } from '../onnx/webgpu/index.js';
import { prepareModel, totalParamSize, type ParamInfo, type PreparedModel } from '../training/prepare.js';
import type { ManLayers } from '../training/man.js';
import { sampleSize, type Dataset } from '../data/dataset.js';
import { FedmanError } from '../util/errors.js';
import { buildHvpGraph, type HvpGraph } from './hvp-graph.js';
import { loadSource, type ModelSource } from './model-source.js';
import type { DataOptions, LinearOperator } from './types.js';

export interface HvpOptions {
  /** MAN strength ζ in the differentiated loss (default 0: cross-entropy only). */
  zeta?: number;
  /** MAN layers ('auto' default, or tensor names; an artifacts directory's manifest list is used for it). */
  manLayers?: ManLayers;
  /** Replaces the model's weights: a flat vector in parameter order (e.g. a simulation's global model). */
  params?: Float32Array;
  /** Model output to differentiate (default: the first output, or the manifest's logits). */
  logits?: string;
  /** Zoo options when the source is a zoo name (initialisation seed, classes). */
  modelSeed?: number;
  numClasses?: number;
  backend?: BackendName;
  /** ORT intra-op threads (0 = ORT's default). */
  threads?: number;
  /** 'cpu' (default) or 'webgpu'. */
  device?: Device;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A compiled HVP graph with the model's weights, ready to apply H (of the subset loss) to vectors. Vectors are flat
 * Float64Arrays in parameter order (the order of the flat vector federated learning exchanges).
 */
export class HessianOperator implements LinearOperator {
  /** HVPs applied so far (each one is a pass over the whole subset) and the seconds they took. */
  applications = 0;
  hvpSeconds = 0;
  private batches: { feeds: Record<string, OrtTensor>; weight: number; onDevice?: Record<string, OrtTensor> }[] = [];
  private subsetSize = 0;
  private readonly copier: DeviceCopier | null;
  /** paramFeeds in GPU memory (webgpu), uploaded at the first HVP after the weights were set. */
  private paramsOnDevice: Record<string, OrtTensor> | null = null;

  private constructor(
    readonly prepared: PreparedModel,
    readonly graph: HvpGraph,
    private readonly backend: Backend,
    private readonly session: Session,
    private readonly paramFeeds: Record<string, OrtTensor>,
    readonly zeta: number,
    /** Labels are fed as int32 (the WebGPU lowering). */
    private readonly int32Labels: boolean,
  ) {
    this.copier = backend.device === 'webgpu' ? new DeviceCopier(backend) : null;
  }

  /** Feeds on the device: uploaded once to GPU memory on 'webgpu', as they are on the CPU. */
  private async onDevice(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>> {
    if (!this.copier) return feeds;
    const keys = Object.keys(feeds);
    const moved = await this.copier.toGpu(keys.map((k) => feeds[k]!));
    return Object.fromEntries(keys.map((k, i) => [k, moved[i]!]));
  }

  static async create(source: ModelSource, opts: HvpOptions = {}): Promise<HessianOperator> {
    const src = await loadSource(source, opts);
    const freeze = src.keep
      ? (src.model.graph?.initializer ?? []).filter((t) => !src.keep!.has(t.name!)).map((t) => new RegExp(`^${escapeRe(t.name!)}$`))
      : undefined;
    const prepared = await prepareModel(src.model, { logits: opts.logits ?? src.logits, freeze }, `model '${src.name}'`);
    const zeta = opts.zeta ?? 0;
    if (!Number.isFinite(zeta) || zeta < 0) throw new FedmanError(`MAN ζ must be a non-negative number, got ${zeta}`);
    // Without MAN the graph is built without the penalty at all (cheaper than multiplying it by ζ = 0).
    const graph = await buildHvpGraph(prepared, { manLayers: zeta > 0 ? (opts.manLayers ?? src.manLayers ?? 'auto') : 'none' });
    const device = opts.device ?? 'cpu';
    const backend = await loadBackend(opts.backend, device);
    const lowered = device === 'webgpu' ? await lowerModelForWebGpu(graph.model) : { model: graph.model, int32Inputs: [] };
    const session = await createSession(backend, encodeModel(lowered.model), { threads: opts.threads });
    const n = totalParamSize(prepared.params);
    if (opts.params && opts.params.length !== n) throw new FedmanError(`parameter vector has ${opts.params.length} values; the model has ${n}`);
    const inits = new Map((prepared.model.graph?.initializer ?? []).map((t) => [t.name!, t]));
    const paramFeeds: Record<string, OrtTensor> = {};
    for (const p of prepared.params) {
      const data = opts.params ? opts.params.slice(p.offset, p.offset + p.size) : tensorToFloat32(inits.get(p.name)!, 'initializer');
      paramFeeds[p.name] = new backend.ort.Tensor('float32', data, p.dims);
    }
    paramFeeds[graph.io.zeta] = new backend.ort.Tensor('float32', Float32Array.of(zeta), []);
    return new HessianOperator(prepared, graph, backend, session, paramFeeds, zeta, lowered.int32Inputs.includes(graph.io.labels));
  }

  /** Replaces the weights (flat vector in parameter order) without rebuilding the graph. */
  setParams(flat: Float32Array): void {
    if (flat.length !== this.dim) throw new FedmanError(`parameter vector has ${flat.length} values; the model has ${this.dim}`);
    for (const p of this.prepared.params) this.paramFeeds[p.name] = new this.backend.ort.Tensor('float32', flat.slice(p.offset, p.offset + p.size), p.dims);
    this.dropDeviceCopies(this.paramsOnDevice);
    this.paramsOnDevice = null;
  }

  private dropDeviceCopies(feeds: Record<string, OrtTensor> | null | undefined): void {
    for (const t of Object.values(feeds ?? {})) disposeGpu(t);
  }

  /** The current weights as a flat vector in parameter order (a copy). */
  getParams(): Float32Array {
    const flat = new Float32Array(this.dim);
    for (const p of this.prepared.params) flat.set(this.paramFeeds[p.name]!.data as Float32Array, p.offset);
    return flat;
  }

  get params(): ParamInfo[] {
    return this.prepared.params;
  }

  /** Number of parameters (the Hessian is dim × dim). */
  get dim(): number {
    return totalParamSize(this.prepared.params);
  }

  get manLayers(): string[] {
    return this.graph.manLayers;
  }

  /** Sets the data subset whose mean loss is differentiated. Batches are cut once and reused by every HVP. */
  setData(ds: Dataset, opts: DataOptions = {}): void {
    const inDims = this.prepared.input.dims.slice(1);
    if (!inDims.every((d): d is number => typeof d === 'number')) throw new FedmanError(`the model input has symbolic sample dims ${JSON.stringify(inDims)}`);
    const ss = sampleSize(ds.sampleShape);
    if (ss !== inDims.reduce((p, c) => p * c, 1)) {
      throw new FedmanError(`dataset '${ds.name}' has samples of shape [${ds.sampleShape}] but the model expects [${inDims}]`);
    }
    if (ds.numClasses > this.prepared.numClasses) throw new FedmanError(`dataset '${ds.name}' has ${ds.numClasses} classes but the model outputs ${this.prepared.numClasses}`);
    const idx = opts.indices ? Array.from(opts.indices) : Array.from({ length: Math.min(ds.n, opts.samples ?? ds.n) }, (_, i) => i);
    if (idx.length === 0) throw new FedmanError('the data subset for the Hessian is empty');
    for (const i of idx) if (!(Number.isInteger(i) && i >= 0 && i < ds.n)) throw new FedmanError(`sample index ${i} is out of range [0, ${ds.n})`);
    const bs = opts.batchSize ?? 128;
    if (!(Number.isInteger(bs) && bs >= 1)) throw new FedmanError(`batch size must be a positive integer, got ${bs}`);
    const { ort } = this.backend;
    for (const b of this.batches) this.dropDeviceCopies(b.onDevice);
    this.batches = [];
    for (let s = 0; s < idx.length; s += bs) {
      const part = idx.slice(s, s + bs);
      const x = new Float32Array(part.length * ss);
      const y = new BigInt64Array(part.length);
      part.forEach((j, k) => { x.set(ds.x.subarray(j * ss, (j + 1) * ss), k * ss); y[k] = BigInt(ds.y[j]!); });
      const labels = this.int32Labels ? new ort.Tensor('int32', Int32Array.from(y, Number), [part.length]) : new ort.Tensor('int64', y, [part.length]);
      this.batches.push({
        feeds: { [this.graph.io.input]: new ort.Tensor('float32', x, [part.length, ...inDims]), [this.graph.io.labels]: labels },
        weight: part.length / idx.length,
      });
    }
    this.subsetSize = idx.length;
  }

  get samples(): number {
    return this.subsetSize;
  }

  /** H·v for the subset loss, plus the loss and gᵀv (float64 accumulation of float32 batch results). */
  async apply(v: Float64Array): Promise<{ hv: Float64Array; loss: number; total: number; gv: number }> {
    if (this.batches.length === 0) throw new FedmanError('no data: call setData() first');
    const n = this.dim;
    if (v.length !== n) throw new FedmanError(`vector has ${v.length} values; the model has ${n} parameters`);
    const t0 = performance.now();
    const io = this.graph.io;
    const { ort } = this.backend;
    const hostDirs: Record<string, OrtTensor> = {};
    this.prepared.params.forEach((p, i) => {
      hostDirs[io.directions[i]!] = new ort.Tensor('float32', Float32Array.from(v.subarray(p.offset, p.offset + p.size)), p.dims);
    });
    const dirFeeds = await this.onDevice(hostDirs);
    this.paramsOnDevice ??= await this.onDevice(this.paramFeeds);
    const hv = new Float64Array(n);
    let loss = 0, total = 0, gv = 0;
    for (const batch of this.batches) {
      batch.onDevice ??= await this.onDevice(batch.feeds);
      const out = await this.session.run({ ...batch.onDevice, ...this.paramsOnDevice, ...dirFeeds }, [...io.hv, io.loss, io.total, io.gv]);
      this.prepared.params.forEach((p, i) => {
        const h = out[io.hv[i]!]!.data as Float32Array;
        for (let k = 0; k < p.size; k++) hv[p.offset + k]! += batch.weight * h[k]!;
      });
      const num = (k: string) => Number((out[k]!.data as Float32Array)[0]);
      loss += batch.weight * num(io.loss);
      total += batch.weight * num(io.total);
      gv += batch.weight * num(io.gv);
    }
    this.dropDeviceCopies(dirFeeds);
    this.applications++;
    this.hvpSeconds += (performance.now() - t0) / 1000;
    return { hv, loss, total, gv };
  }

  async release(): Promise<void> {
    for (const b of this.batches) this.dropDeviceCopies(b.onDevice);
    this.dropDeviceCopies(this.paramsOnDevice);
    await this.copier?.release();
    await this.session.release();
  }
}
