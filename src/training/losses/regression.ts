/**
 * Regression against float target tensors of the output's shape, mean over every value: l2 (F.mse_loss) and l1
 * (F.l1_loss; its gradient at a zero residual is 0, as torch's). No accuracy (`correct` is 0).
 */
import type { GraphBuilder } from '../../onnx/builder.js';
import type { LossDef } from './types.js';
import { sameShapeTarget } from './common.js';

function regression(residual: (b: GraphBuilder, d: string) => string): LossDef {
  return {
    strips: [],
    geometry(logitDims, _opts, where) {
      return { logitDims: [...logitDims], classAxis: -1, target: { ...sameShapeTarget(logitDims, 0, where, 'the output of a regression head') } };
    },
    emit(b, logits, labels, _g, floatType) {
      const loss = b.op('ReduceMean', [residual(b, b.op('Sub', [logits, labels]))], { keepdims: 0 });
      return { loss, correct: b.constF(0, [], floatType) };
    },
  };
}

export const l2 = regression((b, d) => b.op('Mul', [d, d]));
export const l1 = regression((b, d) => b.op('Abs', [d]));
