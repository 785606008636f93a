/**
 * Copies tensors between host and GPU memory on the WebGPU EP: one run of an Identity graph whose outputs are
 * left in GPU memory ('gpu-buffer', toGpu) or come back to the host (toHost). One session per direction, dtype and
 * tensor count, reused. (onnxruntime-node 1.30 aborts the process in Tensor.getData() of a GPU tensor; a session
 * run is the copy that works in both onnxruntime-node and onnxruntime-web.)
 */
import { GraphBuilder } from '../onnx/builder.js';
import { encodeModel } from '../onnx/model-codec.js';
import { DataType } from '../onnx/proto.js';
import { createSession, type Backend, type OrtTensor, type Session } from './backend.js';

export const onGpu = (t: OrtTensor | undefined): boolean => t?.location === 'gpu-buffer';

/** Frees a tensor's GPU buffer now instead of whenever the garbage collector gets to it. */
export function disposeGpu(t: OrtTensor | undefined): void {
  if (onGpu(t)) t!.dispose();
}

export class DeviceCopier {
  private readonly sessions = new Map<string, Promise<Session>>();

  constructor(private readonly backend: Backend) {}

  private session(k: number, dtype: string, gpu: boolean): Promise<Session> {
    const key = `${k}|${dtype}|${gpu}`;
    let s = this.sessions.get(key);
    if (!s) {
      const b = new GraphBuilder();
      const type = dtype === 'int32' ? DataType.INT32 : DataType.FLOAT;
      for (let i = 0; i < k; i++) {
        b.input(`i${i}`, type);
        b.add('Identity', [`i${i}`], {}, { outputs: [`o${i}`] });
        b.output(`o${i}`, type);
      }
      const outs = Array.from({ length: k }, (_, i) => `o${i}`);
      s = createSession(this.backend, encodeModel(b.toModel('fedman_copy')), { gpuOutputs: gpu ? outs : [] });
      this.sessions.set(key, s);
    }
    return s;
  }

  /** Host copies of the tensors, in order (tensors already on the host are returned as they are). */
  toHost(tensors: readonly OrtTensor[]): Promise<OrtTensor[]> {
    return this.move(tensors, false);
  }

  /** GPU copies of float32/int32 host tensors, in order (uploaded once, then fed to any session without a copy). */
  toGpu(tensors: readonly OrtTensor[]): Promise<OrtTensor[]> {
    return this.move(tensors, true);
  }

  private async move(tensors: readonly OrtTensor[], gpu: boolean): Promise<OrtTensor[]> {
    const copies = [...tensors];
    for (const dtype of ['float32', 'int32']) {
      const idx = tensors.flatMap((t, i) => (onGpu(t) !== gpu && t.type === dtype ? [i] : []));
      if (idx.length === 0) continue;
      const s = await this.session(idx.length, dtype, gpu);
      const out = await s.run(Object.fromEntries(idx.map((i, k) => [`i${k}`, tensors[i]!])));
      idx.forEach((i, k) => { copies[i] = out[`o${k}`]!; });
    }
    return copies;
  }

  async release(): Promise<void> {
    for (const s of this.sessions.values()) await (await s).release();
    this.sessions.clear();
  }
}
