/**
 * Runs fedman artifacts on ONNX Runtime: one session for the train step, one for evaluation. Parameters and
 * optimiser state live as ORT tensors between steps (each step's outputs are fed straight back as the next
 * step's inputs); the flat Float32Array view is produced only when asked for (the unit FL exchanges).
 *
 * On device 'webgpu' the sessions run the artifacts' WebGPU lowering (src/onnx/webgpu/) and the step's state
 * outputs stay in GPU memory ('gpu-buffer') from step to step: a batch is uploaded once per step, and parameters,
 * optimiser state and BN buffers come back to the host only when asked for (`readParams`, `toHost`, checkpoints,
 * exports). Synchronous readers (`getParams`, `checkpointBytes`, …) throw while the state is on the GPU.
 *
 * This module is browser-safe: no file system at the top level. `Trainer.fromArtifacts` takes the artifacts in
 * memory (see artifact-source.ts for loading them over HTTP); the file-path methods (load, saveCheckpoint,
 * loadCheckpoint, exportInference) import the Node-only node-io.ts on demand, which the browser bundle stubs out.
 */
import type { ArtifactManifest } from '../training/manifest.js';
import { nextName, stateName } from '../training/names.js';
import { createSession, loadBackend, type Backend, type BackendName, type OrtTensor, type Session } from './backend.js';
import { decodeModel } from '../onnx/model-codec.js';
import type { ModelProto } from '../onnx/proto.js';
import { tensorToFloat32 } from '../onnx/tensor.js';
import type { ArtifactFiles } from './artifact-source.js';
import { FedmanError } from '../util/errors.js';
import { BatchLoader, type Dataset, type Labels } from '../data/dataset.js';
import { accuracyOf, labelSize, labelTensor } from './labels.js';
import { checkDatasetFits, runEpoch } from './epoch.js';
import type { EpochMetrics, EpochOptions, EvalMetrics, StepMetrics, TrainerLike, TrainerOptions } from './trainer-interface.js';
import type { Device } from './device.js';
import { disposeGpu, DeviceCopier, onGpu } from './transfer.js';
import { decodeCheckpoint, encodeCheckpoint, encodeInference, type CheckpointContents } from './trainer-snapshot.js';
import type { decodeSafetensors } from './safetensors.js';

export interface FromArtifactsOptions extends TrainerOptions {
  /** Where the artifacts came from (a directory or URL); kept as `trainer.dir` and used in messages. */
  dir?: string;
}

/** The Node-only file helpers, loaded on first use (the browser bundle replaces the module with a stub). */
const nodeIo = () => import('./node-io.js');

/** The train step's outputs that are fed back (parameters, optimiser state, buffers): kept on the GPU. */
function stateOutputs(m: ArtifactManifest): string[] {
  return [
    ...m.params.flatMap((p) => [nextName(p.name), ...m.stateNames.map((s) => nextName(stateName(p.name, s)))]),
    ...(m.buffers ?? []).map((x) => nextName(x.name)),
  ];
}

export class Trainer implements TrainerLike {
  readonly engine = 'fedman' as const;
  private params = new Map<string, OrtTensor>();
  /** BatchNormalization running statistics (manifest.buffers): fed to every step and eval, updated by each step. */
  private buffers = new Map<string, OrtTensor>();
  private state = new Map<string, OrtTensor>();
  private extra = new Map<string, OrtTensor>();
  private hyper = new Map<string, OrtTensor>();
  private hyperValues: Record<string, number> = {};
  /** Optimiser steps taken (Adam's bias correction uses step + 1). */
  steps = 0;
  /** Copies GPU-resident state to the host (device 'webgpu' only). */
  private readonly copier: DeviceCopier | null;

  private constructor(
    readonly dir: string,
    readonly manifest: ArtifactManifest,
    private readonly backend: Backend,
    private readonly trainSession: Session,
    private readonly evalSession: Session,
    /** The plain forward model (exportInference writes it with the current weights). */
    private readonly forward: ModelProto,
    initial: Map<string, Float32Array>,
    /** The graphs take labels as int32 (the WebGPU lowering) instead of int64. */
    private readonly int32Labels: boolean,
  ) {
    this.copier = backend.device === 'webgpu' ? new DeviceCopier(backend) : null;
    for (const p of manifest.params) this.params.set(p.name, this.tensor(initial.get(p.name)!, p.dims));
    for (const x of manifest.buffers ?? []) this.buffers.set(x.name, this.tensor(initial.get(x.name)!, x.dims));
    this.resetOptimizerState();
    this.clearClientInputs();
    for (const h of manifest.hyperParams) this.setHyper(h.name, h.default);
  }

