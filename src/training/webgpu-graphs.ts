/**
 * The WebGPU lowering of an artifacts directory's train-step and eval graphs (src/onnx/webgpu/): written next to
 * them by `fedman artifacts --webgpu`, or made when a directory without them is loaded for device 'webgpu'.
 * Node only (the lowering probes shapes on onnxruntime-node's CPU EP).
 */
import type { ModelProto } from '../onnx/proto.js';
import { lowerModelForWebGpu } from '../onnx/webgpu/index.js';
import type { WebGpuFiles } from './manifest.js';

export const WEBGPU_FILES: Omit<WebGpuFiles, 'int32Inputs'> = { trainStep: 'train_step.webgpu.onnx', eval: 'eval.webgpu.onnx' };

export async function lowerArtifactGraphs(trainStep: ModelProto, evalModel: ModelProto): Promise<{ trainStep: ModelProto; eval: ModelProto; int32Inputs: string[] }> {
  const t = await lowerModelForWebGpu(trainStep);
  const e = await lowerModelForWebGpu(evalModel);
  return { trainStep: t.model, eval: e.model, int32Inputs: [...new Set([...t.int32Inputs, ...e.int32Inputs])] };
}
