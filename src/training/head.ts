/**
 * Replacing a classifier's head for a new number of classes (fine-tuning a pretrained model on another label set).
 *
 * The head is the layer producing the logits output, reached from it backwards through Identity nodes:
 *   Gemm(A, W, C)                 (torch Linear on 2-D input; W [classes, K] with transB = 1, or [K, classes])
 *   Add(MatMul(A, W), bias)       (torch Linear on N-D input; W [K, classes], bias [classes])
 *   MatMul(A, W)                  (a Linear without bias)
 * Its weight and bias initializers are replaced by fresh ones of the new size, drawn as torch.nn.Linear's default
 * init does: U(−1/√K, 1/√K) for both (kaiming_uniform with a = √5), from a seeded generator, under the same
 * names. The graph output's static class dim and any stale value_info downstream of the head are updated.
 */
import { DataType, toNumber, type ModelProto, type NodeProto, type TensorProto } from '../onnx/proto.js';
import { attrInt } from '../onnx/attrs.js';
import { float32Tensor, tensorDims } from '../onnx/tensor.js';
import { Rng } from '../util/rng.js';
import { throughIdentity } from '../onnx/identity-chain.js';
import { FedmanError } from '../util/errors.js';

export interface HeadInfo {
  /** The node computing the logits (Gemm, MatMul, or the Add after a MatMul). */
  node: string;
  weight: string;
  bias?: string;
  /** Input features K and current number of classes. */
  inFeatures: number;
  classes: number;
}

interface Found extends HeadInfo { layout: 'gemm-transB' | 'gemm' | 'matmul'; biasDims?: number[]; first: NodeProto }

function findHead(model: ModelProto, logits: string, where: string): Found {
  const graph = model.graph!;
  const nodes = graph.node ?? [];
  const inits = new Map((graph.initializer ?? []).map((t) => [t.name!, t]));
  const producer = new Map<string, NodeProto>();
  for (const n of nodes) for (const o of n.output ?? []) if (o) producer.set(o, n);
  const { tensor: t, node: n } = throughIdentity(logits, producer);
  const fail = (why: string): never => {
    throw new FedmanError(`${where}: cannot replace the classification head: ${why}`);
  };
  if (!n) return fail(`'${logits}' is not computed by a node`);
  const weightOf = (name: string | undefined): TensorProto => {
    const w = name ? inits.get(name) : undefined;
    if (!w || w.dataType !== DataType.FLOAT || tensorDims(w).length !== 2) fail(`the weight of node '${n!.name}' (${n!.opType}) is not a 2-D float initializer`);
    return w!;
  };
  const biasOf = (name: string | undefined, classes: number): number[] | undefined => {
    if (!name) return undefined;
    const bias = inits.get(name);
    if (!bias || bias.dataType !== DataType.FLOAT) return fail(`the bias '${name}' of node '${n!.name}' is not a float initializer`);
    const dims = tensorDims(bias);
    if (dims.reduce((a, b) => a * b, 1) !== classes) fail(`the bias '${name}' of node '${n!.name}' has shape ${JSON.stringify(dims)}, not one value per class`);
    return dims;
  };
  if (n.opType === 'Gemm') {
    if (attrInt(n, 'transA', 0) !== 0) fail(`Gemm '${n.name}' has transA = 1`);
    const w = weightOf(n.input?.[1]);
    const [d0, d1] = tensorDims(w) as [number, number];
    const transB = attrInt(n, 'transB', 0) === 1;
    const classes = transB ? d0 : d1;
    const bias = n.input?.[2] || undefined;
    return { node: n.name ?? '', weight: w.name!, bias, inFeatures: transB ? d1 : d0, classes, layout: transB ? 'gemm-transB' : 'gemm', biasDims: biasOf(bias, classes), first: n };
  }
  let bias: string | undefined;
  let mm = n;
  if (n.opType === 'Add') {
    const [a, c] = n.input ?? [];
    const pa = producer.get(a ?? '');
    const pc = producer.get(c ?? '');
    if (pa?.opType === 'MatMul' && c && inits.has(c)) { mm = pa; bias = c; } else if (pc?.opType === 'MatMul' && a && inits.has(a)) { mm = pc; bias = a; } else fail(`'${logits}' comes from an Add that is not MatMul + bias`);
  }
  if (mm.opType !== 'MatMul') return fail(`'${logits}' is computed by ${n.opType} '${n.name}', not by Gemm, MatMul or MatMul + Add`);
  const w = weightOf(mm.input?.[1]);
  const [k, classes] = tensorDims(w) as [number, number];
  return { node: n.name ?? '', weight: w.name!, bias, inFeatures: k, classes, layout: 'matmul', biasDims: biasOf(bias, classes), first: mm };
}

