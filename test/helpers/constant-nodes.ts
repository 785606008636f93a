/**
 * Rewrites a model the way paddle2onnx and some tf2onnx exports store weights: every float initializer becomes a
 * Constant node writing the same tensor name (placed first, in initializer order); other initializers stay.
 */
import { AttrType, DataType, type ModelProto, type NodeProto } from '../../src/onnx/proto.js';

export function initializersAsConstants(model: ModelProto): ModelProto {
  const graph = model.graph!;
  const floats = (graph.initializer ?? []).filter((t) => t.dataType === DataType.FLOAT);
  const constants: NodeProto[] = floats.map((t, i) => ({
    opType: 'Constant', domain: '', name: `Constant_w${i}`, input: [], output: [t.name!],
    attribute: [{ name: 'value', type: AttrType.TENSOR, t: { ...t, name: '' } }],
  }));
  const names = new Set(floats.map((t) => t.name!));
  return {
    ...model,
    graph: {
      ...graph,
      node: [...constants, ...(graph.node ?? [])],
      initializer: (graph.initializer ?? []).filter((t) => t.dataType !== DataType.FLOAT),
      input: (graph.input ?? []).filter((i) => !names.has(i.name!)),
    },
  };
}
