/**
 * WebGPU lowerings of integer and shape arithmetic: variadic Sum (not registered by the EP), Size, Cast and
 * comparisons of integer tensors (carried as floats, see context.ts), and shape inputs that depend on the batch
 * size (replaced by constants from the probed output shapes, so no int64 shape subgraph is left to run).
 */
import { DataType, type NodeProto } from '../proto.js';
import { attrInt } from '../attrs.js';
import { tensorToFloat32 } from '../tensor.js';
import { isIntType, type LowerContext } from './context.js';
import type { Rule } from './rules-loss.js';

const sum: Rule = (ctx, n) => {
  const out = n.output![0]!;
  if (isIntType(ctx.dtype(out))) return false;
  const ins = (n.input ?? []).filter(Boolean).map((x) => ctx.value(x));
  if (ins.length === 1) ctx.op('Identity', ins, {}, out);
  else ins.slice(1).reduce((acc, x, i) => ctx.op('Add', [acc, x], {}, i === ins.length - 2 ? out : undefined), ins[0]!);
  return true;
};

const size: Rule = (ctx, n) => {
  const t = n.input![0]!;
  const dims = ctx.info(t)?.dims;
  if (!dims) return false;
  const out = n.output![0]!;
  const fixed = dims.reduce<number>((p, d) => (typeof d === 'number' ? p * d : p), 1);
  const dynamic = dims.flatMap((d, k) => (typeof d === 'number' ? [] : [k]));
  if (dynamic.length === 0) {
    ctx.setValues(out, [fixed]);
    return true;
  }
  let n64: string;
  if (ctx.opset < 15) {
    n64 = ctx.reduce('ReduceSum', ctx.op('Expand', [ctx.b.constF(1), ctx.op('Shape', [ctx.anyForm(t)])]), null, 0);
  } else {
    n64 = dynamic.map((k) => ctx.dimAsFloat(t, k)).reduce((a, b) => ctx.op('Mul', [a, b]));
    if (fixed !== 1) n64 = ctx.op('Mul', [n64, ctx.b.constF(fixed)]);
  }
  ctx.setFloat(out, n64);
  return true;
};

// Shape reads only the shape: any form of the input serves (no conversion of int32 labels back to int64).
const shape: Rule = (ctx, n) => {
  ctx.copy(n, [ctx.anyForm(n.input![0]!)]);
  return true;
};

const cast: Rule = (ctx, n) => {
  const x = n.input![0]!;
  const out = n.output![0]!;
  const to = attrInt(n, 'to', 0);
  if (!isIntType(ctx.dtype(x))) return false;
  const known = ctx.values(x);
  if (known && isIntType(to)) {
    ctx.setValues(out, known);
    return true;
  }
  if (!ctx.hasFloat(x)) return false;
  if (to === DataType.FLOAT) ctx.setSame(out, ctx.float(x));
  else if (isIntType(to)) ctx.setFloat(out, ctx.float(x));
  else if (to === DataType.BOOL) ctx.op('Cast', [ctx.float(x)], { to }, out);
  else return false;
  return true;
};

const compare: Rule = (ctx, n) => {
  const [a, b] = n.input as string[];
  if (!isIntType(ctx.dtype(a!)) && !isIntType(ctx.dtype(b!))) return false;
  if (![a!, b!].every((x) => !isIntType(ctx.dtype(x)) || ctx.hasFloat(x))) return false;
  ctx.op(n.opType!, [ctx.float(a!), ctx.float(b!)], {}, n.output![0]!);
  return true;
};

