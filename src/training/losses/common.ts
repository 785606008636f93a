/** Pieces the loss heads share. */
import { DataType } from '../../onnx/proto.js';
import type { Dim, GraphBuilder } from '../../onnx/builder.js';
import { FedmanError } from '../../util/errors.js';

/** The batch axis of an output: its symbolic dim (fedman's trainers feed batches of any size). */
export function batchAxis(dims: readonly Dim[], what: string, where: string): number {
  const axes = dims.flatMap((d, i) => (typeof d === 'string' ? [i] : []));
  if (axes.length !== 1) throw new FedmanError(`${where}: ${what} ${JSON.stringify(dims)} must have exactly one symbolic (batch) dim and static others`);
  return axes[0]!;
}

export function normaliseAxis(axis: number, rank: number, what: string, where: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new FedmanError(`${where}: ${what} ${axis} is outside the output's ${rank} axes`);
  return a;
}

/** Moves axis `from` of a rank-`rank` tensor to position `to` (no node when it is there already). */
export function moveAxis(b: GraphBuilder, t: string, rank: number, from: number, to: number): string {
  if (from === to) return t;
  const perm = Array.from({ length: rank }, (_, i) => i).filter((i) => i !== from);
  perm.splice(to, 0, from);
  return b.op('Transpose', [t], { perm });
}

/** The count of true values of a bool tensor, as a float scalar. */
export function countTrue(b: GraphBuilder, mask: string, floatType: number): string {
  return b.op('ReduceSum', [b.op('Cast', [mask], { to: floatType })], { keepdims: 0 });
}

/** Labels of the output's own shape: FLOAT targets (BCE, L1, L2). */
export function sameShapeTarget(dims: readonly Dim[], perSample: number, where: string, what: string): { dtype: number; dims: Dim[]; perSample: number; numClasses: number } {
  const batch = batchAxis(dims, what, where);
  if (batch !== 0) throw new FedmanError(`${where}: ${what} ${JSON.stringify(dims)} must have the batch first`);
  const size = dims.slice(1).reduce<number>((p, d) => p * (d as number), 1);
  return { dtype: DataType.FLOAT, dims: [...dims], perSample: perSample < 0 ? size : perSample, numClasses: size };
}
