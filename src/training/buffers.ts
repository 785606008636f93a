/**
 * BatchNormalization running statistics as training state ("buffers", PyTorch's word).
 *
 * Exporters write an eval-mode BatchNormalization (training_mode absent): y = γ·(x − running_mean)/√(running_var
 * + ε) + β. For training, fedman converts each such node whose running statistics are float initializers into
 * training mode in the train-step graph (training_mode = 1, three outputs): the batch normalises with its own
 * statistics, and the running statistics become graph inputs whose updated values the step outputs
 * (`<name>__next`). The trainer feeds them back like optimiser state, evaluates with them, checkpoints them and
 * writes them into the exported forward model. The eval graph keeps the inference form, reading the buffers.
 *
 * Update rule (PyTorch's, with m = the number of values per channel in the batch, ONNX momentum = 1 − torch's):
 *   running_mean ← momentum·running_mean + (1 − momentum)·mean
 *   running_var  ← momentum·running_var  + (1 − momentum)·var·m/(m − 1)     (unbiased batch variance)
 * ONNX's BatchNormalization spec (and ONNX Runtime) updates running_var with the biased variance; fedman follows
 * PyTorch so that a fine-tuned torch model's statistics evolve as they would in torch.
 *
 * With `batchNorm: 'frozen'` nothing is converted: BN stays an affine map with constant statistics (a common
 * choice when fine-tuning with small batches).
 */
import { DataType, type NodeProto, type TensorProto } from '../onnx/proto.js';
import type { GraphBuilder } from '../onnx/builder.js';
import type { ShapeMap } from '../onnx/shape-probe.js';
import { attrFloat, attrInt, encodeAttr } from '../onnx/attrs.js';
import { float32Tensor, tensorDims, numel } from '../onnx/tensor.js';
import { FedmanError } from '../util/errors.js';

export type BatchNormMode = 'train' | 'frozen';
export const BATCH_NORM_MODES: readonly BatchNormMode[] = ['train', 'frozen'];

/** A non-trainable state tensor updated by the train step (a BN running statistic). */
export interface BufferInfo {
  name: string;
  dims: number[];
  size: number;
  /** The BatchNormalization node it belongs to, and which statistic. */
  node: string;
  kind: 'running_mean' | 'running_var';
}

function isBatchNorm(n: NodeProto): boolean {
  return n.opType === 'BatchNormalization' && (!n.domain || n.domain === 'ai.onnx');
}

/**
 * Finds the buffers (mode 'train'): inputs 3 and 4 of every BatchNormalization that are float initializers used
 * nowhere else. Returns them in node order (none in mode 'frozen'), and the nodes with every such
 * BatchNormalization in its inference form (training_mode dropped, one output) so that eval graphs, frozen BN
 * and the forward export are eval-mode, whatever mode the exporter wrote.
 */
export function findBuffers(nodes: readonly NodeProto[], inits: readonly TensorProto[], graphOutputs: readonly string[], mode: BatchNormMode, where: string): { buffers: BufferInfo[]; nodes: NodeProto[] } {
  const byName = new Map(inits.map((t) => [t.name!, t]));
  const uses = new Map<string, number>();
  for (const n of nodes) for (const x of n.input ?? []) if (x) uses.set(x, (uses.get(x) ?? 0) + 1);
  const consumed = new Set<string>(graphOutputs);
  for (const n of nodes) for (const x of n.input ?? []) if (x) consumed.add(x);
  const buffers: BufferInfo[] = [];
  const out = nodes.map((n) => {
    if (!isBatchNorm(n)) return n;
    const stats = [n.input?.[3] ?? '', n.input?.[4] ?? ''];
    const tensors = stats.map((s) => byName.get(s));
    if (tensors.some((t) => !t || t.dataType !== DataType.FLOAT) || stats.some((s) => uses.get(s) !== 1)) return n;
    const extra = (n.output ?? []).slice(1).filter((o) => o && consumed.has(o));
    if (extra.length > 0) {
      throw new FedmanError(`${where}: BatchNormalization '${n.name}' has its running-statistics outputs (${extra.join(', ')}) used by the model; not supported`);
    }
    if (mode === 'train') {
      stats.forEach((s, i) => {
        const dims = tensorDims(tensors[i]!);
        buffers.push({ name: s, dims, size: numel(dims), node: n.name!, kind: i === 0 ? 'running_mean' : 'running_var' });
      });
    }
    return { ...n, output: [(n.output ?? [])[0]!], attribute: (n.attribute ?? []).filter((a) => a.name !== 'training_mode') };
  });
  return { buffers, nodes: out };
}

/** A converted node: the tensors the train step reads the updates from. */
export interface BatchNormUpdate {
  node: NodeProto;
  runningMean: BufferInfo;
  runningVar: BufferInfo;
  /** Outputs 1 and 2 of the training-mode node (required by ONNX in training mode; not read, see below). */
  meanOut: string;
  varOut: string;
  /** Rank of the node's input X. */
  rank: number;
  /** Private scratch tensors fed as the node's inputs 3 and 4 (see emitBufferUpdates). */
  scratch: [string, string];
}

/**
 * The train-step form of the forward nodes: every BatchNormalization owning buffers in training mode with three
 * outputs (fresh names for outputs 1 and 2, their shapes added to `shapes`).
 */
