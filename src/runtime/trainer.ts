/**
 * Runs fedman artifacts on ONNX Runtime: one session for the train step, one for evaluation. Parameters and
 * optimiser state live as ORT tensors between steps (each step's outputs are fed straight back as the next
 * step's inputs); the flat Float32Array view is produced only when asked for (the unit FL exchanges).
 *
 * This module is browser-safe: no file system at the top level. `Trainer.fromArtifacts` takes the artifacts in
 * memory (see artifact-source.ts for loading them over HTTP); the file-path methods (load, saveCheckpoint,
 * loadCheckpoint, exportInference) import the Node-only node-io.ts on demand, which the browser bundle stubs out.
 */
import type { ArtifactManifest } from '../training/manifest.js';
import { nextName, stateName } from '../training/names.js';
import { loadBackend, type Backend, type BackendName, type OrtTensor, type Session } from './backend.js';
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from './safetensors.js';
import { decodeModel, encodeModel } from '../onnx/model-codec.js';
import type { ModelProto } from '../onnx/proto.js';
import { float32Tensor, tensorToFloat32 } from '../onnx/tensor.js';
import type { ArtifactFiles } from './artifact-source.js';
import { FedmanError } from '../util/errors.js';
import { BatchLoader, type Dataset, type Labels } from '../data/dataset.js';
import { accuracyOf, labelSize, labelTensor } from './labels.js';
import { checkDatasetFits, runEpoch } from './epoch.js';
import type { EpochMetrics, EpochOptions, EvalMetrics, StepMetrics, TrainerLike, TrainerOptions } from './trainer-interface.js';

export interface FromArtifactsOptions extends TrainerOptions {
  /** Where the artifacts came from (a directory or URL); kept as `trainer.dir` and used in messages. */
  dir?: string;
}

