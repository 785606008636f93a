// Creates one WebGPU session per model file given, with ORT's verbose log on stderr (read by webgpu.ts). Each
// session logs under its file's index as log id, so its lines are found whatever order the log arrives in.
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';

const files = process.argv.slice(2);
for (let i = 0; i < files.length; i++) {
  const s = await ort.InferenceSession.create(readFileSync(files[i]), {
    executionProviders: ['webgpu'], logSeverityLevel: 0, logId: `m${i}`, graphOptimizationLevel: 'extended',
  });
  await s.release();
}
