/** `fedman convert` and `fedman artifacts` on a model as an old exporter wrote it: opset 9, symbolic height and width. */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { GraphBuilder } from '../../src/onnx/builder.js';
import { DataType } from '../../src/onnx/proto.js';
import { F } from '../../src/onnx/attrs.js';
import { float32Tensor } from '../../src/onnx/tensor.js';
import { defaultOpset, loadModel, saveModel } from '../../src/onnx/model-io.js';
import { valueInfoDims } from '../../src/onnx/input-shape.js';

const tmp = await mkdtemp(path.join(os.tmpdir(), 'fedman-convert-'));
t.teardown(() => rm(tmp, { recursive: true, force: true }));

function fedman(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/fedman.js', ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function oldModel(opset: number) {
  const b = new GraphBuilder();
  const x = b.input('image', DataType.FLOAT, ['N', 3, 'height', 'width']);
  const w = b.initializer(float32Tensor('conv.weight', [4, 3, 3, 3], Array.from({ length: 108 }, (_, i) => Math.sin(i) * 0.2)));
  const h = b.op('Clip', [b.op('Conv', [x, w], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] })], { min: F(0), max: F(6) });
  const fc = b.initializer(float32Tensor('fc.weight', [5, 4], Array.from({ length: 20 }, (_, i) => Math.cos(i) * 0.3)));
  const bias = b.initializer(float32Tensor('fc.bias', [5], [0.1, -0.1, 0, 0.2, 0]));
  b.add('Gemm', [b.op('Flatten', [b.op('GlobalAveragePool', [h])]), fc, bias], { transB: 1 }, { outputs: ['logits'] });
  b.output('logits', DataType.FLOAT, ['N', 5]);
  return b.toModel('old', { opset });
}

t.test('convert: opset 9 → 17 with --input-shape; the result builds artifacts', async (t) => {
  const src = path.join(tmp, 'old.onnx');
  await saveModel(src, oldModel(9));
  const out = path.join(tmp, 'new.onnx');
  const r = fedman('convert', src, out, '--input-shape', '3,16,16', '--json');
  t.equal(r.code, 0, r.err);
  const report = JSON.parse(r.out);
  t.match(report, { fromOpset: 9, toOpset: 17, rewritten: ['Clip@11'], lifted: [] });
  const m = await loadModel(out);
  t.equal(defaultOpset(m), 17);
  t.same(valueInfoDims(m.graph!.input![0]!), ['N', 3, 16, 16]);
  const human = fedman('convert', src, path.join(tmp, 'new2.onnx'), '--input-shape', 'image:3,16,16');
  t.match(human.out, /opset 9 -> 17 \(rewrote Clip@11\)/);
  const a = fedman('artifacts', out, '--out', path.join(tmp, 'art'));
  t.equal(a.code, 0, a.err);
});

t.test('artifacts straight from the opset-9 file: without --input-shape a one-line error naming the dims', async (t) => {
  const src = path.join(tmp, 'old.onnx');
  const r = fedman('artifacts', src, '--out', path.join(tmp, 'art2'));
  t.equal(r.code, 1);
  t.match(r.err, /input 'image' \["N",3,"height","width"\] has symbolic dims 'height' \(axis 2\), 'width' \(axis 3\).*--input-shape 3,<height>,<width>/);
  t.notMatch(r.err, /\n\s+at /);
  const ok = fedman('artifacts', src, '--out', path.join(tmp, 'art2'), '--input-shape', '3,12,12');
  t.equal(ok.code, 0, ok.err);
});

t.test('convert refuses what it cannot upgrade, and writes nothing', async (t) => {
  const dir = await mkdtemp(path.join(tmp, 'refuse-'));
  await saveModel(path.join(dir, 'six.onnx'), oldModel(6));
  const r = fedman('convert', path.join(dir, 'six.onnx'), path.join(dir, 'out.onnx'));
  t.equal(r.code, 1);
  t.match(r.err, /uses opset 6; fedman upgrades models of opset 7 and later to 17/);
  t.same(await readdir(dir), ['six.onnx']);
});
