/**
 * The state of one WebGPU lowering pass (lower.ts): a new graph being emitted, and for every tensor of the
 * original graph the forms its values are available in.
 *
 * ONNX Runtime's WebGPU EP computes in 32-bit types and registers few int64 kernels; int64 tensors (labels,
 * ArgMax results, Size, shape arithmetic) would drop their nodes onto the CPU EP, one GPU↔CPU copy each. So an
 * integer tensor of the original graph may be carried as a *float* tensor holding the same values (exact below
 * 2^24: class indices, counts, positions), as an int32 tensor (int64 graph inputs are declared int32), or as known
 * constant values. Rules ask for the form they can use; conversions towards int64 are emitted only as a last
 * resort (they are what the pass exists to avoid, so they show up in the placement check).
 */
import { DataType, type ModelProto, type NodeProto, type TensorProto } from '../proto.js';
import { GraphBuilder } from '../builder.js';
import { numel, tensorDims, tensorToInts } from '../tensor.js';
import type { ShapeMap, TensorInfo } from '../shape-probe.js';
import type { AttrValue } from '../attrs.js';

export const isIntType = (t: number | undefined): boolean => t === DataType.INT64 || t === DataType.INT32;

interface Forms {
  /** Known values (shape arithmetic folded away). */
  values?: number[];
  /** A float tensor with the same values. */
  float?: string;
  /** An int32 tensor with the same values. */
  int32?: string;
  /** The tensor in its own dtype under another name (a rule replaced its producer). */
  same?: string;
}

export class LowerContext {
  readonly b: GraphBuilder;
  readonly opset: number;
  private readonly forms = new Map<string, Forms>();
  private readonly dtypes = new Map<string, number>();
  private readonly dimCache = new Map<string, string>();
  /** Small integer initializers by name (axes, shapes, class counts). */
  private readonly initInts = new Map<string, number[]>();

  constructor(readonly model: ModelProto, readonly shapes: ShapeMap) {
    const g = model.graph!;
    this.opset = Number(model.opsetImport?.find((o) => !o.domain)?.version ?? 1);
    this.b = new GraphBuilder();
    const names: string[] = [];
    for (const n of g.node ?? []) names.push(n.name ?? '', ...(n.input ?? []), ...(n.output ?? []));
    for (const t of g.initializer ?? []) {
      names.push(t.name!);
      this.dtypes.set(t.name!, t.dataType ?? 0);
      if (isIntType(t.dataType ?? 0) && numel(tensorDims(t)) <= 64) this.initInts.set(t.name!, tensorToInts(t));
    }
    for (const v of [...(g.input ?? []), ...(g.output ?? [])]) {
      names.push(v.name!);
      const et = v.type?.tensorType?.elemType;
      if (et) this.dtypes.set(v.name!, et);
    }
    this.b.reserve(names);
  }

  info(t: string): TensorInfo | undefined {
    return this.shapes.get(t);
  }

  /** The element type of an original tensor (declared, probed, or unknown: 0). */
  dtype(t: string): number {
    return this.dtypes.get(t) ?? this.shapes.get(t)?.dtype ?? 0;
  }

  /** Static dims of an original tensor, or undefined when unknown or symbolic. */
  staticDims(t: string): number[] | undefined {
    const d = this.info(t)?.dims;
    return d && d.every((x): x is number => typeof x === 'number') ? d : undefined;
  }

  private form(t: string): Forms {
    let f = this.forms.get(t);
    if (!f) this.forms.set(t, (f = {}));
    return f;
  }

  setValues(t: string, values: number[]): void { this.form(t).values = values; }
  setFloat(t: string, name: string): void { this.form(t).float = name; }
  setInt32(t: string, name: string): void { this.form(t).int32 = name; }
  setSame(t: string, name: string): void { this.form(t).same = name; }

  /** Known values of an integer tensor: folded, or a small initializer. */
  values(t: string): number[] | undefined {
    return this.forms.get(t)?.values ?? this.initInts.get(t);
  }

  /** Whether the original tensor's own name no longer exists in the new graph (its producer was replaced). */
  replaced(t: string): boolean {
    const f = this.forms.get(t);
    return !!f && !f.same && (f.values !== undefined || f.float !== undefined || f.int32 !== undefined);
  }

  /** Whether an integer tensor can be had as float values without a conversion from int64. */
  hasFloat(t: string): boolean {
    const f = this.forms.get(t);
    return this.initInts.has(t) || (!!f && (f.float !== undefined || f.values !== undefined || f.int32 !== undefined));
  }

  /** A name for the tensor in its original dtype (emitting a conversion back when only another form exists). */
  value(t: string): string {
    if (!t) return t;
    const f = this.forms.get(t);
    if (!f) return t;
    if (f.same) return f.same;
    const dt = this.dtype(t) || DataType.INT64;
    if (f.values) return (f.same = this.constOfType(dt, f.values, this.constDims(t, f.values)));
    const from = f.int32 ?? f.float!;
    return (f.same = this.b.op('Cast', [from], { to: dt }));
  }

  /** A tensor with the same shape (any form: Shape and Size only look at the shape). */
  anyForm(t: string): string {
    const f = this.forms.get(t);
    if (!f || f.same) return this.value(t);
    return f.int32 ?? f.float ?? this.value(t);
  }

  /** The tensor's values as float32 (integer tensors converted; already-float tensors as they are). */
  float(t: string): string {
    if (!isIntType(this.dtype(t)) && !this.forms.get(t)) return t;
    const f = this.form(t);
    if (f.float) return f.float;
    const known = this.values(t);
    if (known) return (f.float = this.b.constF(known, this.constDims(t, known)));
    return (f.float = this.b.op('Cast', [f.int32 ?? this.value(t)], { to: DataType.FLOAT }));
  }

