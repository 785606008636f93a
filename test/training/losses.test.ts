/**
 * The loss heads beyond the classifier's, against PyTorch (scripts/torch_loss_fixtures.py): each loss's value and
 * gradient with respect to the logits within 1e-5 (binary cross-entropy, per-pixel and per-position cross-entropy,
 * L2, L1, CTC), and small models whose exported heads end in Softmax, Sigmoid or log_softmax (trained on the logits
 * before them) or in nothing, trained one SGD step with MAN as torch trains them.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DataType } from '../../src/onnx/proto.js';
import { loadModel } from '../../src/onnx/model-io.js';
import { emitLoss, lossDef, type LossKind } from '../../src/training/loss.js';
import { buildArtifacts, writeArtifacts } from '../../src/training/artifacts.js';
import { Trainer } from '../../src/runtime/trainer.js';
import { runGradients } from '../helpers/run-gradients.js';

const dir = 'test/fixtures/losses';
const ref = JSON.parse(readFileSync(path.join(dir, 'losses.json'), 'utf8'));
const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!)));

for (const c of ref.cases) {
  t.test(`${c.name}: value and gradient as torch`, async (t) => {
    const dims = ['N', ...c.logits.shape.slice(1)];
    const geometry = lossDef(c.kind as LossKind).geometry(dims, { classAxis: c.class_axis }, 'case');
    const run = await runGradients((b) => {
      const z = b.input('z', DataType.FLOAT, dims);
      const y = b.input('y', geometry.target.dtype, geometry.target.dims);
      const head = emitLoss(b, c.kind, z, y, geometry, DataType.FLOAT);
      return { loss: head.loss, wrt: [z], fetch: [head.loss] };
    }, {
      z: { values: c.logits.values, shape: c.logits.shape },
      y: { values: c.labels.values, shape: c.labels.shape, type: c.labels.dtype === 'int64' ? 'int64' : 'float32' },
    });
    const loss = run.fetched[0]![0]!;
    t.ok(Math.abs(loss - c.loss) <= 1e-5 * Math.max(1, Math.abs(c.loss)), `loss ${loss} vs torch ${c.loss}`);
    const scale = Math.max(...c.grad.map(Math.abs));
    const dev = maxAbs(run.grads[0]!, c.grad);
    t.ok(dev <= 1e-5 * Math.max(1, scale), `gradient within 1e-5 (max |Δ| ${dev.toExponential(2)}, max |g| ${scale.toExponential(2)})`);
  });
}

t.test('a Sigmoid head with the default cross-entropy: a clear error pointing to --loss bce', async (t) => {
  await t.rejects(buildArtifacts(await loadModel(path.join(dir, 'multilabel.onnx')), 'multilabel'), /output 'output' is a Sigmoid's .*--loss bce/);
  await t.rejects(buildArtifacts(await loadModel(path.join(dir, 'regress.onnx')), 'regress', { loss: 'ctc' }), /ctc needs a \[N, T, C\] or \[T, N, C\] output; it is \["N",3\]/);
});

for (const m of ref.models) {
  t.test(`${m.name} (${m.kind}): one SGD step with MAN as torch`, async (t) => {
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'fedman-loss-'));
    t.teardown(() => rm(tmp, { recursive: true, force: true }));
    const built = await buildArtifacts(await loadModel(path.join(dir, m.onnx)), m.name, { loss: m.kind });
    const man = built.manifest;
    t.equal(man.manLayers.length, 1, 'MAN on the ReLU output');
    t.same(man.params.map((p) => p.name), Object.keys(m.params), 'parameters');
    const head = built.forward.graph!.node!.at(-1)!;
    if (m.kind !== 'l1') t.not(head.output![0], built.trainStep.graph!.node!.find((n) => n.opType === 'SoftmaxCrossEntropyLoss' || n.opType === 'Softplus' || n.opType === 'LogSoftmax')?.input?.[0], 'the loss reads the logits before the exported head');
    await writeArtifacts(path.join(tmp, 'a'), built);
    const trainer = await Trainer.load(path.join(tmp, 'a'), { threads: 1 });
    t.teardown(() => trainer.release());
    trainer.setHypers({ lr: ref.config.lr, clip_norm: ref.config.clip_norm, man_zeta: ref.config.zeta, weight_decay: 0 });
    const y = man.target?.dtype === 'float32' ? Float32Array.from(m.y.values) : BigInt64Array.from((m.y.values as number[]).map(BigInt));
    const s = await trainer.step(Float32Array.from(m.x.values), y, m.x.shape[0]);
    for (const [k, got] of [['loss', s.loss], ['ce', s.ce], ['man', s.man], ['grad_norm', s.gradNorm]] as const) {
      t.ok(Math.abs(got - m[k]) <= 1e-5 * Math.max(1, Math.abs(m[k])), `${k}: ${got} vs torch ${m[k]}`);
    }
    const after = trainer.getParams();
    let worst = 0;
    for (const p of man.params) worst = Math.max(worst, maxAbs(after.subarray(p.offset, p.offset + p.size), m.params[p.name]));
    t.ok(worst < 1e-5, `parameters after the step within 1e-5 (max |Δ| ${worst.toExponential(2)})`);
  });
}
