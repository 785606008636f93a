/**
 * Connectionist temporal classification (sequence recognisers: OCR, speech), as torch's F.ctc_loss with blank 0,
 * every input of full length T and reduction 'mean' (each sample's −log p(target) divided by its target length,
 * then the batch mean). The output is [N, T, C] or [T, N, C] (the symbolic dim is the batch; the class axis is
 * the last unless given); a final Softmax or LogSoftmax over the classes is trained through. Labels are [N, T]
 * int64: each sample's target sequence (classes 1…C−1), padded with blanks (0) to T.
 *
 * The loss is the exact forward recursion in log space, unrolled over the T steps (standard ops only, so
 * fedman's autodiff differentiates it): with the blank-extended target l' (length 2T+1) and emissions
 * e_t(s) = log p_t(l'_s),  α_0 = e_0 on s ∈ {0, 1},  α_t(s) = lse(α_{t−1}(s), α_{t−1}(s−1), α_{t−1}(s−2)·[l'_s ≠ blank,
 * l'_s ≠ l'_{s−2}]) + e_t(s), and log p = lse(α_{T−1}(2L), α_{T−1}(2L−1)). Impossible states hold −1e30 instead of
 * −∞ so that no step produces NaN.
 */
import { DataType } from '../../onnx/proto.js';
import type { Dim, GraphBuilder } from '../../onnx/builder.js';
import { FedmanError } from '../../util/errors.js';
import type { LossDef } from './types.js';
import { batchAxis, normaliseAxis } from './common.js';

const NEG = -1e30;

/** log(Σ exp(xs)) of same-shape tensors, shifted by their elementwise max. */
function logSumExp(b: GraphBuilder, xs: string[]): string {
  const m = b.op('Max', xs);
  const sum = xs.map((x) => b.op('Exp', [b.op('Sub', [x, m])])).reduce((acc, e) => b.op('Add', [acc, e]));
  return b.op('Add', [b.op('Log', [sum]), m]);
}

/** alpha shifted right by k positions along axis 1, the new cells impossible. */
function shift(b: GraphBuilder, alpha: string, k: number, width: number, floatType: number): string {
  const padded = b.op('Pad', [alpha, b.constI64([0, k, 0, 0]), b.constF(NEG, [], floatType)]);
  return b.op('Slice', [padded, b.constI64([0]), b.constI64([width]), b.constI64([1])]);
}

export const ctc: LossDef = {
  strips: ['Softmax', 'LogSoftmax'],
  geometry(logitDims, opts, where) {
    if (logitDims.length !== 3) throw new FedmanError(`${where}: ctc needs a [N, T, C] or [T, N, C] output; it is ${JSON.stringify(logitDims)}`);
    const batch = batchAxis(logitDims, 'the output of a ctc head', where);
    const classAxis = normaliseAxis(opts.classAxis ?? -1, 3, 'the class axis', where);
    if (classAxis === batch) throw new FedmanError(`${where}: the class axis ${classAxis} of ${JSON.stringify(logitDims)} is the batch`);
    const T = logitDims[3 - batch - classAxis] as number;
    const dims: Dim[] = [logitDims[batch]!, T];
    return { logitDims: [...logitDims], classAxis, target: { dtype: DataType.INT64, dims, perSample: 0, numClasses: logitDims[classAxis] as number } };
  },
  emit(b, logits, labels, g, floatType) {
    const batch = g.logitDims.findIndex((d) => typeof d === 'string');
    const time = 3 - batch - g.classAxis;
    const T = g.logitDims[time] as number;
    const width = 2 * T + 1;
    const lp = b.op('Transpose', [b.op('LogSoftmax', [logits], { axis: g.classAxis })], { perm: [batch, time, g.classAxis] });
    // l' = [0, l1, 0, l2, …, lT, 0]: pairs (blank, label), then a final blank.
    const zeros = b.op('Mul', [labels, b.constI64([0], [])]);
    const pairs = b.op('Concat', [b.op('Unsqueeze', [zeros, b.constI64([2])]), b.op('Unsqueeze', [labels, b.constI64([2])])], { axis: 2 });
    const ext = b.op('Concat', [b.op('Reshape', [pairs, b.constI64([0, 2 * T])]), b.op('Slice', [zeros, b.constI64([0]), b.constI64([1]), b.constI64([1])])], { axis: 1 });
    const index = b.op('Expand', [b.op('Unsqueeze', [ext, b.constI64([1])]), b.constI64([1, T, width])]);
    const emissions = b.op('GatherElements', [lp, index], { axis: 2 });
    const before2 = b.op('Slice', [b.op('Pad', [ext, b.constI64([0, 2, 0, 0]), b.constI64([-1], [])]), b.constI64([0]), b.constI64([width]), b.constI64([1])]);
    const skipOk = b.op('And', [b.op('Not', [b.op('Equal', [ext, before2])]), b.op('Not', [b.op('Equal', [ext, b.constI64([0], [])])])]);
    const skipAdd = b.op('Where', [skipOk, b.constF(0, [], floatType), b.constF(NEG, [], floatType)]);
    const step = (t: number) => b.op('Gather', [emissions, b.constI64([t], [])], { axis: 1 });
    const start = Array.from({ length: width }, (_, s) => (s < 2 ? 0 : NEG));
    let alpha = b.op('Add', [step(0), b.constF(start, [width], floatType)]);
    for (let t = 1; t < T; t++) {
      const skip = b.op('Add', [shift(b, alpha, 2, width, floatType), skipAdd]);
      alpha = b.op('Add', [logSumExp(b, [alpha, shift(b, alpha, 1, width, floatType), skip]), step(t)]);
    }
    // Target lengths: the labels before the padding blanks.
    const len = b.op('ReduceSum', [b.op('Cast', [b.op('Greater', [labels, b.constI64([0], [])])], { to: DataType.INT64 }), b.constI64([1])], { keepdims: 1 });
    const end = b.op('Mul', [len, b.constI64([2], [])]);
    const last = b.op('GatherElements', [alpha, end], { axis: 1 });
    const prev = b.op('GatherElements', [alpha, b.op('Max', [b.op('Sub', [end, b.constI64([1], [])]), b.constI64([0], [])])], { axis: 1 });
    const prevOk = b.op('Add', [prev, b.op('Where', [b.op('Greater', [len, b.constI64([0], [])]), b.constF(0, [], floatType), b.constF(NEG, [], floatType)])]);
    const logp = logSumExp(b, [last, prevOk]);
    const perSample = b.op('Div', [b.op('Neg', [logp]), b.op('Cast', [b.op('Max', [len, b.constI64([1], [])])], { to: floatType })]);
    return { loss: b.op('ReduceMean', [perSample], { keepdims: 0 }), correct: b.constF(0, [], floatType) };
  },
};