/** The head of a model (for inspection); throws a FedmanError when it has none fedman recognises. */
export function describeHead(model: ModelProto, logits?: string, where = 'model'): HeadInfo {
  const { layout: _l, biasDims: _b, first: _f, ...info } = findHead(model, logits ?? model.graph?.output?.[0]?.name ?? '', where);
  return info;
}

/**
 * Returns a copy of `model` whose head outputs `numClasses` logits (the model itself when it already does).
 * `logits` names the output (default: the first graph output).
 */
export function replaceHead(model: ModelProto, numClasses: number, opts: { logits?: string; seed?: number } = {}, where = 'model'): ModelProto {
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new FedmanError(`numClasses must be a positive integer, got ${numClasses}`);
  const graph = model.graph!;
  const logits = opts.logits ?? graph.output?.[0]?.name ?? '';
  const head = findHead(model, logits, where);
  if (head.classes === numClasses) return model;
  const uses = new Map<string, number>();
  for (const n of graph.node ?? []) for (const x of n.input ?? []) if (x) uses.set(x, (uses.get(x) ?? 0) + 1);
  for (const t of [head.weight, head.bias]) {
    if (t && (uses.get(t) ?? 0) !== 1) throw new FedmanError(`${where}: cannot replace the classification head: '${t}' is shared with other nodes`);
  }
  const rng = new Rng(opts.seed ?? 0);
  const k = head.inFeatures;
  const bound = 1 / Math.sqrt(k);
  const draw = (n: number) => Float32Array.from({ length: n }, () => (rng.uniform() * 2 - 1) * bound);
  const wDims = head.layout === 'gemm-transB' ? [numClasses, k] : [k, numClasses];
  const weight = float32Tensor(head.weight, wDims, draw(numClasses * k));
  let bias: TensorProto | undefined;
  if (head.bias) {
    const old = head.biasDims ?? [head.classes];
    const dims = old.map((d) => (d === head.classes ? numClasses : d));
    bias = float32Tensor(head.bias, dims, draw(numClasses));
  }
  const initializer = (graph.initializer ?? []).map((t) => (t.name === head.weight ? weight : t.name === head.bias && bias ? bias : t));
  // Output shapes: the logits' class dim changes; drop value_info of tensors downstream of the head (now stale).
  const output = (graph.output ?? []).map((o) => {
    if (o.name !== logits) return o;
    const shape = o.type?.tensorType?.shape;
    if (!shape?.dim || shape.dim.length !== 2) return o;
    const dim = shape.dim.map((d, i) => (i === 1 && toNumber(d.dimValue) > 0 ? { ...d, dimValue: numClasses } : d));
    return { ...o, type: { ...o.type, tensorType: { ...o.type!.tensorType, shape: { ...shape, dim } } } };
  });
  const stale = downstream(graph.node ?? [], head.first);
  const valueInfo = (graph.valueInfo ?? []).filter((v) => !stale.has(v.name!));
  return { ...model, graph: { ...graph, initializer, output, valueInfo } };
}

/** Every tensor computed from the outputs of node `start` (its outputs included; nodes in topological order). */
function downstream(nodes: readonly NodeProto[], start: NodeProto): Set<string> {
  const out = new Set<string>();
  let seen = false;
  for (const n of nodes) {
    if (n === start) seen = true;
    if (n === start || (seen && (n.input ?? []).some((x) => out.has(x)))) for (const o of n.output ?? []) if (o) out.add(o);
  }
  return out;
}
