/**
 * BatchNormalization in training mode (batch statistics), which the WebGPU EP places but refuses at run time
 * ("trainingMode is not supported yet"): rebuilt from reductions over the batch and spatial axes.
 */
import { attrFloat, attrInt } from '../attrs.js';
import type { Rule } from './rules-loss.js';

const batchNormTraining: Rule = (ctx, n) => {
  if (attrInt(n, 'training_mode', 0) !== 1) return false;
  const [x, scale, bias, inputMean, inputVar] = n.input as string[];
  const rank = ctx.info(x!)?.dims.length;
  if (rank === undefined || rank < 2) return false;
  const eps = attrFloat(n, 'epsilon', 1e-5);
  const momentum = attrFloat(n, 'momentum', 0.9);
  const axes = [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)];
  const xv = ctx.value(x!);
  const mean = ctx.reduce('ReduceMean', xv, axes, 1);
  const xc = ctx.op('Sub', [xv, mean]);
  const variance = ctx.reduce('ReduceMean', ctx.op('Mul', [xc, xc]), axes, 1);
  const inv = ctx.op('Reciprocal', [ctx.op('Sqrt', [ctx.op('Add', [variance, ctx.b.constF(eps)])])]);
  const perChannel = (v: string) => ctx.op('Reshape', [ctx.value(v), ctx.b.constI64([1, -1, ...Array<number>(rank - 2).fill(1)])]);
  const [y, runMean, runVar] = n.output as string[];
  ctx.op('Add', [ctx.op('Mul', [ctx.op('Mul', [xc, inv]), perChannel(scale!)]), perChannel(bias!)], {}, y);
  // Outputs 1 and 2 as ONNX defines them: input · momentum + batch statistic · (1 − momentum).
  const ema = (input: string, stat: string, out: string) => ctx.op('Add', [
    ctx.op('Mul', [ctx.value(input), ctx.b.constF(momentum)]),
    ctx.op('Mul', [ctx.op('Reshape', [stat, ctx.b.constI64([-1])]), ctx.b.constF(1 - momentum)]),
  ], {}, out);
  if (runMean) ema(inputMean!, mean, runMean);
  if (runVar) ema(inputVar!, variance, runVar);
  return true;
};

export const NORM_RULES: Record<string, Rule> = { BatchNormalization: batchNormTraining };
