/**
 * Element types and ranks of a model's tensors, from ONNX Runtime's type and shape inference at load time (no
 * run: every node output is made a graph output and the session's output metadata read). Adapters that create
 * constants of their input's type (Clip's bounds, Pad's value) or need a rank (Softmax) ask; the session is made
 * once, on the first question, from the model as it was before the upgrade (ORT runs every opset from 7).
 */
import * as ort from 'onnxruntime-node';
import { DataType, type ModelProto } from '../proto.js';
import { encodeModel } from '../model-codec.js';

const ORT_TYPES: Record<string, number> = {
  float32: DataType.FLOAT, float64: DataType.DOUBLE, float16: DataType.FLOAT16, int64: DataType.INT64, int32: DataType.INT32,
  int8: DataType.INT8, uint8: DataType.UINT8, bool: DataType.BOOL, string: DataType.STRING,
};

interface Info { dtype?: number; rank?: number }

export class TypeInfo {
  private table?: Promise<Map<string, Info>>;
  private loadError?: string;

  constructor(private readonly model: ModelProto) {}

  async dtype(name: string): Promise<number | undefined> {
    return (await this.load()).get(name)?.dtype;
  }

  async rank(name: string): Promise<number | undefined> {
    return (await this.load()).get(name)?.rank;
  }

  /** Why ONNX Runtime could not load the original model (and so inferred nothing), if it could not. */
  async problem(): Promise<string | undefined> {
    await this.load();
    return this.loadError;
  }

  private load(): Promise<Map<string, Info>> {
    this.table ??= this.infer();
    return this.table;
  }

  private async infer(): Promise<Map<string, Info>> {
    const graph = this.model.graph!;
    const out = new Map<string, Info>();
    for (const t of graph.initializer ?? []) out.set(t.name!, { dtype: t.dataType ?? undefined, rank: (t.dims ?? []).length });
    for (const vi of [...(graph.input ?? []), ...(graph.valueInfo ?? [])]) {
      const tt = vi.type?.tensorType;
      if (tt && !out.has(vi.name!)) out.set(vi.name!, { dtype: tt.elemType ?? undefined, rank: tt.shape?.dim ? tt.shape.dim.length : undefined });
    }
    const names = [...new Set((graph.node ?? []).flatMap((n) => n.output ?? []).filter((o) => o))];
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(encodeModel({ ...this.model, graph: { ...graph, output: names.map((name) => ({ name })) } }),
        { graphOptimizationLevel: 'disabled', logSeverityLevel: 3 });
    } catch (err) {
      this.loadError = (err as Error).message;
      return out; // what the model declares is all there is
    }
    for (const m of session.outputMetadata) {
      if (!m.isTensor) continue;
      // An empty shape is how ORT reports an unknown one (and a scalar): no rank then.
      out.set(m.name, { dtype: ORT_TYPES[m.type], rank: m.shape.length > 0 ? m.shape.length : undefined });
    }
    await session.release();
    return out;
  }
}