  private constDims(t: string, values: number[]): number[] {
    const d = this.staticDims(t);
    return d && d.reduce((a, b) => a * b, 1) === values.length ? d : values.length === 1 && (this.info(t)?.dims.length ?? 1) === 0 ? [] : [values.length];
  }

  initializer(t: TensorProto): string {
    return this.b.initializer(t);
  }

  /** Re-emits a node with its inputs mapped to their lowered names (outputs keep their names). */
  copy(n: NodeProto, inputs: (string | undefined)[] = (n.input ?? []).map((x) => (x ? this.value(x) : x))): void {
    this.b.nodes.push({ ...n, input: inputs.map((x) => x ?? '') });
  }

  op(op: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}, output?: string): string {
    return this.b.add(op, inputs, attrs, output ? { outputs: [output] } : {})[0]!;
  }

  /** A reduction over `axes` in the form this opset wants (axes as an input from opset 13 for ReduceSum, 18 for the rest). */
  reduce(op: string, x: string, axes: readonly number[] | null, keepdims: number, output?: string): string {
    const asInput = op === 'ReduceSum' ? this.opset >= 13 : this.opset >= 18;
    if (axes === null) return this.op(op, [x], { keepdims }, output);
    return asInput ? this.op(op, [x, this.b.constI64(axes)], { keepdims }, output) : this.op(op, [x], { axes: [...axes], keepdims }, output);
  }

  unsqueeze(x: string, axes: readonly number[]): string {
    return this.opset >= 13 ? this.op('Unsqueeze', [x, this.b.constI64(axes)]) : this.op('Unsqueeze', [x], { axes: [...axes] });
  }

  /**
   * Extent of axis `k` of a tensor as a float scalar, computed on the device from a shape. A symbolic extent is
   * read from a graph input that has it (the labels, for the batch): ONNX Runtime may move an inner 4-D tensor to
   * NHWC layout and would then permute its Shape with an int64 Gather on the CPU; graph inputs keep their layout.
   */
  dimAsFloat(t: string, k: number): string {
    const sym = this.info(t)?.dims[k];
    if (typeof sym === 'string') {
      const src = this.inputWithDim(sym);
      if (src && (src.name !== t || src.axis !== k)) return this.dimAsFloat(src.name, src.axis);
    }
    const key = `${t}|${k}`;
    const hit = this.dimCache.get(key);
    if (hit) return hit;
    // Shape with start/end (opset 15) yields the extent without int64 arithmetic; Expand of a float 1 to that
    // extent and a sum turn it into a float on the device.
    const shape = this.op('Shape', [this.anyForm(t)], { start: k, end: k + 1 });
    const d = this.reduce('ReduceSum', this.op('Expand', [this.b.constF(1), shape]), null, 0);
    this.dimCache.set(key, d);
    return d;
  }

  /**
   * A float tensor of zeros shaped [1, …, n, …, 1] (n = the symbolic extent `sym`, at `axis` of a rank-`rank`
   * tensor): added to a tensor, it broadcasts that extent in without any shape arithmetic. Made from the graph
   * input that has the extent (its values times 0: inputs are finite labels and data).
   */
  zerosAlong(sym: string, axis: number, rank: number): string | undefined {
    const src = this.inputWithDim(sym);
    if (!src) return undefined;
    const key = `zeros|${sym}|${axis}|${rank}`;
    const hit = this.dimCache.get(key);
    if (hit) return hit;
    let v = this.op('Mul', [this.float(src.name), this.b.constF(0)]);
    const others = Array.from({ length: src.rank }, (_, i) => i).filter((i) => i !== src.axis);
    if (others.length) v = this.reduce('ReduceSum', v, others, 0);
    const shape = Array.from({ length: rank }, (_, i) => (i === axis ? -1 : 1));
    const z = this.op('Reshape', [v, this.b.constI64(shape)]);
    this.dimCache.set(key, z);
    return z;
  }

  /** `x` broadcast to dims `dims` (static or symbolic): each symbolic extent added in as zeros (zerosAlong). */
  broadcastTo(x: string, dims: readonly (number | string)[]): string | undefined {
    let out = x;
    for (let k = 0; k < dims.length; k++) {
      const d = dims[k]!;
      if (typeof d === 'number') continue;
      const z = this.zerosAlong(d, k, dims.length);
      if (!z) return undefined;
      out = this.op('Add', [out, z]);
    }
    return out;
  }

  /** The lowest-rank graph input with symbolic dim `sym` and that dim's axis. */
  private inputWithDim(sym: string): { name: string; axis: number; rank: number } | undefined {
    const inits = new Set((this.model.graph?.initializer ?? []).map((t) => t.name!));
    let best: { name: string; axis: number; rank: number } | undefined;
    for (const vi of this.model.graph?.input ?? []) {
      if (inits.has(vi.name!)) continue;
      const dims = this.info(vi.name!)?.dims ?? [];
      const axis = dims.indexOf(sym);
      if (axis >= 0 && (!best || dims.length < best.rank)) best = { name: vi.name!, axis, rank: dims.length };
    }
    return best;
  }

  private constOfType(dt: number, values: readonly number[], dims: readonly number[]): string {
    if (dt === DataType.INT64) return this.b.constI64(values, dims);
    if (dt === DataType.INT32) return this.initializer({ name: this.b.fresh('c_i32'), dims: [...dims], dataType: DataType.INT32, int32Data: [...values] });
    return this.b.constF(values, dims, dt);
  }
}
