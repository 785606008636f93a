/**
 * `npm run bench -- --device webgpu`: the train step on the GPU (ONNX Runtime's WebGPU EP, state kept in GPU
 * memory between steps) against the same artifacts on the CPU EP (2 threads) and PyTorch 1.13 + OpenBLAS on the
 * CPU, measured alternately in one run; and one simulated FL round on each device. What the machine offered (a
 * GPU's Vulkan driver, or only SwiftShader, Chromium's software Vulkan) is written next to the figures: on
 * SwiftShader they only show that the path runs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createArtifacts } from '../src/training/artifacts.js';
import { Trainer } from '../src/runtime/trainer.js';
import { diagnoseDevices } from '../src/runtime/doctor.js';
import { simulate } from '../src/sim/engine.js';
import { mergeConfig } from '../src/config/index.js';
import { ZOO } from '../models/index.js';
import { Rng } from '../src/util/rng.js';
import { openblasEnv } from './torch-baseline.js';

interface Case { label: string; model: string; batch: number; shape: number[]; classes: number; zeta: number; torch?: () => number | null }

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** A PyTorch script's median ms/step for one configuration (null when PyTorch or OpenBLAS is not there). */
function torchMs(script: string, args: string[], pick: (json: any) => number | undefined): number | null {
  if (!existsSync('/usr/bin/python3')) return null;
  const ob = openblasEnv();
  if ('error' in ob) return null;
  const r = spawnSync('/usr/bin/python3', [script, ...args], { encoding: 'utf8', env: ob.env, timeout: 900_000 });
  return r.status === 0 ? pick(JSON.parse(r.stdout)) ?? null : null;
}

