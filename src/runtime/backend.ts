/**
 * The one place that knows which ONNX Runtime package runs the graphs: onnxruntime-node in Node, onnxruntime-web
 * (wasm) in browsers or when asked for (FEDMAN_BACKEND=web). Both expose the same InferenceSession/Tensor API.
 * With device 'webgpu', onnxruntime-node runs its bundled WebGPU EP and the web backend loads onnxruntime-web's
 * WebGPU build (`onnxruntime-web/webgpu`, ORT's native WebGPU EP).
 */
import type * as OrtNode from 'onnxruntime-node';
import { FedmanError } from '../util/errors.js';
import { deviceError, type Device } from './device.js';

export type BackendName = 'node' | 'web';
export type Ort = Pick<typeof OrtNode, 'InferenceSession' | 'Tensor' | 'env'>;
export type Session = OrtNode.InferenceSession;
export type OrtTensor = OrtNode.Tensor;
export type SessionOptions = OrtNode.InferenceSession.SessionOptions;

export interface Backend {
  name: BackendName;
  device: Device;
  ort: Ort;
  sessionOptions(threads?: number): SessionOptions;
}

export interface SessionSpec {
  threads?: number;
  /** Outputs left in GPU memory (WebGPU): fed back as inputs without a copy; the rest are copied to the host. */
  gpuOutputs?: readonly string[];
}

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

export function defaultBackendName(): BackendName {
  const env = isNode ? process.env.FEDMAN_BACKEND : undefined;
  if (env === 'node' || env === 'web') return env;
  if (env) throw new FedmanError(`FEDMAN_BACKEND must be 'node' or 'web', got '${env}'`);
  return isNode ? 'node' : 'web';
}

const cache = new Map<string, Backend>();

export async function loadBackend(name: BackendName = defaultBackendName(), device: Device = 'cpu'): Promise<Backend> {
  const key = `${name}:${device}`;
  const hit = cache.get(key);
  if (hit) return hit;
  let backend: Backend;
  if (name === 'node') {
    const ort = (await import('onnxruntime-node')) as unknown as Ort;
    backend = {
      name, device, ort,
      // Sequential execution and 'extended' optimisation were measured fastest for train-step graphs
      // (docs: onnxruntime-training.md, "Speed").
      sessionOptions: device === 'webgpu'
        ? () => ({ executionProviders: ['webgpu'], executionMode: 'sequential', graphOptimizationLevel: 'extended', logSeverityLevel: 3 })
        : (threads) => ({
          intraOpNumThreads: threads ?? 0, interOpNumThreads: 1, executionMode: 'sequential',
          graphOptimizationLevel: 'extended', logSeverityLevel: 3,
        }),
    };
  } else {
    const ort = (device === 'webgpu' ? await import('onnxruntime-web/webgpu') : await import('onnxruntime-web')) as unknown as Ort;
    ort.env.wasm.numThreads = 1;
    backend = {
      name, device, ort,
      sessionOptions: () => ({ executionProviders: [device === 'webgpu' ? 'webgpu' : 'wasm'], graphOptimizationLevel: 'extended', logSeverityLevel: 3 }),
    };
  }
  cache.set(key, backend);
  return backend;
}

/** Creates a session on the backend's device; a missing GPU adapter becomes a FedmanError that says what is missing. */
export async function createSession(backend: Backend, model: Uint8Array, spec: SessionSpec = {}): Promise<Session> {
  const opts: SessionOptions = { ...backend.sessionOptions(spec.threads) };
  if (backend.device === 'webgpu' && spec.gpuOutputs?.length) {
    opts.preferredOutputLocation = Object.fromEntries(spec.gpuOutputs.map((o) => [o, 'gpu-buffer' as const]));
  }
  try {
    return await backend.ort.InferenceSession.create(model, opts);
  } catch (err) {
    throw deviceError(err, backend.device);
  }
}
