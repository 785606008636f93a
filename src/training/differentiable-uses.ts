/** Which tensors gradients can flow into: inputs of differentiable ops, outside the inputs their rules exclude. */
import type { NodeProto } from '../onnx/proto.js';
import { getGradient, NON_DIFFERENTIABLE_OPS } from '../autodiff/registry.js';
import '../autodiff/gradients/index.js';

export function differentiableUses(nodes: readonly NodeProto[]): Set<string> {
  const used = new Set<string>();
  for (const n of nodes) {
    if (NON_DIFFERENTIABLE_OPS.has(n.opType!)) continue;
    const nd = getGradient(n.opType!)?.nonDifferentiableInputs ?? [];
    (n.input ?? []).forEach((x, i) => { if (x && !nd.includes(i)) used.add(x); });
  }
  return used;
}