/** Re-emits `n` on the float forms of its integer inputs at `dataInputs`; its output gets a float form. */
function onFloats(ctx: LowerContext, n: NodeProto, dataInputs: number[]): boolean {
  const out = n.output![0]!;
  if (!isIntType(ctx.dtype(out)) || (n.output?.length ?? 1) !== 1) return false;
  const data = dataInputs.map((i) => n.input![i]!).filter(Boolean);
  if (!data.every((x) => isIntType(ctx.dtype(x)) && ctx.hasFloat(x)) || !data.some((x) => ctx.replaced(x))) return false;
  const o = ctx.b.fresh(out);
  ctx.b.nodes.push({ ...n, name: ctx.b.fresh(n.name || n.opType!), input: (n.input ?? []).map((x, i) => (dataInputs.includes(i) ? ctx.float(x) : ctx.value(x))), output: [o] });
  ctx.setFloat(out, o);
  return true;
}

const allInputs = (n: NodeProto) => (n.input ?? []).map((_, i) => i);
const firstInput: Rule = (ctx, n) => onFloats(ctx, n, [0]);
const everyInput: Rule = (ctx, n) => onFloats(ctx, n, allInputs(n));
const where: Rule = (ctx, n) => onFloats(ctx, n, [1, 2]);

const reshape: Rule = (ctx, n) => {
  if (firstInput(ctx, n)) return true;
  const [data, target] = n.input as string[];
  if (ctx.values(target!)) return false;
  const dims = ctx.info(n.output![0]!)?.dims;
  if (!dims || dims.filter((d) => typeof d !== 'number').length > 1 || dims.includes(0)) return false;
  ctx.copy(n, [ctx.value(data!), ctx.b.constI64(dims.map((d) => (typeof d === 'number' ? d : -1)))]);
  return true;
};

// Expand to a batch-dependent shape: 1 where the input already has that (symbolic) extent (it expands the same),
// and the other symbolic extents added in as broadcast zeros.
const expand: Rule = (ctx, n) => {
  if (firstInput(ctx, n)) return true;
  const [data, target] = n.input as string[];
  if (ctx.values(target!)) return false;
  const out = ctx.info(n.output![0]!)?.dims;
  const xin = ctx.info(data!)?.dims;
  if (!out || !xin || ctx.dtype(data!) !== DataType.FLOAT) return false;
  const lead = out.length - xin.length;
  const has = (k: number) => k >= lead && xin[k - lead] === out[k];
  const fixed = ctx.op('Expand', [ctx.value(data!), ctx.b.constI64(out.map((d) => (typeof d === 'number' ? d : 1)))]);
  const r = ctx.broadcastTo(fixed, out.map((d, k) => (typeof d === 'number' || has(k) ? 1 : d)));
  if (!r) return false;
  ctx.op('Identity', [r], {}, n.output![0]!);
  return true;
};

// ConstantOfShape of a batch-dependent shape: the value, broadcast to the probed output dims.
const constantOfShape: Rule = (ctx, n) => {
  if (ctx.values(n.input![0]!)) return false;
  const out = ctx.info(n.output![0]!)?.dims;
  const value = n.attribute?.find((a) => a.name === 'value')?.t;
  if (!out || (value && value.dataType !== DataType.FLOAT)) return false;
  const v = value ? tensorToFloat32(value)[0]! : 0;
  const fixed = ctx.op('Expand', [ctx.b.constF(v), ctx.b.constI64(out.map((d) => (typeof d === 'number' ? d : 1)))]);
  const r = ctx.broadcastTo(fixed, out);
  if (!r) return false;
  ctx.op('Identity', [r], {}, n.output![0]!);
  return true;
};

export const INDEX_RULES: Record<string, Rule> = {
  Sum: sum, Size: size, Shape: shape, Cast: cast,
  Equal: compare, Less: compare, LessOrEqual: compare, Greater: compare, GreaterOrEqual: compare,
  Add: everyInput, Sub: everyInput, Mul: everyInput, Neg: everyInput, Abs: everyInput, Max: everyInput, Min: everyInput,
  Concat: everyInput, Where: where,
  Identity: firstInput, Unsqueeze: firstInput, Squeeze: firstInput, Flatten: firstInput, Transpose: firstInput,
  Slice: firstInput, Gather: firstInput, Tile: firstInput,
  Reshape: reshape, Expand: expand, ConstantOfShape: constantOfShape,
};
