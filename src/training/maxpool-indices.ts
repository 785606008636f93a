/**
 * Overlapping max pooling (kernel 3, stride 2: the stem of torchvision's ResNets and of most ImageNet CNNs) is
 * differentiated through the node's Indices output (src/autodiff/gradients/Pool_grad.ts). Exporters write that
 * output only when the model itself uses it, so the training graphs give every such MaxPool one: ORT then
 * computes the argmax positions in the same pass, with the tie rule torch uses (the first maximal element of a
 * window), which makes the gradient exact. The forward model keeps the node as exported (Indices cost time at
 * inference and nothing reads them there).
 */
import type { NodeProto } from '../onnx/proto.js';
import { attrInt } from '../onnx/attrs.js';
import { maxPoolNeedsIndices } from '../autodiff/gradients/Pool_grad.js';
import { FedmanError } from '../util/errors.js';

/** Copies of `nodes` where each overlapping MaxPool without an Indices output gets one (`<output>__indices`). */
export function withMaxPoolIndices(nodes: readonly NodeProto[], where: string): NodeProto[] {
  const taken = new Set<string>();
  for (const n of nodes) for (const x of [...(n.input ?? []), ...(n.output ?? [])]) if (x) taken.add(x);
  return nodes.map((n) => {
    if (n.opType !== 'MaxPool' || (n.domain && n.domain !== 'ai.onnx') || !maxPoolNeedsIndices(n) || (n.output ?? [])[1]) return n;
    if (attrInt(n, 'storage_order', 0) !== 0) {
      throw new FedmanError(`${where}: MaxPool '${n.name}' has overlapping windows and storage_order = 1 (column-major indices); fedman differentiates only storage_order 0`);
    }
    let name = `${n.output![0]}__indices`;
    for (let i = 1; taken.has(name); i++) name = `${n.output![0]}__indices_${i}`;
    taken.add(name);
    return { ...n, output: [n.output![0]!, name] };
  });
}