  /** Loads an artifacts directory (Node only: reads the files; on 'webgpu' lowers the graphs if the directory lacks them). */
  static async load(dir: string, opts: TrainerOptions = {}): Promise<Trainer> {
    const files = await (await nodeIo()).readArtifactsDir(dir, { device: opts.device });
    return Trainer.fromArtifacts(files, { ...opts, dir });
  }

  /** Creates a trainer from artifacts held in memory (any environment; in a browser see loadArtifactsFromUrl). */
  static async fromArtifacts(files: ArtifactFiles, opts: FromArtifactsOptions = {}): Promise<Trainer> {
    const { manifest } = files;
    const device: Device = opts.device ?? 'cpu';
    const graphs = device === 'webgpu' ? files.webgpu : { trainStep: files.trainStep, eval: files.eval, int32Inputs: [] };
    if (!graphs) {
      throw new FedmanError(`the artifacts${opts.dir ? ` '${opts.dir}'` : ''} have no WebGPU graphs: build them with 'fedman artifacts --webgpu' (Trainer.load lowers a directory's graphs itself)`);
    }
    const forward = files.forward instanceof Uint8Array ? decodeModel(files.forward, `'${manifest.files.forward}'`) : files.forward;
    const initial = new Map<string, Float32Array>();
    const inits = new Map((forward.graph?.initializer ?? []).map((t) => [t.name!, t]));
    for (const [kind, list] of [['parameter', manifest.params], ['buffer', manifest.buffers ?? []]] as const) {
      for (const p of list) {
        const t = inits.get(p.name);
        if (!t) throw new FedmanError(`'${manifest.files.forward}' lacks ${kind} '${p.name}'`);
        initial.set(p.name, tensorToFloat32(t, 'initializer'));
      }
    }
    const backend = await loadBackend(opts.backend, device);
    const gpuOutputs = device === 'webgpu' ? stateOutputs(manifest) : undefined;
    const trainSession = await createSession(backend, graphs.trainStep, { threads: opts.threads, gpuOutputs });
    let evalSession: Session;
    try { evalSession = await createSession(backend, graphs.eval, { threads: opts.threads }); } catch (err) {
      await trainSession.release();
      throw err;
    }
    return new Trainer(opts.dir ?? '', manifest, backend, trainSession, evalSession, forward, initial, graphs.int32Inputs.includes(manifest.labels));
  }

  private tensor(data: Float32Array, dims: readonly number[]): OrtTensor {
    return new this.backend.ort.Tensor('float32', data, dims as number[]);
  }

  /** Replaces a held tensor, freeing the GPU buffer of the one it replaces. */
  private put(map: Map<string, OrtTensor>, name: string, t: OrtTensor): void {
    const old = map.get(name);
    if (old !== t) disposeGpu(old);
    map.set(name, t);
  }

  get backendName(): BackendName {
    return this.backend.name;
  }

  get device(): Device {
    return this.backend.device;
  }

  /** Sets a runtime hyperparameter (lr, man_zeta, weight_decay, clip_norm, momentum, prox_mu, ...). */
  setHyper(name: string, value: number): void {
    if (!this.manifest.hyperParams.some((h) => h.name === name)) {
      throw new FedmanError(`hyperparameter '${name}' is not an input of these artifacts (have: ${this.manifest.hyperParams.map((h) => h.name).join(', ')})`);
    }
    if (!Number.isFinite(value)) throw new FedmanError(`hyperparameter '${name}' must be a finite number, got ${value}`);
    this.hyperValues[name] = value;
    this.hyper.set(name, this.tensor(Float32Array.of(value), []));
  }

  setHypers(values: Record<string, number | undefined>): void {
    for (const [k, v] of Object.entries(values)) if (v !== undefined) this.setHyper(k, v);
  }

  getHyper(name: string): number {
    return this.hyperValues[name]!;
  }

  /** Zeroes the optimiser state (momentum/Adam moments) and the step count, e.g. at the start of an FL round. */
  resetOptimizerState(): void {
    for (const p of this.manifest.params) {
      for (const s of this.manifest.stateNames) this.put(this.state, stateName(p.name, s), this.tensor(new Float32Array(p.size), p.dims));
    }
    this.steps = 0;
  }

  /** Sets a per-parameter client-term input (e.g. 'anchor', 'correction') from a flat vector. */
  setClientInput(kind: string, flat: Float32Array): void {
    if (!this.manifest.clientInputs.includes(kind)) throw new FedmanError(`these artifacts have no client input '${kind}'`);
    this.checkFlat(flat);
    for (const p of this.manifest.params) this.extra.set(stateName(p.name, kind), this.tensor(flat.slice(p.offset, p.offset + p.size), p.dims));
  }

