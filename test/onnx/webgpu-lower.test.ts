/**
 * The WebGPU lowering (src/onnx/webgpu/) computes what the original graph computes: both run on the CPU EP (the
 * oracle is the original graph, ORT's own kernels), with the same inputs, for a small graph per rewrite rule and for
 * whole train-step and Hessian-vector-product graphs. No GPU needed: the rewrites are plain ONNX, whatever runs them.
 */
import t from 'tap';
import type { Test } from 'tap';
import * as ort from 'onnxruntime-node';
import { GraphBuilder, type Dim } from '../../src/onnx/builder.js';
import { DataType, type ModelProto } from '../../src/onnx/proto.js';
import { encodeModel } from '../../src/onnx/model-codec.js';
import { F } from '../../src/onnx/attrs.js';
import { floatTensorOf } from '../../src/onnx/tensor.js';
import { lowerModelForWebGpu } from '../../src/onnx/webgpu/index.js';
import { buildZooModel } from '../../models/index.js';
import { buildArtifacts } from '../../src/training/artifacts.js';
import { prepareModel } from '../../src/training/prepare.js';
import { buildHvpGraph } from '../../src/flatness/hvp-graph.js';
import { Rng } from '../../src/util/rng.js';

const FL = DataType.FLOAT, I64 = DataType.INT64;

/** Random feeds for the original graph (batch `n`; int64 inputs are indices below `classes`) and the lowered one (int32). */
function feeds(model: ModelProto, n: number, classes: number, seed: number): [Record<string, ort.Tensor>, Record<string, ort.Tensor>] {
  const rng = new Rng(seed);
  const a: Record<string, ort.Tensor> = {}, b: Record<string, ort.Tensor> = {};
  for (const vi of model.graph!.input!) {
    const tt = vi.type!.tensorType!;
    const dims = tt.shape!.dim!.map((d) => (d.dimParam ? n : Number(d.dimValue)));
    const k = dims.reduce((p, q) => p * q, 1);
    if (tt.elemType === I64) {
      const y = Int32Array.from({ length: k }, (_, i) => (i === 1 ? 0 : Math.floor(rng.uniform() * classes)));
      a[vi.name!] = new ort.Tensor('int64', BigInt64Array.from(y, (v) => BigInt(v)), dims);
      b[vi.name!] = new ort.Tensor('int32', y, dims);
    } else {
      // Positive values for variances and hyperparameters (names tell), small signed values elsewhere.
      const positive = /running_var|lr|clip|momentum/.test(vi.name!);
      a[vi.name!] = b[vi.name!] = new ort.Tensor('float32', Float32Array.from({ length: k }, () => (positive ? 0.5 + rng.uniform() : rng.uniform() - 0.5)), dims);
    }
  }
  return [a, b];
}

/** max |lowered − original| / max(|original|, tiny) over every output. */
async function compare(t: Test, name: string, model: ModelProto, opts: { n?: number; classes?: number; tol?: number } = {}): Promise<void> {
  const low = await lowerModelForWebGpu(model);
  const [fa, fb] = feeds(model, opts.n ?? 5, opts.classes ?? 4, 7);
  const so = { logSeverityLevel: 3 as const, graphOptimizationLevel: 'disabled' as const };
  const ra = await (await ort.InferenceSession.create(encodeModel(model), so)).run(fa);
  const rb = await (await ort.InferenceSession.create(encodeModel(low.model), so)).run(fb);
  for (const k of Object.keys(ra)) {
    const x = Array.from(ra[k]!.data as ArrayLike<number | bigint>, Number);
    const y = Array.from(rb[k]!.data as ArrayLike<number | bigint>, Number);
    t.same(rb[k]!.dims, ra[k]!.dims, `${name}: ${k} has the original's dims`);
    let num = 0, den = 1e-12;
    x.forEach((v, i) => { num = Math.max(num, Math.abs(v - y[i]!)); den = Math.max(den, Math.abs(v)); });
    t.ok(num / den <= (opts.tol ?? 1e-6), `${name}: ${k} within ${opts.tol ?? 1e-6} (relative difference ${(num / den).toExponential(2)})`);
  }
}

function graph(build: (b: GraphBuilder) => void): ModelProto {
  const b = new GraphBuilder();
  build(b);
  return b.toModel('case');
}

const N: Dim = 'N';

t.test('classification ops', async (t) => {
  for (const reduction of ['mean', 'sum', 'none']) {
    await compare(t, `SoftmaxCrossEntropyLoss ${reduction}`, graph((b) => {
      const x = b.input('x', FL, [N, 4]);
      const y = b.input('y', I64, [N]);
      const [loss, logp] = b.add('SoftmaxCrossEntropyLoss', [x, y], { reduction }, { outputs: ['loss', 'logp'] });
      b.output(loss!, FL); b.output(logp!, FL, [N, 4]);
    }));
  }
  await compare(t, 'spatial SoftmaxCrossEntropyLoss', graph((b) => {
    const x = b.input('x', FL, [N, 4, 3]);
    const y = b.input('y', I64, [N, 3]);
    b.add('SoftmaxCrossEntropyLoss', [x, y], { reduction: 'mean' }, { outputs: ['loss'] });
    b.output('loss', FL);
  }));
  await compare(t, 'LogSoftmax over axis 1 of a 3-D tensor', graph((b) => {
    b.add('LogSoftmax', [b.input('x', FL, [N, 4, 3])], { axis: 1 }, { outputs: ['y'] });
    b.output('y', FL, [N, 4, 3]);
  }));
  for (const axis of [-1, 0]) {
    await compare(t, `OneHot axis ${axis}, values [-1, 5]`, graph((b) => {
      const y = b.input('y', I64, [N]);
      b.add('OneHot', [y, b.constI64([4], []), b.constF([-1, 5], [2])], { axis }, { outputs: ['h'] });
      b.output('h', FL);
    }));
  }
  await compare(t, 'OneHot with int64 values', graph((b) => {
    const y = b.input('y', I64, [N]);
    b.add('OneHot', [y, b.constI64([4], []), b.constI64([0, 3])], {}, { outputs: ['h'] });
    b.output('h', I64);
  }));
});

