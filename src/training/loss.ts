/**
 * The loss head appended to the forward graph (one file per loss in losses/): cross-entropy over a class axis,
 * MSE against one-hot labels, binary cross-entropy, L2/L1 against target tensors, CTC.
 */
import type { GraphBuilder } from '../onnx/builder.js';
import { lossDef, type LossGeometry, type LossHead, type LossKind } from './losses/index.js';

export { LOSS_KINDS, parseLoss, lossDef, type LossKind, type LossGeometry, type LossHead, type LossOptions, type LossTarget } from './losses/index.js';

export function emitLoss(b: GraphBuilder, kind: LossKind, logits: string, labels: string, geometry: LossGeometry, floatType: number): LossHead {
  return lossDef(kind).emit(b, logits, labels, geometry, floatType);
}
