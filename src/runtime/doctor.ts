/**
 * What `fedman doctor` reports: the ONNX Runtime backends this install has, the Vulkan drivers the loader would
 * see (Linux), and whether ONNX Runtime's WebGPU EP gets an adapter (it runs a one-node graph on it). Node only.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { GraphBuilder } from '../onnx/builder.js';
import { encodeModel } from '../onnx/model-codec.js';
import { DataType } from '../onnx/proto.js';
import { createSession, loadBackend } from './backend.js';

export interface DeviceReport {
  node: string;
  platform: string;
  onnxruntime: { version: string; backends: { name: string; bundled: boolean }[] };
  /** Linux: VK_ICD_FILENAMES and the Vulkan driver manifests found (null elsewhere). */
  vulkan: { icdFilenames: string | null; drivers: string[] } | null;
  webgpu: { available: boolean; detail: string; milliseconds?: number };
}

const ICD_DIRS = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];

async function vulkanDrivers(): Promise<string[]> {
  const found: string[] = [];
  for (const d of ICD_DIRS) {
    try { for (const f of await fs.readdir(d)) if (f.endsWith('.json')) found.push(path.join(d, f)); } catch { /* absent */ }
  }
  return found;
}

/** Runs Relu on the WebGPU EP: the adapter exists and computes, or the reason it does not. */
async function tryWebGpu(): Promise<DeviceReport['webgpu']> {
  const b = new GraphBuilder();
  b.input('x', DataType.FLOAT, [4]);
  b.add('Relu', ['x'], {}, { outputs: ['y'] });
  b.output('y', DataType.FLOAT, [4]);
  const t0 = performance.now();
  try {
    const backend = await loadBackend('node', 'webgpu');
    const s = await createSession(backend, encodeModel(b.toModel('fedman_doctor')));
    const out = await s.run({ x: new backend.ort.Tensor('float32', Float32Array.of(-1, 2, -3, 4), [4]) });
    await s.release();
    const y = Array.from(out.y!.data as Float32Array);
    const ok = y.join(',') === '0,2,0,4';
    return { available: ok, detail: ok ? 'ONNX Runtime\'s WebGPU EP found an adapter and ran a test graph on it' : `the test graph gave [${y}] instead of [0,2,0,4]`, milliseconds: performance.now() - t0 };
  } catch (err) {
    return { available: false, detail: (err as Error).message };
  }
}

export async function diagnoseDevices(): Promise<DeviceReport> {
  const require = createRequire(import.meta.url);
  const ortNode = require('onnxruntime-node') as { listSupportedBackends?: () => { name: string; bundled: boolean }[] };
  let version = 'unknown';
  try { version = (require('onnxruntime-node/package.json') as { version: string }).version; } catch { /* exports may hide it */ }
  const backends = ortNode.listSupportedBackends?.() ?? [];
  const hasWebGpu = backends.some((x) => x.name === 'webgpu');
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    onnxruntime: { version, backends },
    vulkan: process.platform === 'linux' ? { icdFilenames: process.env.VK_ICD_FILENAMES ?? null, drivers: await vulkanDrivers() } : null,
    webgpu: hasWebGpu ? await tryWebGpu() : { available: false, detail: `this onnxruntime-node build (${process.platform}-${process.arch}) has no WebGPU execution provider` },
  };
}