  clearClientInputs(): void {
    for (const kind of this.manifest.clientInputs) this.setClientInput(kind, new Float32Array(this.manifest.paramCount));
  }

  private checkFlat(flat: Float32Array): void {
    if (flat.length !== this.manifest.paramCount) {
      throw new FedmanError(`parameter vector has ${flat.length} values; the model has ${this.manifest.paramCount}`);
    }
  }

  /** A held tensor's host data (throws while it lives in GPU memory: `await toHost()` first). */
  private host(map: Map<string, OrtTensor>, name: string, what: string): Float32Array {
    const t = map.get(name);
    if (!t) throw new FedmanError(`no ${what} named '${name}'`);
    if (onGpu(t)) throw new FedmanError(`${what} '${name}' is in GPU memory (device 'webgpu'): await trainer.readParams() or trainer.toHost() before reading it synchronously`);
    return t.data as Float32Array;
  }

  private hostData = (name: string): Float32Array =>
    this.params.has(name) ? this.host(this.params, name, 'parameter') : this.buffers.has(name) ? this.host(this.buffers, name, 'buffer') : this.host(this.state, name, 'optimiser state');

  /** All trainable parameters as one flat vector in manifest order (a copy; on 'webgpu' after toHost()). */
  getParams(): Float32Array {
    const flat = new Float32Array(this.manifest.paramCount);
    for (const p of this.manifest.params) flat.set(this.host(this.params, p.name, 'parameter'), p.offset);
    return flat;
  }

  /** The flat parameter vector on any device: copies it from GPU memory when it lives there. */
  async readParams(): Promise<Float32Array> {
    if (!this.copier) return this.getParams();
    const copies = await this.copier.toHost(this.manifest.params.map((p) => this.params.get(p.name)!));
    const flat = new Float32Array(this.manifest.paramCount);
    this.manifest.params.forEach((p, i) => flat.set(copies[i]!.data as Float32Array, p.offset));
    return flat;
  }

  /** Brings parameters, optimiser state and buffers from GPU memory to the host (the next step uploads them again). */
  async toHost(): Promise<void> {
    if (!this.copier) return;
    const held = [this.params, this.state, this.buffers].flatMap((map) => [...map].filter(([, t]) => onGpu(t)).map(([k, t]) => ({ map, k, t })));
    const copies = await this.copier.toHost(held.map((h) => h.t));
    held.forEach((h, i) => this.put(h.map, h.k, copies[i]!));
  }

  setParams(flat: Float32Array): void {
    this.checkFlat(flat);
    for (const p of this.manifest.params) this.put(this.params, p.name, this.tensor(flat.slice(p.offset, p.offset + p.size), p.dims));
  }

  getParam(name: string): Float32Array {
    return this.host(this.params, name, 'parameter');
  }

  /** A buffer's current value (a BatchNormalization running statistic; see manifest.buffers). */
  getBuffer(name: string): Float32Array {
    return this.host(this.buffers, name, 'buffer');
  }

  setBuffer(name: string, data: Float32Array): void {
    const x = (this.manifest.buffers ?? []).find((b) => b.name === name);
    if (!x) throw new FedmanError(`no buffer named '${name}'`);
    if (data.length !== x.size) throw new FedmanError(`buffer '${name}' has ${x.size} values, got ${data.length}`);
    this.put(this.buffers, name, this.tensor(data.slice(), x.dims));
  }

  /** One optimiser step on a batch (x: size × sample values, y: size int64 labels or the manifest's targets). */
  async step(x: Float32Array, y: Labels, size: number): Promise<StepMetrics> {
    const m = this.manifest;
    if ('step' in this.hyperValues) this.setHyper('step', this.steps + 1);
    const feeds: Record<string, OrtTensor> = {
      [m.input.name]: new this.backend.ort.Tensor('float32', x, [size, ...(m.input.dims.slice(1) as number[])]),
      [m.labels]: this.labels(y, size),
    };
    for (const map of [this.hyper, this.params, this.state, this.extra, this.buffers]) for (const [k, v] of map) feeds[k] = v;
    const out = await this.trainSession.run(feeds);
    for (const x of m.buffers ?? []) this.put(this.buffers, x.name, out[nextName(x.name)]!);
    for (const p of m.params) {
      this.put(this.params, p.name, out[nextName(p.name)]!);
      for (const s of m.stateNames) this.put(this.state, stateName(p.name, s), out[nextName(stateName(p.name, s))]!);
    }
    this.steps++;
    const num = (k: string) => Number((out[k]!.data as Float32Array)[0]);
    const o = m.outputs;
    return { loss: num(o.loss), ce: num(o.ce), man: num(o.man), correct: num(o.correct), gradNorm: num(o.gradNorm), size };
  }

