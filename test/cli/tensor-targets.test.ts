/**
 * A segmentation model (its export ends in Softmax over the classes) on a tensor dataset (.npz, per-pixel class
 * targets) through the CLI: artifacts with per-pixel cross-entropy, train, eval of the export, and a simulation.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { npz } from '../helpers/tensor-files.js';

const tmp = await mkdtemp(path.join(os.tmpdir(), 'fedman-targets-'));
t.teardown(() => rm(tmp, { recursive: true, force: true }));

function fedman(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/fedman.js', ...args], { encoding: 'utf8', timeout: 180_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

// 24 samples of 2×5×5; the class of a pixel is which channel is larger there, or 2 where both are small.
const n = 24, px = 25;
const x = Float32Array.from({ length: n * 2 * px }, (_, i) => (Math.sin(i * 12.9898) * 43758.5453) % 1 * 0.5 + 0.5);
const y = new BigInt64Array(n * px);
for (let s = 0; s < n; s++) for (let k = 0; k < px; k++) {
  const a = x[s * 2 * px + k]!, b = x[s * 2 * px + px + k]!;
  y[s * px + k] = BigInt(Math.max(a, b) < 0.35 ? 2 : a > b ? 0 : 1);
}
const data = path.join(tmp, 'seg.npz');
await writeFile(data, npz({ x: { shape: [n, 2, 5, 5], data: x }, y: { shape: [n, 5, 5], data: y } }));

t.test('artifacts --loss cross-entropy on a [N, C, H, W] head, train on .npz targets, eval the export', async (t) => {
  const art = path.join(tmp, 'art');
  const a = fedman('artifacts', 'test/fixtures/losses/seg.onnx', '--out', art, '--json');
  t.equal(a.code, 0, a.err);
  const m = JSON.parse(a.out);
  t.same(m.target, { dtype: 'int64', dims: ['N', 5, 5], perSample: 25 }, 'labels: a class per pixel');
  const exported = path.join(tmp, 'trained.onnx');
  const r = fedman('train', '--artifacts', art, '--data', data, '--epochs', '8', '--batch-size', '8', '--lr', '0.5', '--json', '--export', exported);
  t.equal(r.code, 0, r.err);
  const epochs = JSON.parse(r.out).epochs as { loss: number; testAccuracy: number }[];
  t.equal(epochs.length, 8, 'epochs reported');
  t.ok(epochs.at(-1)!.testAccuracy > 0 && epochs.at(-1)!.testAccuracy <= 1, `per-pixel accuracy ${epochs.at(-1)!.testAccuracy}`);
  const first = epochs[0]!, last = epochs.at(-1)!;
  t.ok(last.loss < first.loss, `training loss falls: ${first.loss} -> ${last.loss}`);
  const e = fedman('eval', '--model', exported, '--data', data, '--json');
  t.equal(e.code, 0, e.err);
  const ev = JSON.parse(e.out);
  t.ok(ev.accuracy > 0 && ev.accuracy <= 1, `per-pixel accuracy of the export ${ev.accuracy}`);
});

t.test('simulate federates it: loss and classAxis from the config, an iid partition', async (t) => {
  const out = path.join(tmp, 'run');
  const r = fedman('simulate', '--out', out, '--model', 'test/fixtures/losses/seg.onnx', '--loss', 'cross-entropy', '--data', data,
    '--partition', 'iid', '--clients', '3', '--participation', '1', '--rounds', '2', '--epochs', '1', '--batch-size', '4', '--lr', '0.3', '--workers', '0');
  t.equal(r.code, 0, r.err);
  const report = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8'));
  t.equal(report.config.loss, 'cross-entropy');
  const acc = report.rounds.at(-1).testAccuracy;
  t.ok(acc > 0 && acc <= 1, `test accuracy per pixel after round 2: ${acc}`);
});
