/**
 * The opset upgrade, one adapter at a time: a node of an old opset (built here as an exporter writes it) and its
 * upgrade to opset 17 must compute the same in ONNX Runtime, which runs every opset from 7 (the oracle), within
 * 1e-6. Exporters' whole models at opsets 9–15 are checked in test/training/old-opsets.test.ts.
 */
import t from 'tap';
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../../src/onnx/builder.js';
import { AttrType, DataType, onnx, type AttributeProto, type ModelProto } from '../../src/onnx/proto.js';
import { F, Fs, type AttrValue } from '../../src/onnx/attrs.js';
import { encodeModel, defaultOpset } from '../../src/onnx/model-io.js';
import { float32Tensor, int64Tensor } from '../../src/onnx/tensor.js';
import { upgradeModel } from '../../src/onnx/upgrade/index.js';

interface Case {
  name: string;
  opset: number;
  /** Input shape (float32, seeded values). */
  x: number[];
  build: (b: GraphBuilder, x: string) => string[];
  /** Adapters expected to rewrite a node ('Op@version'). */
  rewrites: string[];
}

const raw = (name: string, ints: string[]): AttributeProto => onnx.AttributeProto.fromObject({ name, type: AttrType.INTS, ints });

const cases: Case[] = [
  { name: 'Clip-6 min/max attributes', opset: 9, x: [2, 5], rewrites: ['Clip@11'], build: (b, x) => [b.op('Clip', [x], { min: F(-0.3), max: F(0.4) })] },
  { name: 'Clip-6 max only', opset: 10, x: [3, 4], rewrites: ['Clip@11'], build: (b, x) => [b.op('Clip', [x], { max: F(0.25) })] },
  { name: 'Clip-6 without bounds', opset: 9, x: [6], rewrites: ['Clip@11'], build: (b, x) => [b.op('Clip', [x])] },
  { name: 'Pad-2 constant value', opset: 9, x: [1, 2, 3, 3], rewrites: ['Pad@11'], build: (b, x) => [b.op('Pad', [x], { pads: [0, 0, 1, 2, 0, 0, 2, 1], value: F(1.5) })] },
  { name: 'Pad-2 reflect', opset: 10, x: [1, 2, 4, 4], rewrites: ['Pad@11'], build: (b, x) => [b.op('Pad', [x], { pads: [0, 0, 1, 1, 0, 0, 2, 0], mode: 'reflect' })] },
  {
    name: 'Slice-1 with INT64_MAX ends, negative starts', opset: 9, x: [3, 6, 5], rewrites: ['Slice@10'],
    build: (b, x) => {
      const [y] = b.add('Slice', [x], { starts: [1, -3], axes: [1, 2] });
      b.nodes.at(-1)!.attribute!.push(raw('ends', ['9223372036854775807', '4']));
      return [y!];
    },
  },
  { name: 'Slice-1 without axes', opset: 9, x: [4, 5], rewrites: ['Slice@10'], build: (b, x) => [b.op('Slice', [x], { starts: [1, 0], ends: [3, 4] })] },
  { name: 'Split-2 sizes attribute', opset: 11, x: [2, 7], rewrites: ['Split@13'], build: (b, x) => b.add('Split', [x], { axis: 1, split: [2, 5] }, { outputs: 2 }) },
  { name: 'Split-2 equal parts', opset: 9, x: [6, 2], rewrites: ['Split@13'], build: (b, x) => b.add('Split', [x], { axis: 0 }, { outputs: 3 }) },
  { name: 'Squeeze/Unsqueeze-11 axes attributes', opset: 11, x: [2, 1, 3], rewrites: ['Squeeze@13', 'Unsqueeze@13'], build: (b, x) => [b.op('Unsqueeze', [b.op('Squeeze', [x], { axes: [1] })], { axes: [0, 3] })] },
  { name: 'Squeeze-1 without axes', opset: 9, x: [1, 3, 1, 2], rewrites: ['Squeeze@13'], build: (b, x) => [b.op('Squeeze', [x])] },
  { name: 'ReduceSum-11 axes attribute', opset: 11, x: [2, 3, 4], rewrites: ['ReduceSum@13'], build: (b, x) => [b.op('ReduceSum', [x], { axes: [1, -1], keepdims: 0 })] },
  { name: 'ReduceSum-1 over everything', opset: 9, x: [2, 3], rewrites: ['ReduceSum@13'], build: (b, x) => [b.op('ReduceSum', [x])] },
  { name: 'Softmax-11 axis 1 of a 3-D input (the 2-D coercion)', opset: 11, x: [2, 3, 4], rewrites: ['Softmax@13'], build: (b, x) => [b.op('Softmax', [x], { axis: 1 })] },
  { name: 'Softmax-11 default axis on 2-D logits', opset: 11, x: [3, 5], rewrites: ['Softmax@13'], build: (b, x) => [b.op('Softmax', [x])] },
  { name: 'Softmax-9 last axis of 4-D attention scores', opset: 9, x: [2, 2, 3, 3], rewrites: ['Softmax@13'], build: (b, x) => [b.op('Softmax', [x], { axis: 3 })] },
  { name: 'LogSoftmax-11 negative axis −2 of 3-D', opset: 11, x: [2, 3, 4], rewrites: ['LogSoftmax@13'], build: (b, x) => [b.op('LogSoftmax', [x], { axis: -2 })] },
  { name: 'Hardmax-11 axis 1 of 3-D', opset: 11, x: [2, 3, 4], rewrites: ['Hardmax@13'], build: (b, x) => [b.op('Hardmax', [x], { axis: 1 })] },
  { name: 'Upsample-7 nearest, scales attribute', opset: 8, x: [1, 2, 2, 3], rewrites: ['Upsample@9', 'Upsample@10', 'Resize@11'], build: (b, x) => [b.op('Upsample', [x], { scales: Fs([1, 1, 2, 3]), mode: 'nearest' })] },
  { name: 'Upsample-9 linear', opset: 9, x: [1, 1, 3, 4], rewrites: ['Upsample@10', 'Resize@11'], build: (b, x) => [b.op('Upsample', [x, b.constF([1, 1, 2, 2], [4])], { mode: 'linear' })] },
  { name: 'Resize-10 nearest, enlarging', opset: 10, x: [1, 2, 3, 3], rewrites: ['Resize@11'], build: (b, x) => [b.op('Resize', [x, b.constF([1, 1, 1.5, 2], [4])], { mode: 'nearest' })] },
  { name: 'Resize-10 nearest, shrinking', opset: 10, x: [1, 2, 6, 5], rewrites: ['Resize@11'], build: (b, x) => [b.op('Resize', [x, b.constF([1, 1, 0.5, 0.6], [4])], { mode: 'nearest' })] },
  { name: 'Resize-10 linear', opset: 10, x: [1, 1, 4, 4], rewrites: ['Resize@11'], build: (b, x) => [b.op('Resize', [x, b.constF([1, 1, 1.75, 0.5], [4])], { mode: 'linear' })] },
  { name: 'Dropout-10 ratio attribute (inference: identity)', opset: 10, x: [3, 4], rewrites: ['Dropout@12'], build: (b, x) => [b.op('Relu', [b.op('Dropout', [x], { ratio: F(0.3) })])] },
  {
    name: 'BatchNormalization-7 spatial = 1, inference', opset: 8, x: [2, 3, 2, 2], rewrites: ['BatchNormalization@9', 'BatchNormalization@14'],
    build: (b, x) => {
      const p = (n: string, v: number[]) => b.initializer(float32Tensor(n, [3], v));
      return [b.op('BatchNormalization', [x, p('s', [1, 2, 0.5]), p('bb', [0.1, 0, -0.2]), p('m', [0.2, -0.1, 0]), p('v', [1, 0.5, 2])], { spatial: 1, epsilon: F(1e-5) })];
    },
  },
  {
    name: 'TopK-1 k attribute (values and indices)', opset: 9, x: [3, 6], rewrites: ['TopK@10'],
    build: (b, x) => {
      const [v, i] = b.add('TopK', [x], { k: 2, axis: 1 }, { outputs: 2 });
      return [v!, b.op('Cast', [i!], { to: DataType.FLOAT })];
    },
  },
  {
    name: 'Scatter-9 (deprecated) becomes ScatterElements', opset: 10, x: [3, 4], rewrites: ['Scatter@11'],
    build: (b, x) => {
      const idx = b.initializer(int64Tensor('idx', [1, 2], [3, 0]));
      return [b.op('Scatter', [x, idx, b.constF([7, 8], [1, 2])], { axis: 1 })];
    },
  },
  {
    name: 'If: the subgraphs are upgraded too', opset: 11, x: [2, 1, 3], rewrites: ['ReduceSum@13', 'Squeeze@13', 'Squeeze@13'],
    build: (b, x) => {
      const branch = (axes: number[], name: string) => {
        const g = new GraphBuilder(`${name}_`);
        g.add('Squeeze', [x], { axes }, { outputs: [`${name}_out`] });
        g.output(`${name}_out`, DataType.FLOAT);
        return { g: g.toGraph(name) };
      };
      const cond = b.op('Greater', [b.op('ReduceSum', [x], { keepdims: 0 }), b.constF(-100)]);
      const [y] = b.add('If', [cond], {});
      const node = b.nodes.at(-1)!;
      node.attribute = [{ name: 'then_branch', type: AttrType.GRAPH, ...branch([1], 'then') }, { name: 'else_branch', type: AttrType.GRAPH, ...branch([1], 'else') }];
      return [y!];
    },
  },
];

