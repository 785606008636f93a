/**
 * `--device webgpu` from the command line, as a user meets it: `fedman doctor` finds the adapter, artifacts train
 * on it and the export evaluates on it, and without a Vulkan driver every command says what is missing in one
 * line (no stack trace, exit code 1).
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { tmpDir } from '../data/tmpdir.js';
import { useSwiftShader } from '../helpers/webgpu.js';

useSwiftShader();
const tmp = tmpDir(t, 'fedman-webgpu-cli-');

function fedman(args: string[], env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync(process.execPath, ['bin/fedman.js', ...args], { encoding: 'utf8', timeout: 300_000, env });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

t.test('doctor lists the WebGPU adapter; train and eval run on it', async (t) => {
  const d = fedman(['doctor', '--json']);
  t.equal(d.code, 0, d.err);
  const report = JSON.parse(d.out);
  t.ok(report.onnxruntime.backends.some((b: { name: string }) => b.name === 'webgpu'), 'onnxruntime-node lists the webgpu backend');
  t.equal(report.webgpu.available, true, report.webgpu.detail);

  const art = path.join(tmp, 'art');
  t.equal(fedman(['artifacts', 'mlp', '--out', art]).code, 0);
  const model = path.join(tmp, 'm.onnx');
  const cpu = fedman(['train', '--artifacts', art, '--limit', '96', '--batch-size', '32', '--json']);
  const gpu = fedman(['train', '--artifacts', art, '--limit', '96', '--batch-size', '32', '--device', 'webgpu', '--json', '--export', model]);
  t.equal(gpu.code, 0, gpu.err);
  const [c, g] = [JSON.parse(cpu.out), JSON.parse(gpu.out)];
  t.equal(g.config.device, 'webgpu');
  t.ok(Math.abs(g.epochs[0].loss - c.epochs[0].loss) <= 1e-5 * c.epochs[0].loss, `epoch loss ${g.epochs[0].loss} vs CPU ${c.epochs[0].loss}`);
  t.equal(g.epochs[0].testAccuracy, c.epochs[0].testAccuracy, 'same test accuracy');
  const e = fedman(['eval', '--model', model, '--limit', '96', '--device', 'webgpu', '--json']);
  t.equal(e.code, 0, e.err);
  t.equal(JSON.parse(e.out).accuracy, g.epochs[0].testAccuracy, 'the export evaluates the same on the GPU');
});

t.test('without a Vulkan driver: one line naming what is missing', async (t) => {
  const env = { ...process.env, VK_ICD_FILENAMES: path.join(tmp, 'no-such-driver.json') };
  const art = path.join(tmp, 'art');
  for (const args of [['train', '--artifacts', art, '--limit', '10', '--device', 'webgpu'], ['flatness', '--model', 'mlp', '--samples', '8', '--device', 'webgpu']]) {
    const r = fedman(args, env);
    t.equal(r.code, 1, `${args[0]}: exit code 1`);
    t.match(r.err, /fedman: error: no WebGPU adapter: .*Vulkan driver/, `${args[0]}: names the missing driver`);
    // Dawn itself prints its Vulkan warnings (with C++ source locations); no JavaScript stack trace may follow.
    t.notMatch(r.err, /internal error|^\s+at .*\.m?[jt]s:\d+/m, `${args[0]}: no stack trace`);
  }
  const d = fedman(['doctor'], env);
  t.equal(d.code, 0);
  t.match(d.out, /webgpu: no: no WebGPU adapter/);
  t.match(d.out, /devices: cpu$/m);
  const bad = fedman(['train', '--artifacts', art, '--device', 'tpu']);
  t.equal(bad.code, 2);
  t.match(bad.err, /--device: expected one of cpu, webgpu, got 'tpu'/);
});
