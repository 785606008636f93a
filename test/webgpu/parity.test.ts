/**
 * Training on the GPU (ONNX Runtime's WebGPU EP, here on SwiftShader) follows training on the CPU EP from the same
 * artifacts: per-step losses within 1e-5 relative, parameters after the steps and the evaluation loss close, for
 * every zoo model and the ResNet-18-style fixture (a few steps each on small batches: SwiftShader is slow).
 * The state stays in GPU memory between the steps (the trainer keeps it as 'gpu-buffer' tensors until asked).
 *
 * convnet-gn's first step agrees like the others' (1e-5), later ones less: after GroupNorm + ReLU some pooling
 * windows hold values within rounding of 0 (measured: 3 of its 524,288 first-block cells are 0 on the CPU and
 * 3.7e-8 on the GPU), so MaxPool routes their gradient to another cell and conv1's gradient differs by ~2e-3.
 * That is the kink of max-pooling meeting float rounding, not the lowering (lowered and original graphs agree on
 * the CPU EP: test/onnx/webgpu-lower.test.ts); its later steps get 1e-4 and its parameters 1e-2.
 */
import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildZooModel, ZOO } from '../../models/index.js';
import { loadModel } from '../../src/onnx/model-io.js';
import { buildArtifacts, writeArtifacts } from '../../src/training/artifacts.js';
import { Trainer } from '../../src/runtime/trainer.js';
import { makeDataset, type Dataset } from '../../src/data/dataset.js';
import { Rng } from '../../src/util/rng.js';
import { useSwiftShader } from '../helpers/webgpu.js';

useSwiftShader();
const tmp = await mkdtemp(path.join(os.tmpdir(), 'fedman-webgpu-parity-'));
t.teardown(() => rm(tmp, { recursive: true, force: true }));

function randomData(sampleShape: number[], classes: number, n: number, seed: number): Dataset {
  const rng = new Rng(seed);
  const size = sampleShape.reduce((a, b) => a * b, 1);
  return makeDataset({
    name: 'random', x: Float32Array.from({ length: n * size }, () => rng.normal()), y: Int32Array.from({ length: n }, () => rng.int(classes)),
    n, sampleShape, numClasses: classes,
  });
}

const relMax = (a: Float32Array, b: Float32Array) => {
  let num = 0, den = 1e-12;
  for (let i = 0; i < a.length; i++) { num = Math.max(num, Math.abs(a[i]! - b[i]!)); den = Math.max(den, Math.abs(a[i]!)); }
  return num / den;
};

const CASES: { name: string; batch: number; steps: number; laterSteps?: number; params?: number }[] = [
  { name: 'mlp', batch: 8, steps: 3 },
  { name: 'cnn-mnist', batch: 4, steps: 2 },
  { name: 'cnn-cifar10', batch: 4, steps: 2 },
  { name: 'cnn-cifar100', batch: 4, steps: 2 },
  { name: 'convnet-gn', batch: 2, steps: 2, laterSteps: 1e-4, params: 1e-2 },
  { name: 'resnet18s', batch: 4, steps: 2 },
];

for (const c of CASES) {
  t.test(`${c.name}: loss trace on WebGPU equals the CPU's`, async (t) => {
    const zoo = ZOO[c.name];
    const model = zoo ? buildZooModel(c.name) : await loadModel(path.join('test/fixtures/pretrained', `${c.name}.onnx`));
    const built = await buildArtifacts(model, c.name, { webgpu: true });
    const dir = path.join(tmp, c.name);
    await writeArtifacts(dir, built);
    const m = built.manifest;
    const data = randomData(m.input.dims.slice(1) as number[], m.numClasses, c.batch * c.steps, 3);
    const run = async (device: 'cpu' | 'webgpu') => {
      const tr = await Trainer.load(dir, { device, threads: 1 });
      try {
        tr.setHypers({ lr: 0.05, man_zeta: 0.2, clip_norm: 5, momentum: 0.9, weight_decay: 1e-3 });
        const losses: number[] = [];
        await tr.trainEpoch(data, { batchSize: c.batch, seed: 1, onStep: (_i, _n, s) => losses.push(s.loss) });
        const ev = await tr.evaluate(data, c.batch);
        return { losses, params: await tr.readParams(), eval: ev.loss, resident: device === 'webgpu' ? (() => { try { tr.getParams(); return false; } catch { return true; } })() : false };
      } finally { await tr.release(); }
    };
    const cpu = await run('cpu');
    const gpu = await run('webgpu');
    t.equal(gpu.losses.length, c.steps, `${c.steps} steps`);
    gpu.losses.forEach((l, i) => {
      const tol = i === 0 ? 1e-5 : c.laterSteps ?? 1e-5;
      t.ok(Math.abs(l - cpu.losses[i]!) <= tol * Math.abs(cpu.losses[i]!), `step ${i + 1}: loss ${l} vs CPU ${cpu.losses[i]} (within ${tol} relative)`);
    });
    const pTol = c.params ?? 1e-4;
    t.ok(relMax(cpu.params, gpu.params) < pTol, `parameters after training within ${pTol} of the CPU's (${relMax(cpu.params, gpu.params).toExponential(2)})`);
    const eTol = c.laterSteps ?? 1e-5;
    t.ok(Math.abs(gpu.eval - cpu.eval) <= eTol * Math.abs(cpu.eval), `evaluation loss ${gpu.eval} vs CPU ${cpu.eval} (within ${eTol} relative)`);
    t.ok(gpu.resident, 'the parameters stayed in GPU memory between the steps (a synchronous read is refused)');
  });
}
