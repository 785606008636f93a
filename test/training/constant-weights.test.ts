/**
 * Weights stored as Constant nodes (paddle2onnx, some tf2onnx and simplified models): the pretrained fixtures with
 * every float initializer rewritten into a Constant node (test/helpers/constant-nodes.ts) convert to the same
 * parameters, buffers and MAN layers, train the same first step bit for bit, and take --freeze and --classes.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadModel } from '../../src/onnx/model-io.js';
import { AttrType, DataType } from '../../src/onnx/proto.js';
import { GraphBuilder } from '../../src/onnx/builder.js';
import { float32Tensor } from '../../src/onnx/tensor.js';
import { buildArtifacts, writeArtifacts, type BuiltArtifacts } from '../../src/training/artifacts.js';
import { liftConstantWeights } from '../../src/training/constant-weights.js';
import { Trainer } from '../../src/runtime/trainer.js';
import { initializersAsConstants } from '../helpers/constant-nodes.js';

const dir = 'test/fixtures/pretrained';
const bin = (file: string) => readFileSync(path.join(dir, file));
const f32 = (file: string) => { const b = bin(file); return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)); };
const i64 = (file: string) => { const b = bin(file); return new BigInt64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)); };

async function firstStep(built: BuiltArtifacts, out: string, x: Float32Array, y: BigInt64Array, B: number) {
  await writeArtifacts(out, built);
  const trainer = await Trainer.load(out, { threads: 1 });
  trainer.setHypers({ lr: 0.05, weight_decay: 1e-3, clip_norm: 10, man_zeta: 0.1 });
  const s = await trainer.step(x, y, B);
  const params = trainer.getParams();
  const buffers = (built.manifest.buffers ?? []).map((b) => Array.from(trainer.getBuffer(b.name)));
  await trainer.release();
  return { s, params, buffers };
}

for (const name of ['resnet18s', 'mobilenetv2s', 'transformer']) {
  t.test(`${name} with Constant-node weights: same parameters, same first step`, async (t) => {
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'fedman-constw-'));
    t.teardown(() => rm(tmp, { recursive: true, force: true }));
    const ref = JSON.parse(readFileSync(path.join(dir, `${name}.json`), 'utf8'));
    const model = await loadModel(path.join(dir, ref.onnx.file));
    const rewritten = initializersAsConstants(model);
    t.equal((rewritten.graph!.initializer ?? []).filter((x) => x.dataType === DataType.FLOAT).length, 0, 'no float initializers left');
    const [a, b] = [await buildArtifacts(model, name), await buildArtifacts(rewritten, name)];
    t.same(b.manifest.params, a.manifest.params, 'parameters: names, dims and offsets as with initializers');
    t.same(b.manifest.buffers, a.manifest.buffers, 'BN running statistics are buffers as with initializers');
    t.same(b.manifest.manLayers, a.manifest.manLayers, 'MAN layers');
    const x = f32(ref.x.file), y = i64(ref.y.file), B = ref.input[0] as number;
    const [ra, rb] = [await firstStep(a, path.join(tmp, 'a'), x, y, B), await firstStep(b, path.join(tmp, 'b'), x, y, B)];
    t.same([rb.s.loss, rb.s.ce, rb.s.man, rb.s.gradNorm], [ra.s.loss, ra.s.ce, ra.s.man, ra.s.gradNorm], `step metrics equal (loss ${ra.s.loss})`);
    t.ok(rb.params.every((v, i) => v === ra.params[i]), 'parameters after the step equal bit for bit');
    t.same(rb.buffers, ra.buffers, 'running statistics after the step equal');

    const head = a.manifest.params.at(-2)!.name;
    const frozen = await buildArtifacts(rewritten, name, { freeze: [new RegExp(`^${head.replace(/[.]/g, '\\.')}$`)] });
    t.notOk(frozen.manifest.params.some((p) => p.name === head), `--freeze ${head} freezes the lifted weight`);
    const three = await buildArtifacts(rewritten, name, { numClasses: 3 });
    t.equal(three.manifest.numClasses, 3, '--classes 3 replaces the head');
  });
}

t.test('liftConstantWeights: float weights of rank >= 1 read where gradients flow; scalars, ints and shapes stay', async (t) => {
  const b = new GraphBuilder();
  const x = b.input('x', DataType.FLOAT, ['N', 4]);
  const constant = (out: string, attr: object) => b.nodes.push({ opType: 'Constant', domain: '', name: `c_${out}`, input: [], output: [out], attribute: [attr] });
  constant('w', { name: 'value', type: AttrType.TENSOR, t: float32Tensor('', [4, 2], [1, 2, 3, 4, 5, 6, 7, 8]) });
  constant('bias', { name: 'value_floats', type: AttrType.FLOATS, floats: [0.5, -0.5] });
  constant('scale', { name: 'value', type: AttrType.TENSOR, t: float32Tensor('', [], [2]) });
  constant('shape', { name: 'value', type: AttrType.TENSOR, t: { dims: [2], dataType: DataType.INT64, int64Data: [-1, 2] } });
  constant('sizes', { name: 'value', type: AttrType.TENSOR, t: float32Tensor('', [2], [1, 1]) });
  const h = b.op('Add', [b.op('MatMul', [x, 'w']), 'bias']);
  const r = b.op('Reshape', [b.op('Mul', [h, 'scale']), 'shape']);
  b.output(b.op('Resize', [r, '', 'sizes'], { mode: 'nearest' }), DataType.FLOAT);
  const { model, lifted } = liftConstantWeights(b.toModel('m'));
  t.same(lifted, ['w', 'bias'], 'the MatMul weight and the bias, in node order');
  t.same(model.graph!.initializer!.filter((i) => lifted.includes(i.name!)).map((i) => i.dims!.map(Number)), [[4, 2], [2]]);
  t.same(model.graph!.node!.filter((n) => n.opType === 'Constant').map((n) => n.output![0]), ['scale', 'shape', 'sizes'], 'a scalar, an int64 shape and Resize scales stay Constant nodes');
  const again = liftConstantWeights(model);
  t.equal(again.model, model, 'nothing left to lift: the model itself');
});
