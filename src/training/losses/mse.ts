/** Mean squared error against one-hot class labels ([N, C] output, [N] labels): the paper code's alternative loss. */
import { DataType } from '../../onnx/proto.js';
import { FedmanError } from '../../util/errors.js';
import type { LossDef } from './types.js';
import { countTrue } from './common.js';

export const mseOneHot: LossDef = {
  strips: [],
  geometry(logitDims, _opts, where) {
    if (logitDims.length !== 2 || typeof logitDims[1] !== 'number') {
      throw new FedmanError(`${where}: --loss mse compares a [batch, classes] output with one-hot labels; it is ${JSON.stringify(logitDims)} (for target tensors use l2)`);
    }
    return { logitDims: [...logitDims], classAxis: 1, target: { dtype: DataType.INT64, dims: [logitDims[0]!], perSample: 1, numClasses: logitDims[1] } };
  },
  emit(b, logits, labels, g, floatType) {
    const onehot = b.op('OneHot', [labels, b.constI64([g.target.numClasses], []), b.constF([0, 1], [2], floatType)], { axis: -1 });
    const d = b.op('Sub', [logits, onehot]);
    const loss = b.op('ReduceMean', [b.op('Mul', [d, d])], { keepdims: 0 });
    const pred = b.op('ArgMax', [logits], { axis: 1, keepdims: 0 });
    return { loss, correct: countTrue(b, b.op('Equal', [pred, labels]), floatType) };
  },
};
