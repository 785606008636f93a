/** Helpers the adapters share: attributes that became inputs, and constants of a tensor's own element type. */
import { DataType, dtypeName, type NodeProto } from '../proto.js';
import { attrInts, copyAttrs } from '../attrs.js';
import type { UpgradeContext } from './types.js';

/**
 * An int attribute list as plain numbers, with int64's extremes (Slice's "to the end" INT64_MAX, INT64_MIN) clamped
 * to ±(2^53 − 1): every op that reads such values clamps them to the tensor's extent anyway, and JavaScript numbers
 * hold no more.
 */
export function intsAttr(node: NodeProto, name: string): number[] | undefined {
  return attrInts(node, name, undefined)?.map((v) => Math.max(-Number.MAX_SAFE_INTEGER, Math.min(Number.MAX_SAFE_INTEGER, v)));
}

/** The node with the int-list attribute `name` moved to an int64 input at position `at` (inputs before it kept). */
export function attrToInput(ctx: UpgradeContext, name: string, at: number): NodeProto {
  const { node } = ctx;
  const values = intsAttr(node, name);
  const input = [...(node.input ?? [])];
  if (values !== undefined) {
    while (input.length < at) input.push('');
    input[at] = ctx.constI64(values);
  }
  return { ...node, input, attribute: copyAttrs(node, [name]) };
}

/** A scalar constant of `tensor`'s float element type (the adapters' inputs that were float attributes). */
export async function scalarLike(ctx: UpgradeContext, tensor: string, value: number, what: string): Promise<string> {
  const dtype = await ctx.dtype(tensor);
  if (dtype === undefined) {
    const why = await ctx.typeProblem();
    ctx.fail(`${what} must be written in the element type of '${tensor}', which is unknown${why ? ` (ONNX Runtime cannot load the model: ${why})` : ''}`);
  }
  if (dtype !== DataType.FLOAT && dtype !== DataType.DOUBLE) ctx.fail(`${what} would be a ${dtypeName(dtype!)} constant; fedman writes float32 and float64 ones only`);
  return ctx.constF([value], [], dtype!);
}
