/**
 * torchvision's ResNet-18 (scripts/torch_torchvision_fixtures.py), exported as a user exports it: symbolic batch and
 * spatial size, BatchNormalization kept, and the stem's overlapping 3×3/2 max pool. fedman needs --input-shape for
 * it, adds the MaxPool's Indices output itself, and trains one step as PyTorch does (CE + MAN ζ = 0.1 over the 17
 * ReLUs, clip 10, SGD lr 0.1 wd 1e-3, BN in train mode). The weights come from a recipe both sides compute
 * bit-identically (test/helpers/hash-weights.ts), so the 47 MB model is not committed.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadModel, encodeModel } from '../../src/onnx/model-io.js';
import { buildArtifacts, writeArtifacts } from '../../src/training/artifacts.js';
import { Trainer } from '../../src/runtime/trainer.js';
import { fillFromRecipe, hashFilled, type RecipeEntry } from '../helpers/hash-weights.js';

const dir = 'test/fixtures/torchvision';
const ref = JSON.parse(readFileSync(path.join(dir, 'resnet18.json'), 'utf8'));
const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);

t.test('torchvision ResNet-18: symbolic spatial size, overlapping max pool, one step as PyTorch', async (t) => {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'fedman-tv-'));
  t.teardown(() => rm(tmp, { recursive: true, force: true }));
  const model = fillFromRecipe(await loadModel(path.join(dir, ref.onnx.file)), ref.recipe as RecipeEntry[]);
  const [C, H, W] = ref.input_shape as number[];
  const B = ref.batch as number;

  await t.rejects(buildArtifacts(model, 'resnet18'), /input 'input' \["N",3,"H","W"\] has symbolic dims 'H' \(axis 2\), 'W' \(axis 3\).*--input-shape 3,<H>,<W>/,
    'without --input-shape: an error naming the symbolic dims');

  const built = await buildArtifacts(model, 'resnet18', { inputShape: { dims: [C!, H!, W!] } });
  const m = built.manifest;
  t.same(m.input.dims, ['N', C, H, W], 'the input is [N, 3, 64, 64]');
  t.equal(m.paramCount, 11_181_642, 'ResNet-18 with a 10-class head: 11,181,642 parameters');
  t.equal(m.manLayers.length, ref.step.man_layers, `MAN 'auto' selects the ${ref.step.man_layers} ReLU outputs torch records`);
  const pools = built.forward.graph!.node!.filter((n) => n.opType === 'MaxPool');
  t.same(pools.map((n) => n.output!.length), [1], 'the forward model keeps its MaxPool as exported (no Indices)');
  t.same(built.trainStep.graph!.node!.filter((n) => n.opType === 'MaxPool').map((n) => n.output!.length), [2], 'the train step reads the Indices');

  const x = hashFilled(B * C! * H! * W!, ref.x.index, ref.x.a, ref.x.s);
  const y = BigInt64Array.from((ref.y as number[]).map(BigInt));
  const session = await ort.InferenceSession.create(encodeModel(built.forward));
  const logits = (await session.run({ input: new ort.Tensor('float32', x, [B, C!, H!, W!]) })).logits!.data as Float32Array;
  await session.release();
  const worstLogit = Math.max(...(ref.eval_logits as number[]).map((v, i) => Math.abs(logits[i]! - v)));
  t.ok(worstLogit < 1e-4, `eval-mode logits match torch (max |Δ| ${worstLogit.toExponential(2)})`);

  const out = path.join(tmp, 'art');
  await writeArtifacts(out, built);
  const trainer = await Trainer.load(out, { threads: 2 });
  t.teardown(() => trainer.release());
  const cfg = ref.config;
  trainer.setHypers({ lr: cfg.lr, weight_decay: cfg.weight_decay, clip_norm: cfg.clip_norm, man_zeta: cfg.zeta, momentum: cfg.momentum });
  const before = trainer.getParams();
  const bufBefore = new Map((m.buffers ?? []).map((b) => [b.name, trainer.getBuffer(b.name).slice()]));
  const s = await trainer.step(x, y, B);
  for (const [k, got] of [['loss', s.loss], ['ce', s.ce], ['man', s.man], ['grad_norm', s.gradNorm]] as const) {
    t.ok(rel(got, ref.step[k]) < 1e-4, `${k}: ${got} vs torch ${ref.step[k]} (rel ${rel(got, ref.step[k]).toExponential(2)})`);
  }
  t.equal(s.correct, ref.step.correct, 'correct');

  const after = trainer.getParams();
  const offsets = new Map(m.params.map((p) => [p.name, p]));
  let worstNorm = 0, worstNormName = '', worstValue = 0, worstValueName = '';
  for (const e of ref.tensors as { name: string; kind: string; update_norm: number; positions: number[]; after: number[] }[]) {
    let now: Float32Array, was: Float32Array;
    if (e.kind === 'param') {
      const p = offsets.get(e.name)!;
      now = after.subarray(p.offset, p.offset + p.size);
      was = before.subarray(p.offset, p.offset + p.size);
    } else {
      now = trainer.getBuffer(e.name);
      was = bufBefore.get(e.name)!;
    }
    let sq = 0;
    for (let i = 0; i < now.length; i++) sq += (now[i]! - was[i]!) ** 2;
    const r = rel(Math.sqrt(sq), e.update_norm);
    if (r > worstNorm) { worstNorm = r; worstNormName = e.name; }
    const scale = Math.max(...e.after.map(Math.abs));
    for (const [k, pos] of e.positions.entries()) {
      const d = Math.abs(now[pos]! - e.after[k]!) / scale;
      if (d > worstValue) { worstValue = d; worstValueName = e.name; }
    }
  }
  t.ok(worstNorm < 1e-4, `every tensor's update norm within 1e-4 relative of torch's (worst ${worstNorm.toExponential(2)} in ${worstNormName})`);
  t.ok(worstValue < 1e-5, `sampled values after the step match (worst ${worstValue.toExponential(2)} in ${worstValueName})`);
});
