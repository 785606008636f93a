/** The eval graph of the artifacts: the forward graph and the data loss, with the parameters (and BN buffers) as inputs. */
import { DataType, type ModelProto } from '../onnx/proto.js';
import { GraphBuilder, valueInfo } from '../onnx/builder.js';
import { bufferInputs } from './buffers.js';
import { copyForward, labelsInput, paramInputs } from './graph-inputs.js';
import { emitLoss, type LossKind } from './loss.js';
import type { PreparedModel } from './prepare.js';

/** Eval graph: forward + loss head with parameters as inputs. Outputs ce (or `lossName`), correct, logits. */
export async function buildEvalGraph(prepared: PreparedModel, loss: LossKind, lossName = 'ce'): Promise<ModelProto> {
  const b = new GraphBuilder();
  copyForward(b, prepared);
  const labels = labelsInput(b, prepared);
  paramInputs(b, prepared.params);
  bufferInputs(b, prepared.buffers);
  const head = emitLoss(b, loss, prepared.logits, labels, prepared.loss, DataType.FLOAT);
  b.add('Identity', [head.loss], {}, { outputs: [lossName] });
  b.add('Identity', [head.correct], {}, { outputs: ['correct'] });
  b.outputs.push(valueInfo(lossName, DataType.FLOAT, []), valueInfo('correct', DataType.FLOAT, []), valueInfo(prepared.logits, DataType.FLOAT, prepared.loss.logitDims));
  return b.toModel('fedman_eval');
}