export function trainingForm(nodes: readonly NodeProto[], buffers: readonly BufferInfo[], shapes: ShapeMap): { nodes: NodeProto[]; shapes: ShapeMap; updates: BatchNormUpdate[] } {
  if (buffers.length === 0) return { nodes: [...nodes], shapes, updates: [] };
  const taken = new Set<string>();
  for (const n of nodes) for (const x of [...(n.input ?? []), ...(n.output ?? [])]) if (x) taken.add(x);
  const fresh = (base: string) => {
    let name = base;
    for (let k = 1; taken.has(name); k++) name = `${base}_${k}`;
    taken.add(name);
    return name;
  };
  const out = new Map(shapes);
  const updates: BatchNormUpdate[] = [];
  const converted = nodes.map((n) => {
    const mine = buffers.filter((b) => b.node === n.name);
    if (mine.length === 0) return n;
    const runningMean = mine.find((b) => b.kind === 'running_mean')!;
    const runningVar = mine.find((b) => b.kind === 'running_var')!;
    const meanOut = fresh(`${n.name}__batch_running_mean`);
    const varOut = fresh(`${n.name}__batch_running_var`);
    const scratch: [string, string] = [fresh(`${n.name}__scratch_mean`), fresh(`${n.name}__scratch_var`)];
    for (const t of [meanOut, varOut, ...scratch]) out.set(t, { dtype: DataType.FLOAT, dims: [...runningMean.dims] });
    const node: NodeProto = {
      ...n,
      input: [...(n.input ?? []).slice(0, 3), ...scratch],
      output: [(n.output ?? [])[0]!, meanOut, varOut],
      attribute: [...(n.attribute ?? []).filter((a) => a.name !== 'training_mode'), encodeAttr('training_mode', 1)],
    };
    const rank = shapes.get(n.input![0]!)?.dims.length;
    if (rank === undefined || rank < 2) throw new FedmanError(`BatchNormalization '${n.name}': its input must have rank >= 2 and a known shape`);
    updates.push({ node, runningMean, runningVar, meanOut, varOut, rank, scratch });
    return node;
  });
  return { nodes: converted, shapes: out, updates };
}

/**
 * Emits the updated buffers as graph outputs named `outName(buffer)`, from the batch statistics of the node's
 * input X computed with standard ops (ReduceSum over N and the spatial axes; m = Size(X)/C):
 *   running_mean ← momentum·running_mean + (1 − momentum)·Σx/m
 *   running_var  ← momentum·running_var  + (1 − momentum)·Σ(x − mean)²/(m − 1)
 * The node itself reads private scratch initializers as inputs 3 and 4, never the buffers: ONNX Runtime's CPU
 * kernel in training mode aliases outputs 1 and 2 onto inputs 3 and 4 and updates them IN PLACE — given the
 * buffers, it overwrote the caller's fed tensors during the run (other nodes reading them saw the updated
 * values; observed with onnxruntime-node 1.30). Its outputs 1 and 2 are therefore not used either; Y does not
 * depend on inputs 3 and 4 in training mode.
 */
export function emitBufferUpdates(b: GraphBuilder, updates: readonly BatchNormUpdate[], outName: (buffer: string) => string): void {
  for (const u of updates) {
    const momentum = attrFloat(u.node, 'momentum', 0.9);
    if (attrInt(u.node, 'training_mode', 0) !== 1) throw new Error('internal: BatchNormalization not in training mode');
    const x = u.node.input![0]!;
    const dims = u.runningMean.dims;
    const c = dims.reduce((p, q) => p * q, 1);
    const rank = u.rank;
    const axes = b.constI64([0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)]);
    const m = b.op('Div', [b.op('Cast', [b.op('Size', [x])], { to: DataType.FLOAT }), b.constF(c)]);
    const mean = b.op('Div', [b.op('ReduceSum', [x, axes], { keepdims: 1 }), m]);
    const xc = b.op('Sub', [x, mean]);
    const unbiased = b.op('Div', [b.op('ReduceSum', [b.op('Mul', [xc, xc]), axes], { keepdims: 0 }), b.op('Max', [b.op('Sub', [m, b.constF(1)]), b.constF(1)])]);
    const ema = (old: string, v: string) => b.op('Add', [b.op('Mul', [old, b.constF(momentum)]), b.op('Mul', [v, b.constF(1 - momentum)])]);
    b.add('Identity', [ema(u.runningMean.name, b.op('Reshape', [mean, b.constI64(dims)]))], {}, { outputs: [outName(u.runningMean.name)] });
    b.add('Identity', [ema(u.runningVar.name, b.op('Reshape', [unbiased, b.constI64(dims)]))], {}, { outputs: [outName(u.runningVar.name)] });
    b.initializer(float32Tensor(u.scratch[0], dims, new Float32Array(c)));
    b.initializer(float32Tensor(u.scratch[1], dims, new Float32Array(c).fill(1)));
    b.output(outName(u.runningMean.name), DataType.FLOAT, dims);
    b.output(outName(u.runningVar.name), DataType.FLOAT, u.runningVar.dims);
  }
}

/** Declares the buffers as graph inputs (replacing the initializers copyForward added for them). */
export function bufferInputs(b: GraphBuilder, buffers: readonly BufferInfo[]): void {
  const names = new Set(buffers.map((x) => x.name));
  for (let i = b.initializers.length - 1; i >= 0; i--) if (names.has(b.initializers[i]!.name!)) b.initializers.splice(i, 1);
  for (const x of buffers) b.input(x.name, DataType.FLOAT, x.dims);
}