t.test('ArgMax / ArgMin with ties, as ONNX defines them (first or last index)', async (t) => {
  for (const op of ['ArgMax', 'ArgMin']) {
    for (const last of [0, 1]) {
      await compare(t, `${op} select_last_index=${last}`, graph((b) => {
        // Rounded inputs make ties likely.
        const x = b.op('Round', [b.op('Mul', [b.input('x', FL, [N, 6]), b.constF(4)])]);
        b.add(op, [x], { axis: 1, keepdims: 0, select_last_index: last }, { outputs: ['i'] });
        b.output('i', I64, [N]);
      }), { n: 16 });
    }
  }
  await compare(t, 'accuracy count: Equal(ArgMax, labels) → Cast → ReduceSum', graph((b) => {
    const x = b.input('x', FL, [N, 4]);
    const y = b.input('y', I64, [N]);
    const eq = b.op('Equal', [b.op('ArgMax', [x], { axis: 1, keepdims: 0 }), y]);
    b.add('ReduceSum', [b.op('Cast', [eq], { to: FL })], { keepdims: 0 }, { outputs: ['c'] });
    b.output('c', FL);
  }), { n: 32 });
});

t.test('sizes, sums and shape arithmetic', async (t) => {
  await compare(t, 'mean from Size of a batch-dependent tensor, variadic Sum', graph((b) => {
    const x = b.input('x', FL, [N, 3, 2]);
    const n = b.op('Cast', [b.op('Size', [x])], { to: FL });
    b.add('Sum', [b.op('Div', [b.op('ReduceSum', [x], { keepdims: 0 }), n]), n, b.constF(1)], {}, { outputs: ['s'] });
    b.output('s', FL);
  }));
  await compare(t, 'Reshape to a shape computed from Shape (torch.onnx.export style)', graph((b) => {
    const x = b.input('x', FL, [N, 6]);
    const n = b.op('Unsqueeze', [b.op('Gather', [b.op('Shape', [x]), b.constI64([0], [])], { axis: 0 }), b.constI64([0])]);
    const half = b.op('Div', [b.op('Gather', [b.op('Shape', [x]), b.constI64([1], [])], { axis: 0 }), b.constI64([2], [])]);
    const shape = b.op('Concat', [n, b.constI64([2]), b.op('Unsqueeze', [half, b.constI64([0])])], { axis: 0 });
    b.add('Reshape', [x, shape], {}, { outputs: ['y'] });
    b.output('y', FL, [N, 2, 3]);
  }));
  await compare(t, 'Expand and ConstantOfShape to a batch-dependent shape', graph((b) => {
    const x = b.input('x', FL, [N, 3]);
    const e = b.op('Expand', [b.constF([1, 2, 3], [3]), b.op('Shape', [x])]);
    const c = b.op('ConstantOfShape', [b.op('Shape', [x])], { value: { tensor: floatTensorOf(FL, 'value', [1], [0.5]) } });
    b.add('Add', [b.op('Mul', [e, x]), c], {}, { outputs: ['y'] });
    b.output('y', FL, [N, 3]);
  }));
});

t.test('BatchNormalization in training mode: output and the running statistics it returns', async (t) => {
  await compare(t, 'BatchNormalization training_mode=1', graph((b) => {
    const x = b.input('x', FL, [N, 3, 2, 2]);
    const [y, m, v] = b.add('BatchNormalization', [x, b.input('scale', FL, [3]), b.input('bias', FL, [3]), b.input('mean', FL, [3]), b.input('running_var', FL, [3])],
      { training_mode: 1, momentum: F(0.8), epsilon: F(1e-3) }, { outputs: ['y', 'm', 'v'] });
    b.output(y!, FL); b.output(m!, FL); b.output(v!, FL);
  }), { tol: 1e-5 });
});

t.test('whole graphs: a CNN train step and a Hessian-vector-product graph', async (t) => {
  const built = await buildArtifacts(buildZooModel('cnn-mnist'), 'cnn-mnist');
  await compare(t, 'cnn-mnist train step', built.trainStep, { n: 3, classes: 10, tol: 2e-5 });
  const prepared = await prepareModel(buildZooModel('mlp'), {}, 'mlp');
  await compare(t, 'mlp HVP graph', (await buildHvpGraph(prepared, { manLayers: 'auto' })).model, { n: 3, classes: 10, tol: 2e-5 });
});
