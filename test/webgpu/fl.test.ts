/**
 * Federated learning and flatness on the GPU (ONNX Runtime's WebGPU EP on SwiftShader) against the CPU: a 2-round
 * FedAvg + MAN simulation with `device: 'webgpu'` ends within 1e-5 of the same simulation on the CPU, and
 * Hessian-vector products and the top Hessian eigenvalue agree within 1e-4; a server with `serving.device: 'webgpu'`
 * answers /v2 inference requests with the CPU's logits.
 */
import t from 'tap';
import path from 'node:path';
import { simulate } from '../../src/sim/engine.js';
import { mergeConfig } from '../../src/config/index.js';
import { HessianOperator } from '../../src/flatness/hessian-operator.js';
import { lanczos } from '../../src/flatness/solvers.js';
import { makeDataset } from '../../src/data/dataset.js';
import { Rng } from '../../src/util/rng.js';
import { tmpDir } from '../data/tmpdir.js';
import { useSwiftShader } from '../helpers/webgpu.js';
import { buildApp } from '../../src/server/app.js';
import { TOKENS, serverConfig } from '../server/helpers.js';

useSwiftShader();
const tmp = tmpDir(t, 'fedman-webgpu-fl-');

const relMax = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let num = 0, den = 1e-12;
  for (let i = 0; i < a.length; i++) { num = Math.max(num, Math.abs(a[i]! - b[i]!)); den = Math.max(den, Math.abs(a[i]!)); }
  return num / den;
};

t.test("simulate --device webgpu ends where --device cpu does (2 rounds, FedAvg + MAN)", async (t) => {
  const base = {
    data: 'mnist', limit: 48, testLimit: 40, model: 'mlp', clients: 3, participation: 1, partition: { scheme: 'iid' },
    rounds: 2, localSteps: 2, batchSize: 8, lr: 0.1, man: 0.15, momentum: 0.5,
  };
  const cpu = await simulate(mergeConfig(base, { device: 'cpu', workers: 0 }), { out: path.join(tmp, 'cpu') });
  const gpu = await simulate(mergeConfig(base, { device: 'webgpu' }), { out: path.join(tmp, 'gpu') });
  t.equal(gpu.report.config.workers, 0, "'auto' workers on webgpu: the main thread");
  await t.rejects(simulate(mergeConfig(base, { device: 'webgpu', workers: 2 }), { out: path.join(tmp, 'gpu2') }), /device 'webgpu' trains in one thread: workers must be 0 or 1, got 2/);
  t.ok(relMax(cpu.global, gpu.global) < 1e-5, `global model within 1e-5 (${relMax(cpu.global, gpu.global).toExponential(2)})`);
  for (const [i, r] of gpu.report.rounds.entries()) {
    const c = cpu.report.rounds[i]!;
    t.ok(Math.abs(r.trainLoss - c.trainLoss) <= 1e-5 * Math.abs(c.trainLoss), `round ${i + 1}: train loss ${r.trainLoss} vs ${c.trainLoss}`);
    t.ok(Math.abs(r.testLoss! - c.testLoss!) <= 1e-5 * Math.abs(c.testLoss!), `round ${i + 1}: test loss ${r.testLoss} vs ${c.testLoss}`);
    t.equal(r.testAccuracy, c.testAccuracy, `round ${i + 1}: test accuracy`);
  }
});

t.test('Hessian-vector products and the top eigenvalue on WebGPU agree with the CPU (1e-4)', async (t) => {
  const rng = new Rng(5);
  const n = 12;
  const ds = makeDataset({ name: 'random', x: Float32Array.from({ length: n * 784 }, () => rng.normal()), y: Int32Array.from({ length: n }, () => rng.int(10)), n, sampleShape: [1, 28, 28], numClasses: 10 });
  const ops = await Promise.all((['cpu', 'webgpu'] as const).map((device) => HessianOperator.create('mlp', { zeta: 0.2, device, threads: 1 })));
  t.teardown(async () => { for (const op of ops) await op.release(); });
  for (const op of ops) op.setData(ds, { batchSize: 6 });
  const v = Float64Array.from({ length: ops[0]!.dim }, () => rng.normal());
  const [a, b] = await Promise.all(ops.map((op) => op.apply(v)));
  t.ok(relMax(a!.hv, b!.hv) < 1e-4, `H·v within 1e-4 (${relMax(a!.hv, b!.hv).toExponential(2)})`);
  t.ok(Math.abs(a!.gv - b!.gv) <= 1e-4 * Math.abs(a!.gv), `gᵀv ${b!.gv} vs ${a!.gv}`);
  const [ea, eb] = [await lanczos(ops[0]!, { maxIter: 8, seed: 1 }), await lanczos(ops[1]!, { maxIter: 8, seed: 1 })];
  t.ok(Math.abs(ea.eigenvalue - eb.eigenvalue) <= 1e-4 * Math.abs(ea.eigenvalue), `top eigenvalue ${eb.eigenvalue} vs CPU ${ea.eigenvalue}`);
});

t.test("serving.device 'webgpu': /v2 inference on the GPU gives the CPU's logits", async (t) => {
  const logits: Record<string, number[]> = {};
  const x = Array.from({ length: 2 * 784 }, (_, i) => Math.sin(i * 0.37) * 0.5 + 0.5);
  for (const device of ['cpu', 'webgpu'] as const) {
    const fed = await buildApp({ config: serverConfig({ clients: 1, serving: { device } }), stateDir: path.join(tmp, `serve-${device}`) });
    t.teardown(() => fed.app.close());
    const headers = { authorization: `Bearer ${TOKENS.inference}` };
    const meta = (await fed.app.inject({ method: 'GET', url: '/v2/models/mlp', headers })).json();
    const r = await fed.app.inject({ method: 'POST', url: '/v2/models/mlp/infer', headers, payload: { inputs: [{ name: meta.inputs[0].name, datatype: 'FP32', shape: [2, 1, 28, 28], data: x }] } });
    t.equal(r.statusCode, 200, `${device}: ${r.body.slice(0, 200)}`);
    logits[device] = r.json().outputs[0].data;
  }
  t.equal(logits.webgpu!.length, 20);
  t.ok(relMax(logits.cpu!, logits.webgpu!) < 1e-5, `logits within 1e-5 (${relMax(logits.cpu!, logits.webgpu!).toExponential(2)})`);
});