function makeModel(c: Case): { model: ModelProto; outputs: string[] } {
  const b = new GraphBuilder();
  const x = b.input('x', DataType.FLOAT, c.x);
  const outputs = c.build(b, x);
  for (const o of outputs) b.output(o, DataType.FLOAT);
  return { model: b.toModel('case', { opset: c.opset }), outputs };
}

async function run(model: ModelProto, c: Case): Promise<number[][]> {
  const n = c.x.reduce((a, d) => a * d, 1);
  const values = Array.from({ length: n }, (_, i) => Math.sin(i * 1.7 + 0.3) * 1.2);
  const feed = new ort.Tensor('float32', Float32Array.from(values), c.x);
  const session = await ort.InferenceSession.create(encodeModel(model));
  try {
    const out = await session.run({ x: feed });
    return session.outputNames.map((o) => Array.from(out[o]!.data as Float32Array, Number));
  } finally {
    await session.release();
  }
}

for (const c of cases) {
  t.test(`${c.name}: opset ${c.opset} → 17, same outputs in ONNX Runtime`, async (t) => {
    const { model } = makeModel(c);
    const up = await upgradeModel(model, 'case');
    t.equal(up.from, c.opset);
    t.equal(defaultOpset(up.model), 17);
    t.same(up.rewritten, c.rewrites, 'the adapters that rewrote nodes');
    const [a, b] = [await run(model, c), await run(up.model, c)];
    t.equal(b.length, a.length);
    let worst = 0;
    a.forEach((o, i) => {
      t.equal(b[i]!.length, o.length, `output ${i} size`);
      o.forEach((v, j) => { worst = Math.max(worst, Math.abs(v - b[i]![j]!)); });
    });
    t.ok(worst <= 1e-6, `max |Δ| ${worst.toExponential(2)} ≤ 1e-6`);
  });
}

