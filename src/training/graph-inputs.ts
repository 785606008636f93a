/**
 * The start every training-side graph shares (train step, eval graph, ORT's training model, the HVP graph): the
 * forward graph copied into a builder, with the labels and the parameters as graph inputs.
 */
import { DataType } from '../onnx/proto.js';
import type { Dim, GraphBuilder } from '../onnx/builder.js';
import type { ParamInfo, PreparedModel } from './prepare.js';

/** The labels input the loss reads (class indices [batch] for a classifier; see losses/). */
export function labelsInput(b: GraphBuilder, prepared: Pick<PreparedModel, 'loss'>): string {
  return b.input('labels', prepared.loss.target.dtype, prepared.loss.target.dims);
}

/** Copies the forward graph into a builder with parameters as graph inputs and constants as initializers. */
export function copyForward(b: GraphBuilder, prepared: PreparedModel): { batch: Dim } {
  const names = new Set<string>();
  for (const n of prepared.nodes) {
    names.add(n.name!);
    for (const x of [...(n.input ?? []), ...(n.output ?? [])]) if (x) names.add(x);
  }
  b.reserve(names);
  b.reserve(prepared.params.map((p) => p.name));
  const batch = prepared.input.dims[0] ?? 'N';
  b.input(prepared.input.name, prepared.input.dtype, prepared.input.dims);
  for (const c of prepared.constants) b.initializer(c);
  for (const n of prepared.nodes) b.nodes.push(n);
  return { batch };
}

export function paramInputs(b: GraphBuilder, params: readonly ParamInfo[]): void {
  for (const p of params) b.input(p.name, DataType.FLOAT, p.dims);
}
