/**
 * The WebGPU lowering with the shapes it needs: probed by running the model on the CPU (shape-probe.ts), so this
 * entry is Node-only; lower.ts itself is a pure graph rewrite.
 */
import type { ModelProto } from '../proto.js';
import { probeShapes } from '../shape-probe.js';
import { lowerForWebGpu, type LoweredModel } from './lower.js';

export { lowerForWebGpu, type LoweredModel } from './lower.js';

export async function lowerModelForWebGpu(model: ModelProto): Promise<LoweredModel> {
  return lowerForWebGpu(model, await probeShapes(model));
}