/** The Node-only file helpers, loaded on first use (the browser bundle replaces the module with a stub). */
const nodeIo = () => import('./node-io.js');

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

  private constructor(
    readonly dir: string,
    readonly manifest: ArtifactManifest,
    private readonly backend: Backend,
    private readonly trainSession: Session,
    private readonly evalSession: Session,
    /** The plain forward model (exportInference writes it with the current weights). */
    private readonly forward: ModelProto,
    initial: Map<string, Float32Array>,
  ) {
    for (const p of manifest.params) this.params.set(p.name, this.tensor(initial.get(p.name)!, p.dims));
    for (const x of manifest.buffers ?? []) this.buffers.set(x.name, this.tensor(initial.get(x.name)!, x.dims));
    this.resetOptimizerState();
    this.clearClientInputs();
    for (const h of manifest.hyperParams) this.setHyper(h.name, h.default);
  }

  /** Loads an artifacts directory (Node only: reads the files). */
  static async load(dir: string, opts: TrainerOptions = {}): Promise<Trainer> {
    const files = await (await nodeIo()).readArtifactsDir(dir);
    return Trainer.fromArtifacts(files, { ...opts, dir });
  }

  /** Creates a trainer from artifacts held in memory (any environment; in a browser see loadArtifactsFromUrl). */
  static async fromArtifacts(files: ArtifactFiles, opts: FromArtifactsOptions = {}): Promise<Trainer> {
    const { manifest } = files;
    const forward = files.forward instanceof Uint8Array ? decodeModel(files.forward, `'${manifest.files.forward}'`) : files.forward;
    const initial = new Map<string, Float32Array>();
    const inits = new Map((forward.graph?.initializer ?? []).map((t) => [t.name!, t]));
    for (const p of manifest.params) {
      const t = inits.get(p.name);
      if (!t) throw new FedmanError(`'${manifest.files.forward}' lacks parameter '${p.name}'`);
      initial.set(p.name, tensorToFloat32(t, 'initializer'));
    }
    for (const x of manifest.buffers ?? []) {
      const t = inits.get(x.name);
      if (!t) throw new FedmanError(`'${manifest.files.forward}' lacks buffer '${x.name}'`);
      initial.set(x.name, tensorToFloat32(t, 'initializer'));
    }
    const backend = await loadBackend(opts.backend);
    const so = backend.sessionOptions(opts.threads);
    const trainSession = await backend.ort.InferenceSession.create(files.trainStep, so);
    let evalSession: Session;
    try { evalSession = await backend.ort.InferenceSession.create(files.eval, so); } catch (err) {
      await trainSession.release();
      throw err;
    }
    return new Trainer(opts.dir ?? '', manifest, backend, trainSession, evalSession, forward, initial);
  }

  private tensor(data: Float32Array, dims: readonly number[]): OrtTensor {
    return new this.backend.ort.Tensor('float32', data, dims as number[]);
  }

  get backendName(): BackendName {
    return this.backend.name;
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
      for (const s of this.manifest.stateNames) this.state.set(stateName(p.name, s), this.tensor(new Float32Array(p.size), p.dims));
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

  /** All trainable parameters as one flat vector in manifest order (a copy). */
  getParams(): Float32Array {
    const flat = new Float32Array(this.manifest.paramCount);
    for (const p of this.manifest.params) flat.set(this.params.get(p.name)!.data as Float32Array, p.offset);
    return flat;
  }

  setParams(flat: Float32Array): void {
    this.checkFlat(flat);
    for (const p of this.manifest.params) this.params.set(p.name, this.tensor(flat.slice(p.offset, p.offset + p.size), p.dims));
  }

  getParam(name: string): Float32Array {
    const t = this.params.get(name);
    if (!t) throw new FedmanError(`no parameter named '${name}'`);
    return t.data as Float32Array;
  }

  /** A buffer's current value (a BatchNormalization running statistic; see manifest.buffers). */
  getBuffer(name: string): Float32Array {
    const t = this.buffers.get(name);
    if (!t) throw new FedmanError(`no buffer named '${name}'`);
    return t.data as Float32Array;
  }

  setBuffer(name: string, data: Float32Array): void {
    const x = (this.manifest.buffers ?? []).find((b) => b.name === name);
    if (!x) throw new FedmanError(`no buffer named '${name}'`);
    if (data.length !== x.size) throw new FedmanError(`buffer '${name}' has ${x.size} values, got ${data.length}`);
    this.buffers.set(name, this.tensor(data.slice(), x.dims));
  }

  /** One optimiser step on a batch (x: size × sample values, y: size int64 labels or the manifest's targets). */
  async step(x: Float32Array, y: Labels, size: number): Promise<StepMetrics> {
    const m = this.manifest;
    if ('step' in this.hyperValues) this.setHyper('step', this.steps + 1);
    const feeds: Record<string, OrtTensor> = {
      [m.input.name]: new this.backend.ort.Tensor('float32', x, [size, ...(m.input.dims.slice(1) as number[])]),
      [m.labels]: this.labels(y, size),
    };
    for (const [k, v] of this.hyper) feeds[k] = v;
    for (const [k, v] of this.params) feeds[k] = v;
    for (const [k, v] of this.state) feeds[k] = v;
    for (const [k, v] of this.extra) feeds[k] = v;
    for (const [k, v] of this.buffers) feeds[k] = v;
    const out = await this.trainSession.run(feeds);
    for (const x of m.buffers ?? []) this.buffers.set(x.name, out[nextName(x.name)]!);
    for (const p of m.params) {
      this.params.set(p.name, out[nextName(p.name)]!);
      for (const s of m.stateNames) this.state.set(stateName(p.name, s), out[nextName(stateName(p.name, s))]!);
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
    this.checkDataset(ds);
    const m = this.manifest;
    const order = indices ? Array.from(indices) : Array.from({ length: ds.n }, (_, i) => i);
    const loader = new BatchLoader(ds, batchSize, labelSize(m));
    let loss = 0, correct = 0, samples = 0;
    for (const batch of loader.batches(order)) {
      const feeds: Record<string, OrtTensor> = {
        [m.input.name]: new this.backend.ort.Tensor('float32', batch.x, [batch.size, ...(m.input.dims.slice(1) as number[])]),
        [m.labels]: this.labels(batch.y, batch.size),
      };
      for (const [k, v] of this.params) feeds[k] = v;
      for (const [k, v] of this.buffers) feeds[k] = v;
      const out = await this.evalSession.run(feeds, ['ce', 'correct']);
      loss += Number((out.ce!.data as Float32Array)[0]) * batch.size;
      correct += Number((out.correct!.data as Float32Array)[0]);
      samples += batch.size;
    }
    const d = Math.max(samples, 1);
    return { loss: loss / d, accuracy: accuracyOf(m, correct, samples), samples };
  }

  private labels(y: Labels, size: number): OrtTensor {
    const { type, dims } = labelTensor(this.manifest, y, size);
    return type === 'int64' ? new this.backend.ort.Tensor('int64', y as BigInt64Array, dims) : new this.backend.ort.Tensor('float32', y as Float32Array, dims);
  }

  private checkDataset(ds: Dataset): void {
    checkDatasetFits(this.manifest, ds);
  }

  /** Parameters, optimiser state, buffers and the step count as safetensors bytes (readable by PyTorch's safetensors). */
  checkpointBytes(): Uint8Array {
    const tensors = new Map<string, NamedTensor>();
    for (const p of this.manifest.params) {
      tensors.set(p.name, { dims: p.dims, data: this.params.get(p.name)!.data as Float32Array });
      for (const s of this.manifest.stateNames) {
        const k = stateName(p.name, s);
        tensors.set(k, { dims: p.dims, data: this.state.get(k)!.data as Float32Array });
      }
    }
    for (const x of this.manifest.buffers ?? []) tensors.set(x.name, { dims: x.dims, data: this.buffers.get(x.name)!.data as Float32Array });
    return encodeSafetensors(tensors, { format: 'fedman-checkpoint', model: this.manifest.model, optimizer: this.manifest.optimizer, steps: String(this.steps) });
  }

  /** Restores what checkpointBytes saved (`where` names the source in errors). */
  loadCheckpointBytes(bytes: Uint8Array, where = 'checkpoint'): void {
    this.applyCheckpoint(decodeSafetensors(bytes, where), where);
  }

  /** Saves parameters, optimiser state, buffers and the step count (safetensors; Node only). */
  async saveCheckpoint(file: string): Promise<void> {
    await (await nodeIo()).writeBytes(file, this.checkpointBytes());
  }

  /** Node only: reads a checkpoint file written by saveCheckpoint. */
  async loadCheckpoint(file: string): Promise<void> {
    this.applyCheckpoint(await (await nodeIo()).readSafetensors(file), `checkpoint '${file}'`);
  }

  private applyCheckpoint({ tensors, metadata }: { tensors: Map<string, NamedTensor>; metadata: Record<string, string> }, where: string): void {
    if (metadata.optimizer && metadata.optimizer !== this.manifest.optimizer) {
      throw new FedmanError(`${where} was written for optimizer '${metadata.optimizer}', these artifacts use '${this.manifest.optimizer}'`);
    }
    const get = (k: string, dims: number[]) => {
      const t = tensors.get(k);
      if (!t) throw new FedmanError(`${where} lacks tensor '${k}'`);
      if (t.data.length !== dims.reduce((a, b) => a * b, 1)) throw new FedmanError(`${where}: tensor '${k}' has the wrong size`);
      return this.tensor(t.data, dims);
    };
    for (const p of this.manifest.params) {
      this.params.set(p.name, get(p.name, p.dims));
      for (const s of this.manifest.stateNames) this.state.set(stateName(p.name, s), get(stateName(p.name, s), p.dims));
    }
    for (const x of this.manifest.buffers ?? []) this.buffers.set(x.name, get(x.name, x.dims));
    this.steps = Number(metadata.steps ?? 0);
  }

  /** The plain forward model with the current weights as initializers (original names kept), encoded as ONNX. */
  exportInferenceBytes(): Uint8Array {
    const byName = new Map(this.manifest.params.map((p) => [p.name, p]));
    const buffers = new Map((this.manifest.buffers ?? []).map((x) => [x.name, x]));
    const graph = this.forward.graph!;
    const original = graph.initializer;
    // Swap the initializers in only for the (synchronous) encode, so the kept forward model stays pristine.
    graph.initializer = (original ?? []).map((t) => {
      const p = byName.get(t.name!);
      if (p) return float32Tensor(p.name, p.dims, this.params.get(p.name)!.data as Float32Array);
      const x = buffers.get(t.name!);
      return x ? float32Tensor(x.name, x.dims, this.buffers.get(x.name)!.data as Float32Array) : t;
    });
    try { return encodeModel(this.forward); } finally { graph.initializer = original; }
  }

  /** Writes exportInferenceBytes() to a file (Node only). */
  async exportInference(file: string): Promise<void> {
    await (await nodeIo()).writeBytes(file, this.exportInferenceBytes());
  }

  async release(): Promise<void> {
    await this.trainSession.release();
    await this.evalSession.release();
  }
}
