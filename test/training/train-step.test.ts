import t from 'tap';
import { GraphBuilder } from '../../src/onnx/builder.js';
import { DataType } from '../../src/onnx/proto.js';
import { float32Tensor } from '../../src/onnx/tensor.js';
import { buildZooModel } from '../../models/index.js';
import { prepareModel } from '../../src/training/prepare.js';
import { selectManLayers, parseManLayers } from '../../src/training/man.js';
import { buildArtifacts, createArtifacts } from '../../src/training/artifacts.js';
import { FedmanError } from '../../src/util/errors.js';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** x → Gemm → Relu → Gemm → Sigmoid (output activation after the last parameterised layer). */
function mlpWithSigmoidHead() {
  const b = new GraphBuilder();
  const x = b.input('x', DataType.FLOAT, ['N', 3]);
  const w1 = b.initializer(float32Tensor('w1', [4, 3], Array.from({ length: 12 }, (_, i) => Math.sin(i))));
  const w2 = b.initializer(float32Tensor('w2', [2, 4], Array.from({ length: 8 }, (_, i) => Math.cos(i))));
  const h = b.op('Relu', [b.op('Gemm', [x, w1], { transB: 1 })], {}, { outputs: ['hidden'] });
  const y = b.op('Sigmoid', [b.op('Gemm', [h, w2], { transB: 1 })], {}, { outputs: ['probs'] });
  b.output(y, DataType.FLOAT, ['N', 2]);
  return b.toModel('m');
}

t.test('MAN auto selection: hidden nonlinearities only, not the output activation', async (t) => {
  // A Sigmoid head is trained with binary cross-entropy on the logits before it (a softmax loss is refused).
  const prepared = await prepareModel(mlpWithSigmoidHead(), { loss: 'bce' });
  t.same(selectManLayers(prepared, 'auto'), ['hidden']);
  t.same(selectManLayers(prepared, 'none'), []);
  t.same(selectManLayers(prepared, ['hidden']), ['hidden']);
  t.throws(() => selectManLayers(prepared, ['nope']), /tensor 'nope' is not produced/);
  t.same(parseManLayers('a, b'), ['a', 'b']);
});

t.test('zoo paper CNN: 4 MAN layers, parameters in torch order', async (t) => {
  const prepared = await prepareModel(buildZooModel('cnn-cifar100'));
  t.same(prepared.params.map((p) => p.name), ['conv1.weight', 'conv1.bias', 'conv2.weight', 'conv2.bias', 'fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias', 'fc3.weight', 'fc3.bias']);
  t.equal(prepared.params.reduce((s, p) => s + p.size, 0), 4800 + 64 + 102400 + 64 + 1600 * 384 + 384 + 384 * 192 + 192 + 192 * 100 + 100);
  t.equal(selectManLayers(prepared, 'auto').length, 4);
});

t.test('unsupported op: clear error naming op and node, nothing written', async (t) => {
  const b = new GraphBuilder();
  const x = b.input('x', DataType.FLOAT, ['N', 3]);
  const w = b.initializer(float32Tensor('w', [3, 3], Array.from({ length: 9 }, (_, i) => i / 9)));
  const y = b.op('Hardmax', [b.op('MatMul', [x, w])], { axis: 1 }, { name: 'the_hardmax' });
  b.output(y, DataType.FLOAT, ['N', 3]);
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'fedman-art-'));
  t.teardown(() => rm(tmp, { recursive: true, force: true }));
  const err = await buildArtifacts(b.toModel('bad'), 'bad').catch((e) => e);
  t.type(err, FedmanError);
  t.match(err.message, /Hardmax/);
  t.match(err.message, /the_hardmax/);
  t.match(err.message, /docs\/ops\.md/);
  await t.rejects(createArtifacts(path.join(tmp, 'missing.onnx'), path.join(tmp, 'out')), /neither a zoo model|cannot read/);
  t.same(await readdir(tmp), [], 'no files left behind');
});

t.test('zoo ConvNet with GroupNorm (decomposed into standard ops) trains; its epsilon is not a parameter', async (t) => {
  const { Trainer } = await import('../../src/runtime/trainer.js');
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'fedman-gn-'));
  t.teardown(() => rm(tmp, { recursive: true, force: true }));
  const manifest = await createArtifacts('convnet-gn', tmp, { numClasses: 10 });
  t.equal(manifest.params.length, 3 * 4 + 3 * 2, '3 × (conv weight, bias, GN scale, shift) + 3 FC layers');
  t.ok(manifest.params.every((p) => p.dims.length > 0), 'no rank-0 constants among the parameters');
  t.equal(manifest.manLayers.length, 5, 'MAN on the 3 conv-block ReLUs and 2 hidden FC ReLUs');
  const tr = await Trainer.load(tmp, { threads: 1 });
  tr.setHypers({ lr: 0.05, man_zeta: 0.1 });
  const x = Float32Array.from({ length: 2 * 3 * 64 * 64 }, (_, i) => Math.sin(i * 0.37));
  const y = BigInt64Array.from([3n, 7n]);
  const losses: number[] = [];
  for (let i = 0; i < 6; i++) losses.push((await tr.step(x, y, 2)).loss);
  t.ok(losses.every(Number.isFinite));
  t.ok(losses[5]! < losses[0]!, `loss on a fixed batch falls: ${losses[0]} -> ${losses[5]}`);
  await tr.release();
});
