/**
 * The tensor a loss is computed on. A head that ends in the activation its loss applies itself (Softmax or
 * LogSoftmax over the class axis for cross-entropy and CTC, Sigmoid for binary cross-entropy) is trained on the
 * logits before it, as torch trains such a model: the loss on the activation's input is the numerically stable
 * one, and the exported forward model keeps the activation.
 */
import type { NodeProto } from '../onnx/proto.js';
import type { ShapeMap } from '../onnx/shape-probe.js';
import { attrInt } from '../onnx/attrs.js';
import { throughIdentity } from '../onnx/identity-chain.js';
import { FedmanError } from '../util/errors.js';
import { lossDef, type LossGeometry, type LossKind, type LossOptions } from './loss.js';

export function lossInput(nodes: readonly NodeProto[], output: string, kind: LossKind, opts: LossOptions, shapes: ShapeMap, where: string): { logits: string; geometry: LossGeometry } {
  const info = shapes.get(output);
  if (!info) throw new FedmanError(`${where}: output '${output}' is produced by no node and is neither an input nor an initializer`);
  const def = lossDef(kind);
  const geometry = def.geometry(info.dims, opts, where);
  const producer = new Map<string, NodeProto>();
  for (const n of nodes) for (const o of n.output ?? []) if (o) producer.set(o, n);
  const { tensor: t, node: n } = throughIdentity(output, producer);
  if (n?.opType === 'Sigmoid' && kind === 'cross-entropy') {
    throw new FedmanError(`${where}: output '${output}' is a Sigmoid's (sigmoid scores, not softmax classes); train it with --loss bce`);
  }
  if (!n || !def.strips.includes(n.opType!)) return { logits: output, geometry };
  if (n.opType !== 'Sigmoid') {
    const rank = info.dims.length;
    const axis = attrInt(n, 'axis', -1);
    if ((axis < 0 ? axis + rank : axis) !== geometry.classAxis) return { logits: output, geometry };
  }
  return { logits: n.input![0]!, geometry };
}
