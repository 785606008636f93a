/**
 * Runs the engine's gradient of a small forward graph in ONNX Runtime (float32) and returns the values, for tests
 * that compare with exact expected values (ties, symbolic shapes, random masks). The finite-difference oracle is
 * gradcheck.ts; this helper is independent of it.
 *
 * `build` wires the forward graph into a fresh GraphBuilder and names the scalar loss, the tensors to differentiate
 * it by and, optionally, other tensors to fetch in the same run. The graph's shapes are probed with the loss as the
 * output, the loss is seeded with 1, and the gradient model is run once on `feeds`.
 */
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../../src/onnx/builder.js';
import { encodeModel } from '../../src/onnx/model-io.js';
import { probeShapes, type ShapeMap } from '../../src/onnx/shape-probe.js';
import { backward } from '../../src/autodiff/engine.js';

export interface GradientGraph {
  loss: string;
  wrt: string[];
  /** Further tensors (forward outputs, masks) to return alongside the gradients. */
  fetch?: string[];
}

/** A graph input's value: float32 unless `type` says bool (values 0/1) or int64. */
export interface Feed {
  values: ArrayLike<number>;
  shape: number[];
  type?: 'float32' | 'bool' | 'int64';
}

export type BuildGradientGraph = (b: GraphBuilder) => GradientGraph | Promise<GradientGraph>;

export interface GradientRun {
  /** d loss / d wrt[i], flattened, in `wrt` order. */
  grads: number[][];
  /** The `fetch` tensors' values in order (bool as 0/1). */
  fetched: number[][];
  /** The probed shapes of the forward graph. */
  shapes: ShapeMap;
}

const tensorOf = (f: Feed) =>
  f.type === 'bool' ? new ort.Tensor('bool', Uint8Array.from(f.values), f.shape)
    : f.type === 'int64' ? new ort.Tensor('int64', BigInt64Array.from(Array.from(f.values, (v) => BigInt(v))), f.shape)
      : new ort.Tensor('float32', Float32Array.from(f.values), f.shape);

export async function runGradients(build: BuildGradientGraph, feeds: Record<string, Feed>): Promise<GradientRun> {
  const b = new GraphBuilder();
  const { loss, wrt, fetch = [] } = await build(b);
  const nodes = [...b.nodes];
  const fwd = b.toModel('fwd');
  const shapes = await probeShapes({ ...fwd, graph: { ...fwd.graph, output: [{ name: loss }] } });
  const { grads } = backward(b, { nodes, shapes, wrt, seeds: new Map([[loss, b.constF(1, [])]]) });
  const outs = [...wrt.map((w) => grads.get(w)!), ...fetch];
  const gm = b.toModel('grad');
  const sess = await ort.InferenceSession.create(encodeModel({ ...gm, graph: { ...gm.graph, output: outs.map((name) => ({ name })) } }));
  try {
    const res = await sess.run(Object.fromEntries(Object.entries(feeds).map(([name, f]) => [name, tensorOf(f)])));
    const values = outs.map((o) => Array.from(res[o]!.data as ArrayLike<number>, Number));
    return { grads: values.slice(0, wrt.length), fetched: values.slice(wrt.length), shapes };
  } finally {
    await sess.release();
  }
}

/** The gradients only: `(await runGradients(build, feeds)).grads`. */
export async function gradientsOf(build: BuildGradientGraph, feeds: Record<string, Feed>): Promise<number[][]> {
  return (await runGradients(build, feeds)).grads;
}
