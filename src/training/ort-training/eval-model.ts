/**
 * eval_model.onnx for ORT's training Module: the forward graph and the data loss with the same parameter inputs
 * as the training model (no gradient buffers, no MAN term, no hyperparameter inputs). User inputs: data, labels.
 * Outputs: `loss` (cross-entropy or MSE, without MAN), `correct` (samples whose argmax equals the label) and the
 * logits, in that order — the first two names and positions match the training model's outputs (see
 * training-model.ts for why).
 */
import type { ModelProto } from '../../onnx/proto.js';
import { buildEvalGraph } from '../eval-graph.js';
import type { LossKind } from '../loss.js';
import type { PreparedModel } from '../prepare.js';

export async function buildEvalModel(prepared: PreparedModel, loss: LossKind): Promise<{ model: ModelProto; inputs: string[]; outputs: string[] }> {
  const model = await buildEvalGraph(prepared, loss, 'loss');
  model.graph!.name = 'fedman_ort_eval';
  const graphInputs = (model.graph!.input ?? []).map((i) => i.name!);
  const params = new Set(prepared.params.map((p) => p.name));
  return { model, inputs: graphInputs.filter((n) => !params.has(n)), outputs: (model.graph!.output ?? []).map((o) => o.name!) };
}