  /** One pass over the dataset (or the given indices), in seeded-shuffled or dataset order. */
  async trainEpoch(ds: Dataset, opts: EpochOptions): Promise<EpochMetrics> {
    return runEpoch(this, ds, opts);
  }

  async evaluate(ds: Dataset, batchSize = 500, indices?: ArrayLike<number>): Promise<EvalMetrics> {
    checkDatasetFits(this.manifest, ds);
    const m = this.manifest;
    const order = indices ? Array.from(indices) : Array.from({ length: ds.n }, (_, i) => i);
    const loader = new BatchLoader(ds, batchSize, labelSize(m));
    let loss = 0, correct = 0, samples = 0;
    for (const batch of loader.batches(order)) {
      const feeds: Record<string, OrtTensor> = {
        [m.input.name]: new this.backend.ort.Tensor('float32', batch.x, [batch.size, ...(m.input.dims.slice(1) as number[])]),
        [m.labels]: this.labels(batch.y, batch.size),
      };
      for (const map of [this.params, this.buffers]) for (const [k, v] of map) feeds[k] = v;
      const out = await this.evalSession.run(feeds, ['ce', 'correct']);
      loss += Number((out.ce!.data as Float32Array)[0]) * batch.size;
      correct += Number((out.correct!.data as Float32Array)[0]);
      samples += batch.size;
    }
    const d = Math.max(samples, 1);
    return { loss: loss / d, accuracy: accuracyOf(m, correct, samples), samples };
  }

  /** The labels tensor of a batch: int64 class indices (int32 for graphs lowered for WebGPU) or float targets. */
  private labels(y: Labels, size: number): OrtTensor {
    const { type, dims } = labelTensor(this.manifest, y, size);
    const ort = this.backend.ort;
    if (type === 'float32') return new ort.Tensor('float32', y as Float32Array, dims);
    const n = dims.reduce((p, d) => p * d, 1);
    return this.int32Labels ? new ort.Tensor('int32', Int32Array.from((y as BigInt64Array).subarray(0, n), Number), dims) : new ort.Tensor('int64', y as BigInt64Array, dims);
  }

  /** Parameters, optimiser state, buffers and the step count as safetensors bytes (readable by PyTorch's safetensors). */
  checkpointBytes(): Uint8Array {
    return encodeCheckpoint(this.manifest, this.hostData, this.steps);
  }

  /** Restores what checkpointBytes saved (`where` names the source in errors). */
  loadCheckpointBytes(bytes: Uint8Array, where = 'checkpoint'): void {
    this.applyCheckpoint(decodeCheckpoint(this.manifest, bytes, where));
  }

  /** Saves parameters, optimiser state, buffers and the step count (safetensors; Node only). */
  async saveCheckpoint(file: string): Promise<void> {
    await this.toHost();
    await (await nodeIo()).writeBytes(file, this.checkpointBytes());
  }

  /** Node only: reads a checkpoint file written by saveCheckpoint. */
  async loadCheckpoint(file: string): Promise<void> {
    const raw: ReturnType<typeof decodeSafetensors> = await (await nodeIo()).readSafetensors(file);
    this.applyCheckpoint(decodeCheckpoint(this.manifest, raw, `checkpoint '${file}'`));
  }

  private applyCheckpoint(c: CheckpointContents): void {
    for (const [k, t] of c.tensors) {
      const map = this.params.has(k) ? this.params : this.buffers.has(k) ? this.buffers : this.state;
      this.put(map, k, this.tensor(t.data, t.dims));
    }
    this.steps = c.steps;
  }

  /** The plain forward model with the current weights as initializers (original names kept), encoded as ONNX. */
  exportInferenceBytes(): Uint8Array {
    return encodeInference(this.manifest, this.forward, this.hostData);
  }

  /** Writes exportInferenceBytes() to a file (Node only). */
  async exportInference(file: string): Promise<void> {
    await this.toHost();
    await (await nodeIo()).writeBytes(file, this.exportInferenceBytes());
  }

  async release(): Promise<void> {
    for (const map of [this.params, this.state, this.buffers]) for (const t of map.values()) disposeGpu(t);
    await this.copier?.release();
    await this.trainSession.release();
    await this.evalSession.release();
  }
}
