/**
 * Binary cross-entropy on logits, mean over every score, as torch's F.binary_cross_entropy_with_logits: a single
 * sigmoid score ([N, 1] or [N] output) or multi-label scores ([N, K], any rank), against float targets in [0, 1]
 * of the output's shape. softplus(z) − z·y is the stable form (its gradient is sigmoid(z) − y). A final Sigmoid
 * is trained through. `correct` counts scores on the right side of 0.5.
 */
import type { LossDef } from './types.js';
import { countTrue, sameShapeTarget } from './common.js';

export const bce: LossDef = {
  strips: ['Sigmoid'],
  geometry(logitDims, _opts, where) {
    return { logitDims: [...logitDims], classAxis: -1, target: sameShapeTarget(logitDims, -1, where, 'the output of a binary cross-entropy head') };
  },
  emit(b, logits, labels, _g, floatType) {
    const each = b.op('Sub', [b.op('Softplus', [logits]), b.op('Mul', [logits, labels])]);
    const loss = b.op('ReduceMean', [each], { keepdims: 0 });
    const right = b.op('Equal', [b.op('Greater', [logits, b.constF(0, [], floatType)]), b.op('Greater', [labels, b.constF(0.5, [], floatType)])]);
    return { loss, correct: countTrue(b, right, floatType) };
  },
};
