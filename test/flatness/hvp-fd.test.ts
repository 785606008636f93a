/**
 * Exact HVPs against (Richardson-extrapolated) central differences of gᵀv (uᵀHv = d/dε gᵀv at θ + εu) on small smooth models whose first
 * backward emits the ops the second backward must differentiate: GroupNorm's gradient, Conv/ConvTranspose
 * gradients (Gather im2col, ScatterND), Resize, Gather on a parameter. Smooth activations only (tanh, no ReLU),
 * so finite differences are meaningful in float32.
 */
import t, { type Test } from 'tap';
import { buildSequential } from '../../models/layers.js';
import { GraphBuilder } from '../../src/onnx/builder.js';
import { DataType, type ModelProto } from '../../src/onnx/proto.js';
import { float32Tensor } from '../../src/onnx/tensor.js';
import { HessianOperator } from '../../src/flatness/index.js';
import { Rng } from '../../src/util/rng.js';

async function check(t: Test, model: ModelProto, sampleShape: number[], classes: number, opts: { zeta?: number; manLayers?: string[] } = {}) {
  const op = await HessianOperator.create(model, { threads: 1, zeta: opts.zeta, manLayers: opts.manLayers });
  t.teardown(() => op.release());
  const rng = new Rng(1);
  const n = 6;
  const ss = sampleShape.reduce((a, b) => a * b, 1);
  op.setData({ name: 'r', x: Float32Array.from({ length: n * ss }, () => rng.normal()), y: Int32Array.from({ length: n }, (_, i) => i % classes), n, sampleShape, numClasses: classes }, { batchSize: 4 });
  const th = op.getParams();
  const P = op.dim;
  let worst = 0;
  for (let trial = 0; trial < 3; trial++) {
    const u = Float64Array.from({ length: P }, () => rng.normal());
    const v = Float64Array.from({ length: P }, () => rng.normal());
    const { hv } = await op.apply(v);
    let exact = 0;
    for (let i = 0; i < P; i++) exact += u[i]! * hv[i]!;
    // Central differences at h and 2h, Richardson-extrapolated (cancels the h² term).
    const central = async (h: number) => {
      op.setParams(th.map((x, i) => x + h * u[i]!));
      const plus = (await op.apply(v)).gv;
      op.setParams(th.map((x, i) => x - h * u[i]!));
      const minus = (await op.apply(v)).gv;
      op.setParams(th);
      return (plus - minus) / (2 * h);
    };
    const h = 1.5e-2 / Math.sqrt(P);
    const fd = (4 * (await central(h)) - (await central(2 * h))) / 3;
    worst = Math.max(worst, Math.abs(exact - fd) / Math.max(Math.abs(exact), 1e-3));
  }
  t.ok(worst < 2e-3, `uᵀHv vs central differences of gᵀv: worst relative error ${worst.toExponential(2)}`);
  return op;
}

t.test('conv (stride 2, pads) + GroupNorm + linear', async (t) => {
  const model = buildSequential({
    name: 'gn', inputShape: [2, 6, 6], seed: 3, doc: '',
    layers: [{ kind: 'conv', out: 4, k: 3, pad: 1, stride: 2 }, { kind: 'groupnorm', groups: 2 }, { kind: 'flatten' }, { kind: 'linear', out: 5 }],
  });
  await check(t, model, [2, 6, 6], 5);
  // MAN on the GroupNorm output: its seeds depend on the weights, so they are differentiated too.
  const gnOut = model.graph!.node!.find((n) => n.opType === 'Flatten')!.input![0]!;
  const op = await check(t, model, [2, 6, 6], 5, { zeta: 0.5, manLayers: [gnOut] });
  t.same(op.manLayers, [gnOut]);
});

t.test('ConvTranspose + tanh + Resize + Gather of a parameter', async (t) => {
  const b = new GraphBuilder();
  const rng = new Rng(5);
  const init = (name: string, dims: number[]) => b.initializer(float32Tensor(name, dims, Float32Array.from({ length: dims.reduce((p, c) => p * c, 1) }, () => (rng.uniform() * 2 - 1) * 0.5)));
  const x = b.input('input', DataType.FLOAT, ['N', 2, 3, 3]);
  const y1 = b.op('ConvTranspose', [x, init('up.weight', [2, 3, 3, 3]), init('up.bias', [3])], { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] });
  const y2 = b.op('Tanh', [y1]);
  const y3 = b.op('Resize', [y2, '', b.constF([1, 1, 0.5, 0.5], [4])], { mode: 'nearest' });
  const y4 = b.op('Flatten', [y3], { axis: 1 });
  const table = b.op('Gather', [init('table', [7, 27]), b.constI64([4, 0, 6, 2, 4], [5])], { axis: 0 });
  const logits = b.op('Gemm', [b.op('Tanh', [y4]), table], { transB: 1 });
  b.output(logits, DataType.FLOAT, ['N', 5]);
  await check(t, b.toModel('decoder'), [2, 3, 3], 5);
});
