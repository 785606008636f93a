/** Reading a tensor through the Identity nodes that forward it, as exporters write them. */
import type { NodeProto } from './proto.js';

/**
 * The tensor `start` forwards from, following Identity nodes back (`producer`: each tensor's node). A cyclic chain
 * (a malformed graph, which ONNX Runtime refuses later with its own error) stops where it comes back.
 */
export function throughIdentity(start: string, producer: ReadonlyMap<string, NodeProto>): { tensor: string; node: NodeProto | undefined } {
  const seen = new Set<string>();
  let tensor = start;
  let node = producer.get(tensor);
  while (node?.opType === 'Identity' && node.input?.[0] && !seen.has(tensor)) {
    seen.add(tensor);
    tensor = node.input[0];
    node = producer.get(tensor);
  }
  return { tensor, node };
}
