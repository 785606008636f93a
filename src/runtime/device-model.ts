/**
 * A model's bytes as a device runs them: unchanged on the CPU, lowered for the WebGPU EP (src/onnx/webgpu/) on
 * 'webgpu'. Node only (the lowering probes shapes with onnxruntime-node).
 */
import { decodeModel, encodeModel } from '../onnx/model-codec.js';
import type { Device } from './device.js';

export async function modelForDevice(bytes: Uint8Array, device: Device, where: string): Promise<Uint8Array> {
  if (device === 'cpu') return bytes;
  const { lowerModelForWebGpu } = await import('../onnx/webgpu/index.js');
  return encodeModel((await lowerModelForWebGpu(decodeModel(bytes, where))).model);
}