/** ms/step on the CPU (threads) and on WebGPU, alternating rounds of `steps` steps so machine noise hits both. */
async function stepTimes(c: Case, threads: number, rounds: number, steps: number): Promise<{ cpu: number; gpu: number }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fedman-bench-webgpu-'));
  try {
    await createArtifacts(c.model, dir, { optimizer: 'sgd', webgpu: true });
    const trainers = { cpu: await Trainer.load(dir, { threads }), gpu: await Trainer.load(dir, { device: 'webgpu' }) };
    const rng = new Rng(1);
    const x = Float32Array.from({ length: c.batch * c.shape.reduce((a, b) => a * b, 1) }, () => rng.uniform());
    const y = BigInt64Array.from({ length: c.batch }, () => BigInt(rng.int(c.classes)));
    const times = { cpu: [] as number[], gpu: [] as number[] };
    for (const tr of Object.values(trainers)) {
      tr.setHypers({ lr: 0.01, weight_decay: 1e-3, clip_norm: 10, man_zeta: c.zeta });
      await tr.step(x, y, c.batch); // warm-up: the first WebGPU run compiles its shaders
    }
    for (let r = 0; r < rounds; r++) {
      for (const k of ['cpu', 'gpu'] as const) {
        const t0 = performance.now();
        for (let i = 0; i < steps; i++) await trainers[k].step(x, y, c.batch);
        times[k].push((performance.now() - t0) / steps);
      }
    }
    for (const tr of Object.values(trainers)) await tr.release();
    return { cpu: median(times.cpu), gpu: median(times.gpu) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Seconds of one FedAvg + MAN round (cnn-mnist, local epoch, batch 50) on a device. */
async function roundSeconds(device: 'cpu' | 'webgpu', clients: number, perClient: number): Promise<number> {
  const out = await mkdtemp(path.join(os.tmpdir(), 'fedman-bench-round-'));
  try {
    const r = await simulate(mergeConfig({
      data: 'mnist', limit: clients * perClient, testLimit: 100, model: 'cnn-mnist', clients, participation: 1, partition: { scheme: 'iid' },
      rounds: 2, localEpochs: 1, batchSize: 50, man: 0.15, device, workers: device === 'cpu' ? 'auto' : 0, threads: device === 'cpu' ? 1 : 2, evalEvery: 1000,
    }), { out });
    return r.report.rounds[1]!.seconds; // round 1 pays the WebGPU shader compilation
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

export async function benchWebGpu(opts: { quick: boolean; threads: number; log: (s: string) => void }): Promise<string> {
  const f = (v: number | null, d = 1) => (v === null || !Number.isFinite(v) ? 'n/a' : v.toFixed(d));
  const report = await diagnoseDevices();
  const icd = report.vulkan?.icdFilenames ?? report.vulkan?.drivers.join(', ') ?? 'n/a';
  const software = /swiftshader/i.test(icd) || /lvp|lavapipe/i.test(icd);
  const head = `## WebGPU (issue 16)\n\nProduced by \`npm run bench -- --device webgpu${opts.quick ? ' --quick' : ''}\` on ${new Date().toISOString().slice(0, 10)} ` +
    `(${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, load average ${os.loadavg()[0]!.toFixed(1)} at the start). ` +
    `WebGPU adapter: ${report.webgpu.available ? 'found' : `none (${report.webgpu.detail})`}; Vulkan driver: ${icd}.`;
  if (!report.webgpu.available) return `${head}\n\nNot measured: no WebGPU adapter.\n`;
  const fixture = (name: string) => path.join('test/fixtures/pretrained', `${name}.onnx`);
  const cifar = ZOO['cnn-cifar100']!;
  const cifarTorch = (batch: number) => () => torchMs('scripts/torch_bench.py', ['--models', 'cifar', '--zetas', '0.15', '--batch', String(batch), '--steps', opts.quick ? '3' : '20', '--warmup', '2'],
    (j) => j.results?.[0]?.ms_per_step_median);
  const cases: Case[] = [
    { label: 'cnn-cifar100', model: 'cnn-cifar100', batch: 50, shape: cifar.inputShape, classes: cifar.numClasses, zeta: 0.15, torch: cifarTorch(50) },
    { label: 'cnn-cifar100', model: 'cnn-cifar100', batch: 256, shape: cifar.inputShape, classes: cifar.numClasses, zeta: 0.15, torch: cifarTorch(256) },
    { label: 'resnet18s', model: fixture('resnet18s'), batch: 50, shape: [3, 32, 32], classes: 10, zeta: 0.1,
      torch: () => torchMs('scripts/torch_bench_resnet.py', ['--batch', '50', '--steps', opts.quick ? '3' : '20', '--warmup', '2'], (j) => j.results?.['0.1']?.ms_per_step_median) },
    { label: 'mobilenetv2s', model: fixture('mobilenetv2s'), batch: 50, shape: [3, 32, 32], classes: 10, zeta: 0.1 },
  ];
  const rows: string[] = [];
  let target = '';
  for (const c of cases) {
    opts.log(`webgpu: ${c.label} batch ${c.batch}...`);
    const t = await stepTimes(c, opts.threads, opts.quick ? 1 : 5, opts.quick ? 1 : 5);
    const torch = c.torch?.() ?? null;
    rows.push(`| ${c.label} (batch ${c.batch}) | ${f(t.gpu)} | ${f(t.cpu)} | ${f(torch)} | ${f(t.cpu / t.gpu, 2)}× | ${torch === null ? 'n/a' : `${f(torch / t.gpu, 2)}×`} |`);
    if (c.label === 'cnn-cifar100' && c.batch === 256) target = `cnn-cifar100 at batch 256: WebGPU ${f(t.cpu / t.gpu, 2)}× the ${opts.threads}-thread CPU step (target ≥ 10× on a GPU).`;
  }
  opts.log('webgpu: FL round...');
  const [clients, per] = opts.quick ? [4, 50] : [10, 100];
  const round = { cpu: await roundSeconds('cpu', clients, per), gpu: await roundSeconds('webgpu', clients, per) };
  const note = software
    ? `**No GPU was measured: the only Vulkan driver here is ${icd} (software rendering on the CPU), so these WebGPU figures only show that the path runs, not GPU speed.** Rerun this command on a machine with a GPU and its Vulkan (Linux), Metal (macOS) or D3D12 (Windows) driver.`
    : `Measured on the GPU behind the adapter above.`;
  return `${head}

${note}

Train step with MAN (SGD lr 0.01, weight decay 1e-3, clip 10), median ms per step of alternating rounds; WebGPU keeps
parameters, optimiser state and BN statistics in GPU memory between steps (one batch upload and the metric scalars
per step). CPU: the same artifacts on the CPU EP, ${opts.threads} threads. PyTorch: 1.13 + OpenBLAS, ${opts.threads} threads
(\`scripts/torch_bench.py\`, \`scripts/torch_bench_resnet.py\`; no MobileNetV2 script).

| model | WebGPU ms/step | CPU EP ms/step | PyTorch CPU ms/step | WebGPU speed-up vs CPU EP | vs PyTorch |
|---|---|---|---|---|---|
${rows.join('\n')}

${target}

FL round (FedAvg + MAN ζ 0.15, cnn-mnist, ${clients} clients × ${per} MNIST samples, 1 local epoch, batch 50; round 2, after round 1
compiled the shaders): CPU ${f(round.cpu, 2)} s (worker threads × 1 intra-op thread), WebGPU ${f(round.gpu, 2)} s (one GPU, main thread).
`;
}