t.test('models of opset 17 and newer are returned as they are', async (t) => {
  for (const opset of [17, 18]) {
    const { model } = makeModel({ ...cases[0]!, opset: 17, build: (b, x) => [b.op('Relu', [x])] });
    model.opsetImport![0]!.version = opset;
    t.equal((await upgradeModel(model)).model, model);
  }
});

t.test('what cannot be upgraded is a FedmanError naming the op, the node and the opset step', async (t) => {
  const one = (opset: number, op: string, attrs: Record<string, AttrValue>, inputs = 1) => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [1, 3, 2, 2]);
    const extra = Array.from({ length: inputs - 1 }, (_, i) => b.initializer(float32Tensor(`p${i}`, [3], [1, 1, 1])));
    b.output(b.op(op, [x, ...extra], attrs, { name: 'the_node' }), DataType.FLOAT);
    return b.toModel('m', { opset });
  };
  await t.rejects(upgradeModel(one(6, 'Relu', {}), "model 'old'"), /model 'old' uses opset 6; fedman upgrades models of opset 7 and later to 17/);
  await t.rejects(upgradeModel(one(8, 'BatchNormalization', { spatial: 0 }, 5), "model 'bn'"),
    { message: "model 'bn': cannot upgrade BatchNormalization node 'the_node' from opset 8 to 9 (the model is opset 8; fedman upgrades to 17): it has spatial = 0 (statistics per activation, not per channel), which opset 9 removed" });
  const scan = one(8, 'Relu', {});
  scan.graph!.node![0]!.opType = 'Scan';
  await t.rejects(upgradeModel(scan, "model 's'"), /model 's': cannot upgrade Scan node 'the_node' from opset 8 to 9 .*Scan-9 changed its meaning and fedman has no upgrade for it/);
  const dyn = new GraphBuilder();
  const x = dyn.input('x', DataType.FLOAT, [1, 1, 2, 2]);
  const s = dyn.input('s', DataType.FLOAT, [4]);
  dyn.output(dyn.op('Resize', [x, s], { mode: 'nearest' }, { name: 'up' }), DataType.FLOAT);
  await t.rejects(upgradeModel(dyn.toModel('r', { opset: 10 }), "model 'r'"), /Resize node 'up' from opset 10 to 11.*scales 's' are computed at run time/);
});
