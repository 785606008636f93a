/**
 * Forward + loss (+ MAN) + backward, emitted into a builder: the part every training graph shares (train step,
 * SAM's second pass, ORT training export, Hessian-vector products).
 */
import { DataType, type NodeProto } from '../onnx/proto.js';
import type { GraphBuilder } from '../onnx/builder.js';
import { probeShapes, type ShapeMap } from '../onnx/shape-probe.js';
import { numel, tensorDims, tensorToInts } from '../onnx/tensor.js';
import { backward } from '../autodiff/engine.js';
import type { PreparedModel } from './prepare.js';
import { emitLoss, type LossGeometry, type LossKind } from './loss.js';
import { emitMan } from './man.js';

/** A forward graph as present in a builder: its nodes, logits and shapes (possibly a renamed clone). */
export interface ForwardView {
  nodes: NodeProto[];
  logits: string;
  shapes: ShapeMap;
  /** Maps an original forward tensor name to its name in this view. */
  name: (original: string) => string;
}

export interface LossGradients {
  /** Data loss (CE or MSE), the value of `correct`, the MAN value (ζ/2·Σ mean a²) and the total. */
  loss: string;
  correct: string;
  man: string;
  total: string;
  /** Parameter (original name) → gradient of the total loss. */
  grads: Map<string, string>;
  /** Every differentiated tensor → its gradient (for second-order use). */
  tensorGrads: Map<string, string>;
}

/** The forward graph as copied by copyForward (names unchanged). */
export function identityView(prepared: PreparedModel): ForwardView {
  return { nodes: prepared.nodes, logits: prepared.logits, shapes: prepared.shapes, name: (t) => t };
}

/**
 * Copies the forward nodes again with every internal tensor renamed (`<name><tag>`) and parameters replaced by
 * `paramTensors` — e.g. SAM's perturbed weights. Constants and the data input are shared with the original.
 */
export function cloneForward(b: GraphBuilder, prepared: PreparedModel, paramTensors: ReadonlyMap<string, string>, tag: string): ForwardView {
  const internal = new Set<string>();
  for (const n of prepared.nodes) for (const o of n.output ?? []) if (o) internal.add(o);
  const name = (t: string) => paramTensors.get(t) ?? (internal.has(t) ? `${t}${tag}` : t);
  b.reserve([...internal].map((t) => `${t}${tag}`));
  const nodes: NodeProto[] = prepared.nodes.map((n) => ({
    ...n,
    name: b.fresh(`${n.name}${tag}`),
    input: (n.input ?? []).map((x) => (x ? name(x) : x)),
    output: (n.output ?? []).map((x) => (x ? name(x) : x)),
  }));
  b.nodes.push(...nodes);
  const shapes: ShapeMap = new Map(prepared.shapes);
  for (const [k, v] of prepared.shapes) if (internal.has(k)) shapes.set(`${k}${tag}`, v);
  for (const [orig, t] of paramTensors) shapes.set(t, prepared.shapes.get(orig)!);
  return { nodes, logits: name(prepared.logits), shapes, name };
}

/** Shapes of the loss head's tensors (probed on a small stand-alone graph: logits + labels → loss). */
async function lossShapes(kind: LossKind, geometry: LossGeometry): Promise<{ shapes: ShapeMap; nodes: NodeProto[]; loss: string; correct: string; logits: string; labels: string }> {
  const { GraphBuilder } = await import('../onnx/builder.js');
  const b = new GraphBuilder();
  const logits = b.input('logits', DataType.FLOAT, geometry.logitDims);
  const labels = b.input('labels', geometry.target.dtype, geometry.target.dims);
  const head = emitLoss(b, kind, logits, labels, geometry, DataType.FLOAT);
  const model = b.toModel('loss');
  model.graph!.output = [{ name: head.loss }, { name: head.correct }];
  return { shapes: await probeShapes(model), nodes: b.nodes, loss: head.loss, correct: head.correct, logits, labels };
}

export interface EmitOptions {
  loss: LossKind;
  labels: string;
  /** Tensor names of the activations MAN penalises (in the original naming). */
  manLayers: readonly string[];
  /** Scalar tensor holding ζ. */
  zeta: string;
  /** The parameter tensors to differentiate (original name → tensor in the builder); default: the originals. */
  paramTensors?: ReadonlyMap<string, string>;
}

export async function emitLossAndGradients(b: GraphBuilder, prepared: PreparedModel, view: ForwardView, opts: EmitOptions): Promise<LossGradients> {
  const nBefore = b.nodes.length;
  const head = emitLoss(b, opts.loss, view.logits, opts.labels, prepared.loss, DataType.FLOAT);
  const lossNodes = b.nodes.slice(nBefore);
  // The loss head's internal shapes come from a tiny probe; map its names onto the emitted ones by position.
  const probe = await lossShapes(opts.loss, prepared.loss);
  const shapes: ShapeMap = new Map(view.shapes);
  probe.nodes.forEach((pn, i) => (pn.output ?? []).forEach((o, j) => {
    const info = probe.shapes.get(o);
    const emitted = lossNodes[i]?.output?.[j];
    if (info && emitted) shapes.set(emitted, info);
  }));
  shapes.set(opts.labels, probe.shapes.get(probe.labels)!);
  // Constants the loss head made (pads, slice bounds: the rules read their values) are known from their tensors.
  for (const c of b.initializers) {
    if (shapes.has(c.name!)) continue;
    const dims = tensorDims(c);
    const isInt = c.dataType === DataType.INT64 && numel(dims) <= 64;
    shapes.set(c.name!, { dtype: c.dataType ?? DataType.FLOAT, dims, ...(isInt ? { constValue: tensorToInts(c) } : {}) });
  }

  const layers = opts.manLayers.map(view.name);
  const man = emitMan(b, layers, opts.zeta, DataType.FLOAT);
  const seeds = new Map<string, string>([[head.loss, b.constF(1)]]);
  for (const [a, g] of man?.seeds ?? []) seeds.set(a, g);
  const wrtNames = prepared.params.map((p) => opts.paramTensors?.get(p.name) ?? p.name);
  const { grads: byTensor, tensorGrads } = backward(b, { nodes: [...view.nodes, ...lossNodes], shapes, wrt: wrtNames, seeds });
  const grads = new Map(prepared.params.map((p, i) => [p.name, byTensor.get(wrtNames[i]!)!]));

  const half = b.op('Mul', [opts.zeta, b.constF(0.5)]);
  const manValue = man ? b.op('Mul', [man.sumMeanSquares, half]) : b.constF(0);
  const total = b.op('Add', [head.loss, manValue]);
  return { loss: head.loss, correct: head.correct, man: manValue, total, grads, tensorGrads };
}
