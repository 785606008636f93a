/**
 * Softmax cross-entropy over a class axis, mean over every prediction: [N, C] logits with [N] labels (the
 * classifier head, unchanged), [N, C, d1, …] with [N, d1, …] (per-pixel: segmentation maps), or any axis of any
 * rank, e.g. [N, T, C] with class axis 2 and [N, T] labels (per-position: sequences), as torch's F.cross_entropy
 * with spatial targets. Other shapes move the class axis last and flatten to [N·…, C] so that one
 * SoftmaxCrossEntropyLoss (and its gradient) serves all. A final Softmax or LogSoftmax over the class axis is
 * trained through (the loss applies it).
 */
import { DataType } from '../../onnx/proto.js';
import type { Dim } from '../../onnx/builder.js';
import { FedmanError } from '../../util/errors.js';
import type { LossDef } from './types.js';
import { batchAxis, countTrue, moveAxis, normaliseAxis } from './common.js';

export const crossEntropy: LossDef = {
  strips: ['Softmax', 'LogSoftmax'],
  geometry(logitDims, opts, where) {
    const rank = logitDims.length;
    if (rank < 2) throw new FedmanError(`${where}: cross-entropy needs an output with a class axis; it is ${JSON.stringify(logitDims)}`);
    const classAxis = normaliseAxis(opts.classAxis ?? 1, rank, 'the class axis', where);
    const batch = batchAxis(logitDims, 'the output', where);
    const classes = logitDims[classAxis];
    if (classAxis === batch || typeof classes !== 'number') throw new FedmanError(`${where}: the class axis ${classAxis} of the output ${JSON.stringify(logitDims)} is its batch; pass the axis holding the classes (--class-axis)`);
    const dims: Dim[] = logitDims.filter((_, i) => i !== classAxis);
    const perSample = dims.reduce<number>((p, d) => (typeof d === 'number' ? p * d : p), 1);
    return { logitDims: [...logitDims], classAxis, target: { dtype: DataType.INT64, dims, perSample, numClasses: classes } };
  },
  emit(b, logits, labels, g, floatType) {
    const rank = g.logitDims.length;
    let loss: string;
    if (rank === 2 && g.classAxis === 1) {
      [loss] = b.add('SoftmaxCrossEntropyLoss', [logits, labels], { reduction: 'mean' }, { outputs: 2 }) as [string];
    } else {
      const last = moveAxis(b, logits, rank, g.classAxis, rank - 1);
      const flat = b.op('Reshape', [last, b.constI64([-1, g.target.numClasses])]);
      [loss] = b.add('SoftmaxCrossEntropyLoss', [flat, b.op('Reshape', [labels, b.constI64([-1])])], { reduction: 'mean' }, { outputs: 2 }) as [string];
    }
    const pred = b.op('ArgMax', [logits], { axis: g.classAxis, keepdims: 0 });
    return { loss, correct: countTrue(b, b.op('Equal', [pred, labels]), floatType) };
  },
};
