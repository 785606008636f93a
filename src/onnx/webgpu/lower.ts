/**
 * Lowers an ONNX model for ONNX Runtime's WebGPU execution provider, op by op, so that every node of it is placed
 * on the GPU: ops the EP does not register and int64 arithmetic it does not do are rewritten into float32 ops it
 * has (rules-loss.ts, rules-index.ts, rules-norm.ts; docs/webgpu.md lists them). Shape arithmetic whose values are fixed is
 * folded into constants. The result computes the same function; its int64 graph inputs (labels) are declared
 * int32, the only change to how it is fed.
 *
 * The CPU keeps the original graph: the rewritten formulations round differently, and a CPU run must stay bitwise
 * what it was. So this is a device-specific lowering, chosen when a WebGPU session is made.
 */
import { DataType, type ModelProto, type NodeProto, type ValueInfoProto } from '../proto.js';
import type { ShapeMap } from '../shape-probe.js';
import { isIntType, LowerContext } from './context.js';
import { LOSS_RULES, type Rule } from './rules-loss.js';
import { INDEX_RULES } from './rules-index.js';
import { NORM_RULES } from './rules-norm.js';

export interface LoweredModel {
  model: ModelProto;
  /** Graph inputs that were int64 and are now int32 (feed them as Int32Array). */
  int32Inputs: string[];
}

const RULES: Record<string, Rule> = { ...LOSS_RULES, ...INDEX_RULES, ...NORM_RULES };

/** Ops whose outputs never depend on tensor values, only on shapes (with constants, their results fold). */
const SHAPE_SOURCES = new Set(['Shape', 'Size', 'Constant']);

/** Folds a node computing fixed integers from shapes and constants (Shape → Gather → Concat → …). */
function fold(ctx: LowerContext, n: NodeProto, derived: Set<string>, graphOutputs: Set<string>): boolean {
  const ins = (n.input ?? []).filter(Boolean);
  const fromShapes = SHAPE_SOURCES.has(n.opType!) || (ins.length > 0 && ins.every((x) => derived.has(x) || ctx.values(x) !== undefined));
  if (!fromShapes) return false;
  const outs = (n.output ?? []).filter(Boolean);
  for (const o of outs) derived.add(o);
  if (outs.some((o) => graphOutputs.has(o))) return false;
  const values = outs.map((o) => { const i = ctx.info(o); return i && isIntType(i.dtype) ? i.constValue : undefined; });
  if (values.some((v) => !v)) return false;
  outs.forEach((o, i) => ctx.setValues(o, values[i]!));
  return true;
}

/** Keeps the nodes that graph outputs depend on (rewrites leave their old shape subgraphs behind). */
function liveNodes(nodes: NodeProto[], outputs: Iterable<string>): { nodes: NodeProto[]; used: Set<string> } {
  const used = new Set(outputs);
  const kept: NodeProto[] = [];
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i]!;
    if (!(n.output ?? []).some((o) => used.has(o))) continue;
    kept.push(n);
    for (const x of n.input ?? []) if (x) used.add(x);
  }
  return { nodes: kept.reverse(), used };
}

export function lowerForWebGpu(model: ModelProto, shapes: ShapeMap): LoweredModel {
  const g = model.graph!;
  const ctx = new LowerContext(model, shapes);
  const initNames = new Set((g.initializer ?? []).map((t) => t.name!));
  const int32Inputs: string[] = [];
  const inputs: ValueInfoProto[] = (g.input ?? []).map((vi) => {
    const tt = vi.type?.tensorType;
    if (initNames.has(vi.name!) || tt?.elemType !== DataType.INT64) return vi;
    int32Inputs.push(vi.name!);
    ctx.setInt32(vi.name!, vi.name!);
    return { ...vi, type: { ...vi.type, tensorType: { ...tt, elemType: DataType.INT32 } } };
  });
  const graphOutputs = new Set((g.output ?? []).map((o) => o.name!));
  const derived = new Set<string>();
  for (const n of g.node ?? []) {
    const standard = !n.domain || n.domain === 'ai.onnx';
    if (standard && fold(ctx, n, derived, graphOutputs)) continue;
    if (standard && RULES[n.opType!]?.(ctx, n)) continue;
    ctx.copy(n);
  }
  for (const o of graphOutputs) {
    const v = ctx.value(o);
    if (v !== o) ctx.op('Identity', [v], {}, o);
  }
  const { nodes, used } = liveNodes(ctx.b.nodes, graphOutputs);
  const initializer = [...(g.initializer ?? []), ...ctx.b.initializers].filter((t) => used.has(t.name!));
  return {
    model: { ...model, graph: { ...g, node: nodes, initializer, input: inputs, valueInfo: [] } },
    int32Inputs,
  };
}
