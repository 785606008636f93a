/**
 * Models exported without dynamic axes fix the batch at 1: fedman makes it symbolic, and says what to do when the
 * graph itself bakes the batch in (a Reshape to [1, -1]).
 */
import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { GraphBuilder } from '../../src/onnx/builder.js';
import { DataType } from '../../src/onnx/proto.js';
import { float32Tensor } from '../../src/onnx/tensor.js';
import { buildArtifacts, writeArtifacts } from '../../src/training/artifacts.js';
import { Trainer } from '../../src/runtime/trainer.js';

function convNet(flatten: 'Flatten' | 'Reshape') {
  const b = new GraphBuilder();
  const x = b.input('input', DataType.FLOAT, [1, 1, 4, 4]);
  const w = b.initializer(float32Tensor('conv.weight', [2, 1, 3, 3], Array.from({ length: 18 }, (_, i) => Math.sin(i + 1) * 0.3)));
  const h = b.op('Relu', [b.op('Conv', [x, w], { kernel_shape: [3, 3] })]);
  const flat = flatten === 'Flatten' ? b.op('Flatten', [h], { axis: 1 }) : b.op('Reshape', [h, b.constI64([1, -1])]);
  const fc = b.initializer(float32Tensor('fc.weight', [3, 8], Array.from({ length: 24 }, (_, i) => Math.cos(i) * 0.2)));
  b.add('Gemm', [flat, fc], { transB: 1 }, { outputs: ['logits'] });
  b.output('logits', DataType.FLOAT, [1, 3]);
  return b.toModel('static_batch');
}

t.test('a static batch of 1 becomes symbolic: the artifacts train batches of any size', async (t) => {
  const built = await buildArtifacts(convNet('Flatten'), 'static');
  t.same(built.manifest.input.dims, ['N', 1, 4, 4]);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fedman-static-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeArtifacts(path.join(dir, 'a'), built);
  const trainer = await Trainer.load(path.join(dir, 'a'));
  t.teardown(() => trainer.release());
  const s = await trainer.step(Float32Array.from({ length: 48 }, (_, i) => (i % 7) / 7), BigInt64Array.of(0n, 1n, 2n), 3);
  t.ok(Number.isFinite(s.loss) && s.size === 3, `a step on a batch of 3: loss ${s.loss}`);
});

t.test('a graph that bakes its batch of 1 in: the error says to re-export with a dynamic batch axis', async (t) => {
  await t.rejects(buildArtifacts(convNet('Reshape'), 'baked'), /model 'baked': .*input 'input' has a static batch of 1.*dynamic_axes=\{'input': \{0: 'N'\}\}/);
});
