/**
 * WebGPU lowerings of the classification ops the EP does not register (LogSoftmax, OneHot,
 * SoftmaxCrossEntropyLoss, whose ONNX function body ORT expands into LogSoftmax + int64 Gather) and of ArgMax /
 * ArgMin, whose int64 result the EP cannot convert or compare. Each is rebuilt from float ops the EP has:
 * reductions, Exp/Log, Equal against a constant index ramp, Where.
 */
import { DataType, type NodeProto } from '../proto.js';
import { attrInt, attrString, hasAttr } from '../attrs.js';
import { tensorToFloat32 } from '../tensor.js';
import type { LowerContext } from './context.js';

export type Rule = (ctx: LowerContext, n: NodeProto) => boolean;

const normAxis = (axis: number, rank: number) => (axis < 0 ? axis + rank : axis);

/** log-softmax over one axis, max-shifted: (x − m) − log Σ exp(x − m). */
function emitLogSoftmax(ctx: LowerContext, x: string, axis: number, output?: string): string {
  const m = ctx.reduce('ReduceMax', x, [axis], 1);
  const z = ctx.op('Sub', [x, m]);
  const lse = ctx.op('Log', [ctx.reduce('ReduceSum', ctx.op('Exp', [z]), [axis], 1)]);
  return ctx.op('Sub', [z, lse], {}, output);
}

/** Float ramp 0..n−1 laid along `axis` of a rank-`rank` tensor (trailing dims of size 1 so it broadcasts). */
function ramp(ctx: LowerContext, n: number, axis: number, rank: number): string {
  return ctx.b.constF(Array.from({ length: n }, (_, i) => i), [n, ...Array<number>(rank - axis - 1).fill(1)]);
}

/** Float one-hot of float indices `idx` (rank r) with `depth` classes inserted at `axis` of the result. */
function emitOneHot(ctx: LowerContext, idx: string, rank: number, depth: number, axis: number): string {
  const eq = ctx.op('Equal', [ctx.unsqueeze(idx, [axis]), ramp(ctx, depth, axis, rank + 1)]);
  return ctx.op('Cast', [eq], { to: DataType.FLOAT });
}

const logSoftmax: Rule = (ctx, n) => {
  if (ctx.opset < 13) return false;
  const x = n.input![0]!;
  const rank = ctx.info(x)?.dims.length;
  if (rank === undefined) return false;
  emitLogSoftmax(ctx, ctx.value(x), normAxis(attrInt(n, 'axis', -1), rank), n.output![0]!);
  return true;
};

const softmaxCrossEntropy: Rule = (ctx, n) => {
  const [scores, labels, weights] = n.input ?? [];
  if (weights || hasAttr(n, 'ignore_index') || !scores || !labels) return false;
  const dims = ctx.info(scores)?.dims;
  const classes = dims?.[1];
  if (!dims || typeof classes !== 'number') return false;
  const logp = emitLogSoftmax(ctx, ctx.value(scores), 1, n.output?.[1] || undefined);
  const onehot = emitOneHot(ctx, ctx.float(labels), dims.length - 1, classes, 1);
  const nll = ctx.op('Neg', [ctx.reduce('ReduceSum', ctx.op('Mul', [logp, onehot]), [1], 0)]);
  const reduction = attrString(n, 'reduction', 'mean');
  const out = n.output![0]!;
  if (reduction === 'none') ctx.op('Identity', [nll], {}, out);
  else ctx.reduce(reduction === 'sum' ? 'ReduceSum' : 'ReduceMean', nll, null, 0, out);
  return true;
};

const oneHot: Rule = (ctx, n) => {
  const [indices, depthT, valuesT] = n.input ?? [];
  const depth = ctx.values(depthT!);
  const rank = ctx.info(indices!)?.dims.length;
  if (!depth || depth.length !== 1 || rank === undefined) return false;
  const axis = normAxis(attrInt(n, 'axis', -1), rank + 1);
  const hot = emitOneHot(ctx, ctx.float(indices!), rank, depth[0]!, axis);
  const init = ctx.model.graph?.initializer?.find((t) => t.name === valuesT);
  const vals = init ? Array.from(tensorToFloat32(init)) : ctx.values(valuesT!);
  let out: string;
  if (vals && vals[0] === 0 && vals[1] === 1) out = hot;
  else {
    const v = ctx.float(valuesT!);
    const pick = (i: number) => ctx.op('Gather', [v, ctx.b.constI64([i], [])], { axis: 0 });
    out = ctx.op('Where', [ctx.op('Cast', [hot], { to: DataType.BOOL }), pick(1), pick(0)]);
  }
  const o = n.output![0]!;
  if (ctx.dtype(valuesT!) === DataType.FLOAT || !ctx.dtype(valuesT!)) ctx.op('Identity', [out], {}, o);
  else ctx.setFloat(o, out);
  return true;
};

/** Index of the first (ArgMax/ArgMin) or last (select_last_index) extreme value, as a float. */
const argExtreme: Rule = (ctx, n) => {
  const x = n.input![0]!;
  const dims = ctx.info(x)?.dims;
  if (!dims || ctx.dtype(x) !== DataType.FLOAT) return false;
  const axis = normAxis(attrInt(n, 'axis', 0), dims.length);
  const size = dims[axis];
  if (typeof size !== 'number') return false;
  const keep = attrInt(n, 'keepdims', 1);
  const last = attrInt(n, 'select_last_index', 0) === 1;
  const xv = ctx.value(x);
  const ext = ctx.reduce(n.opType === 'ArgMax' ? 'ReduceMax' : 'ReduceMin', xv, [axis], 1);
  const at = ctx.op('Equal', [xv, ext]);
  const masked = ctx.op('Where', [at, ramp(ctx, size, axis, dims.length), ctx.b.constF(last ? -1 : size)]);
  ctx.setFloat(n.output![0]!, ctx.reduce(last ? 'ReduceMax' : 'ReduceMin', masked, [axis], keep));
  return true;
};

export const LOSS_RULES: Record<string, Rule> = {
  LogSoftmax: logSoftmax,
  SoftmaxCrossEntropyLoss: softmaxCrossEntropy,
  OneHot: oneHot,
  ArgMax: argExtreme,
  ArgMin: argExtreme,
};
