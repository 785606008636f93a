/**
 * Weights stored as Constant nodes (paddle2onnx, some tf2onnx and simplified models) become initializers, so that
 * they are parameters exactly as an initializer in their place would be (prepare.ts): `--freeze`, `--classes` and
 * MAN treat them alike. A float Constant of rank ≥ 1 is lifted when a node reads it (directly or through Identity)
 * where gradients flow, or as a BatchNormalization running statistic (a buffer). It keeps the name of the tensor
 * the Constant wrote (exporters name it after the layer, e.g. `conv2d_0.w_0`), so no consumer changes; lifted
 * initializers follow the model's own, in node order. Scalars stay Constant nodes (epsilons, scales).
 */
import { AttrType, DataType, type ModelProto, type NodeProto, type TensorProto } from '../onnx/proto.js';
import { float32Tensor } from '../onnx/tensor.js';
import { throughIdentity } from '../onnx/identity-chain.js';
import { differentiableUses } from './differentiable-uses.js';

function constantValue(n: NodeProto): TensorProto | undefined {
  const attr = n.attribute?.[0];
  if (n.opType !== 'Constant' || (n.domain && n.domain !== 'ai.onnx') || !attr || (n.attribute ?? []).length !== 1) return undefined;
  if (attr.name === 'value' && attr.t) return attr.t;
  if (attr.name === 'value_floats' && attr.type === AttrType.FLOATS) return float32Tensor('', [attr.floats?.length ?? 0], attr.floats ?? []);
  return undefined;
}

export function liftConstantWeights(model: ModelProto): { model: ModelProto; lifted: string[] } {
  const graph = model.graph!;
  const nodes = graph.node ?? [];
  // A tensor read through Identity counts as read where the Identity's output is.
  const producer = new Map<string, NodeProto>();
  for (const n of nodes) for (const o of n.output ?? []) if (o) producer.set(o, n);
  const root = (t: string) => throughIdentity(t, producer).tensor;
  const wanted = new Set([...differentiableUses(nodes)].map(root));
  for (const n of nodes) if (n.opType === 'BatchNormalization') for (const i of [3, 4]) if (n.input?.[i]) wanted.add(root(n.input[i]));
  const lifted: TensorProto[] = [];
  const kept = nodes.filter((n) => {
    const value = constantValue(n);
    const out = n.output?.[0];
    if (!value || !out || !wanted.has(out) || value.dataType !== DataType.FLOAT || (value.dims ?? []).length === 0) return true;
    lifted.push({ ...value, name: out });
    return false;
  });
  if (lifted.length === 0) return { model, lifted: [] };
  return {
    model: { ...model, graph: { ...graph, node: kept, initializer: [...(graph.initializer ?? []), ...lifted] } },
    lifted: lifted.map((t) => t.name!),
  };
}
