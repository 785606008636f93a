/**
 * Turns an arbitrary forward ONNX model into the description the training builders need: which graph input is
 * the data, which output is the logits, which initializers are trainable parameters (in a fixed order: the order
 * of the flat parameter vector that federated learning exchanges), and shapes of every tensor.
 */
import { DataType, type ModelProto, type NodeProto, type TensorProto } from '../onnx/proto.js';
import { probeShapes, type ShapeMap } from '../onnx/shape-probe.js';
import { tensorDims, numel } from '../onnx/tensor.js';
import { differentiableUses } from './differentiable-uses.js';
import { FedmanError } from '../util/errors.js';
import type { Dim } from '../onnx/builder.js';
import { findBuffers, type BatchNormMode, type BufferInfo } from './buffers.js';
import { withMaxPoolIndices } from './maxpool-indices.js';
import { lossInput } from './loss-input.js';
import type { LossGeometry, LossKind } from './loss.js';
import { requireStaticInput, setInputShape, valueInfoDims, type InputShapeSpec } from '../onnx/input-shape.js';
import { convertModel } from './convert.js';

export interface ParamInfo {
  name: string;
  dims: number[];
  size: number;
  /** Offset in the flat parameter vector. */
  offset: number;
}

export interface PreparedModel {
  model: ModelProto;
  /** Forward nodes, each with a unique non-empty name. */
  nodes: NodeProto[];
  input: { name: string; dtype: number; dims: Dim[] };
  /** The graph output trained (kept as it is in the forward model). */
  output: string;
  /** The tensor the loss is computed on: the output, or the logits before its final Softmax/Sigmoid (loss-input.ts). */
  logits: string;
  /** The loss, where it finds the classes, and the labels it reads. */
  loss: LossGeometry & { kind: LossKind };
  params: ParamInfo[];
  /** Float initializers that stay constant (frozen or non-differentiable). */
  constants: TensorProto[];
  /**
   * BatchNormalization running statistics the train step updates (see buffers.ts); empty when BN is frozen. They
   * are also in `constants` (graphs that do not train them keep the initial values); the train step and eval
   * graph replace those initializers by inputs.
   */
  buffers: BufferInfo[];
  shapes: ShapeMap;
  numClasses: number;
}

export interface PrepareOptions {
  /** Name of the output to train on (default: the first graph output). */
  logits?: string;
  /** The loss the model is trained with (default cross-entropy): decides the labels and the head trained through. */
  loss?: LossKind;
  /** The output's class axis for cross-entropy (default 1) and ctc (default the last). */
  classAxis?: number;
  /** Parameters whose names match any of these regular expressions are frozen. */
  freeze?: readonly RegExp[];
  /** 'train' (default): BatchNormalization uses batch statistics in the train step and updates its running
   *  statistics as buffers; 'frozen': it stays the eval-mode affine map with constant statistics. */
  batchNorm?: BatchNormMode;
  /** Sizes for the data input's symbolic non-batch dims (`--input-shape`); a static batch becomes symbolic. */
  inputShape?: InputShapeSpec;
}

export async function prepareModel(source: ModelProto, opts: PrepareOptions = {}, where = 'model'): Promise<PreparedModel> {
  // Old opsets, Constant-node weights, symbolic input dims (a no-op for a model already converted).
  const converted = (await convertModel(source, { inputShape: opts.inputShape }, where)).model;
  const model = setInputShape(converted, undefined, where);
  const graph = model.graph!;
  const nodes = (graph.node ?? []).map((n, i) => (n.name ? n : { ...n, name: `${n.opType}_${i}` }));
  const seen = new Set<string>();
  for (const n of nodes) {
    if (seen.has(n.name!)) n.name = `${n.name}_${nodes.indexOf(n)}`;
    seen.add(n.name!);
  }
  const inits = graph.initializer ?? [];
  const initNames = new Set(inits.map((t) => t.name!));
  const bn = findBuffers(nodes, inits, (graph.output ?? []).map((o) => o.name!), opts.batchNorm ?? 'train', where);
  // Training graphs differentiate overlapping MaxPools through their Indices output; the forward model stays as is.
  nodes.splice(0, nodes.length, ...withMaxPoolIndices(bn.nodes, where));
  const bufferNames = new Set(bn.buffers.map((x) => x.name));
  const dataInputs = (graph.input ?? []).filter((i) => !initNames.has(i.name!));
  if (dataInputs.length !== 1) {
    throw new FedmanError(`${where} must have exactly one data input; it has ${dataInputs.length} (${dataInputs.map((i) => i.name).join(', ')})`);
  }
  const outputs = (graph.output ?? []).map((o) => o.name!);
  const output = opts.logits ?? outputs[0];
  if (!output || !outputs.includes(output)) {
    throw new FedmanError(outputs.length ? `${where}: output '${opts.logits}' not found; outputs are ${outputs.join(', ')}` : `${where} has no graph outputs`);
  }
  const vi = dataInputs[0]!;
  requireStaticInput(vi.name!, valueInfoDims(vi), where);
  const normalized: ModelProto = { ...model, graph: { ...graph, node: bn.nodes } };
  let shapes: ShapeMap;
  try {
    shapes = await probeShapes({ ...model, graph: { ...graph, node: nodes } });
  } catch (err) {
    // ONNX Runtime names the node and op; add which model.
    if (!(err instanceof FedmanError)) throw err;
    const batch = valueInfoDims((converted.graph?.input ?? []).find((i) => i.name === vi.name) ?? vi)[0];
    const hint = typeof batch === 'number' ? `; input '${vi.name}' has a static batch of ${batch}, and fedman trains with batches of any size: re-export the model with a dynamic batch axis (torch.onnx.export(..., dynamic_axes={'${vi.name}': {0: 'N'}}))` : '';
    throw new FedmanError(`${where}: ${err.message}${hint}`, err.details);
  }
  const head = lossInput(nodes, output, opts.loss ?? 'cross-entropy', { classAxis: opts.classAxis }, shapes, where);
  // Float initializers used only where gradients never flow (shape inputs, axes, BN running stats) are constants.
  const used = differentiableUses(nodes);
  const params: ParamInfo[] = [];
  const constants: TensorProto[] = [];
  let offset = 0;
  for (const t of inits) {
    // Buffers stay among the constants (their initial values): graphs that do not train them run BN in eval mode.
    if (bufferNames.has(t.name!)) { constants.push(t); continue; }
    // Rank-0 float initializers are constants (epsilons, scales), not parameters.
    const trainable = t.dataType === DataType.FLOAT && used.has(t.name!) && tensorDims(t).length > 0 && numel(tensorDims(t)) > 0
      && !(opts.freeze ?? []).some((re) => re.test(t.name!));
    if (!trainable) { constants.push(t); continue; }
    const dims = tensorDims(t);
    const size = numel(dims);
    params.push({ name: t.name!, dims, size, offset });
    offset += size;
  }
  if (params.length === 0) throw new FedmanError(`${where} has no trainable float initializers`);
  return {
    model: normalized,
    nodes,
    input: { name: vi.name!, dtype: vi.type?.tensorType?.elemType ?? DataType.FLOAT, dims: shapes.get(vi.name!)!.dims },
    output,
    logits: head.logits,
    loss: { kind: opts.loss ?? 'cross-entropy', ...head.geometry },
    params,
    constants,
    buffers: bn.buffers,
    shapes,
    numClasses: head.geometry.target.numClasses,
  };
}

export function totalParamSize(params: readonly ParamInfo[]): number {
  return params.reduce((s, p) => s + p.size, 0);
}

