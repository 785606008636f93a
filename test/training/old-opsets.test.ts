/**
 * Models exported by torch 1.13 at opsets 9, 11, 13 and 15 (scripts/torch_old_opset_fixtures.py: the three
 * pretrained-style architectures and the zoo's, with the weights of their opset-17 export): fedman upgrades each
 * to opset 17; ONNX Runtime's outputs of the original and the upgraded model agree within 1e-6, and the upgraded
 * model's artifacts train to the loss trace of the opset-17 export's.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadModel, encodeModel, defaultOpset } from '../../src/onnx/model-io.js';
import type { ModelProto, TensorProto } from '../../src/onnx/proto.js';
import { float32Tensor, tensorDims, tensorToFloat32 } from '../../src/onnx/tensor.js';
import { convertModel } from '../../src/training/convert.js';
import { buildArtifacts, writeArtifacts } from '../../src/training/artifacts.js';
import { Trainer } from '../../src/runtime/trainer.js';
import { hashFilled } from '../helpers/hash-weights.js';

const dir = 'test/fixtures/opsets';
const index = JSON.parse(readFileSync(path.join(dir, 'index.json'), 'utf8'));
const B = 4;
const STEPS = 3;

/** The skeleton with its stripped initializers filled from the opset-17 export. */
function filled(skeleton: ModelProto, source: ModelProto, stripped: { name: string; source: string; transposed: boolean }[]): ModelProto {
  const src = new Map((source.graph!.initializer ?? []).map((x) => [x.name!, x]));
  const map = new Map(stripped.map((s) => [s.name, s]));
  const initializer = (skeleton.graph!.initializer ?? []).map((x): TensorProto => {
    const s = map.get(x.name!);
    if (!s) return x;
    const from = src.get(s.source)!;
    const v = tensorToFloat32(from);
    if (!s.transposed) return float32Tensor(x.name!, tensorDims(x), v);
    const [r, c] = tensorDims(from) as [number, number];
    const tv = new Float32Array(v.length);
    for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) tv[j * r + i] = v[i * c + j]!;
    return float32Tensor(x.name!, tensorDims(x), tv);
  });
  return { ...skeleton, graph: { ...skeleton.graph, initializer } };
}

async function logits(model: ModelProto, x: Float32Array, dims: number[]): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(encodeModel(model));
  try {
    return (await s.run({ input: new ort.Tensor('float32', x, dims) })).logits!.data as Float32Array;
  } finally {
    await s.release();
  }
}

async function lossTrace(model: ModelProto, name: string, tmp: string, x: Float32Array, y: BigInt64Array): Promise<{ losses: number[]; params: number }> {
  const built = await buildArtifacts(model, name);
  const out = path.join(tmp, name);
  await writeArtifacts(out, built);
  const trainer = await Trainer.load(out, { threads: 1 });
  trainer.setHypers({ lr: 0.05, man_zeta: 0.1, clip_norm: 10 });
  const losses: number[] = [];
  for (let i = 0; i < STEPS; i++) losses.push((await trainer.step(x, y, B)).loss);
  await trainer.release();
  return { losses, params: built.manifest.paramCount };
}

for (const [name, entry] of Object.entries(index.models) as [string, any][]) {
  t.test(`${name}: torch exports at opsets ${Object.keys(entry.opsets).join(', ')} upgrade to 17`, async (t) => {
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'fedman-opsets-'));
    t.teardown(() => rm(tmp, { recursive: true, force: true }));
    const source = await loadModel(entry.source);
    const dims = [B, ...(entry.input as number[])];
    const x = hashFilled(dims.reduce((a, d) => a * d, 1), 7, 0.5, 1);
    const y = BigInt64Array.from({ length: B }, (_, i) => BigInt((3 * i + 1) % 10));
    const ref = await lossTrace(source, `${name}-17`, tmp, x, y);
    for (const [k, o] of Object.entries(entry.opsets) as [string, any][]) {
      const original = filled(await loadModel(path.join(dir, o.file)), source, o.stripped);
      t.equal(defaultOpset(original), Number(k), `the export is opset ${k}`);
      const { model: upgraded, report } = await convertModel(original, {}, `${name} opset ${k}`);
      t.equal(defaultOpset(upgraded), 17, `opset ${k} → 17 (${[...new Set(report.rewritten)].join(', ') || 'no rewrites'})`);
      const [a, b] = [await logits(original, x, dims), await logits(upgraded, x, dims)];
      const worst = Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!)));
      t.ok(worst <= 1e-6, `opset ${k}: ORT outputs of the original and the upgraded model agree (max |Δ| ${worst.toExponential(2)})`);
      const trace = await lossTrace(upgraded, `${name}-${k}`, tmp, x, y);
      t.equal(trace.params, ref.params, `opset ${k}: ${ref.params} parameters, as the opset-17 export`);
      const dev = Math.max(...trace.losses.map((l, i) => Math.abs(l - ref.losses[i]!) / Math.abs(ref.losses[i]!)));
      t.ok(dev < 1e-5, `opset ${k}: ${STEPS}-step loss trace ${trace.losses.map((l) => l.toFixed(6)).join(' ')} matches opset 17 (rel ${dev.toExponential(2)})`);
    }
  });
}

t.test('an eval-mode export with BatchNorm folded into the convolutions (mobilenetv2s, opset 11) converts and trains', async (t) => {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'fedman-folded-'));
  t.teardown(() => rm(tmp, { recursive: true, force: true }));
  const f = index.folded;
  const model = await loadModel(path.join(dir, f.file));
  const built = await buildArtifacts(model, 'folded');
  t.notOk(built.forward.graph!.node!.some((n) => n.opType === 'BatchNormalization'), 'no BatchNormalization: it is folded');
  t.same(built.manifest.buffers, [], 'and so no running-statistic buffers');
  t.ok(built.manifest.params.every((p) => /^onnx::(Conv|Gemm)_|^classifier\./.test(p.name)), 'the parameters are the folded conv weights and biases and the classifier');
  const bytes = readFileSync(f.x);
  const x = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const out = await logits(built.forward, x, f.input);
  const worst = Math.max(...(f.eval_logits as number[]).map((v, i) => Math.abs(out[i]! - v)));
  t.ok(worst < 1e-5, `forward equals torch's eval-mode logits (max |Δ| ${worst.toExponential(2)})`);
  await writeArtifacts(path.join(tmp, 'a'), built);
  const trainer = await Trainer.load(path.join(tmp, 'a'), { threads: 1 });
  trainer.setHypers({ lr: 0.05, man_zeta: 0.1, clip_norm: 10 });
  const y = BigInt64Array.from({ length: f.input[0] }, (_, i) => BigInt(i % 10));
  const losses: number[] = [];
  for (let i = 0; i < 6; i++) losses.push((await trainer.step(x, y, f.input[0])).loss);
  await trainer.release();
  t.ok(losses.at(-1)! < losses[0]!, `loss on a fixed batch falls: ${losses.map((l) => l.toFixed(4)).join(' ')}`);
});
