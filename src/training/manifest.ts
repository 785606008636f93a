/** The artifacts directory's manifest: everything a runtime needs to feed and fetch the graphs. */
import type { Dim } from '../onnx/builder.js';
import type { ParamInfo } from './prepare.js';
import type { BufferInfo } from './buffers.js';
import type { HyperParamSpec } from './hyperparams.js';
import type { TrainStepIO } from './names.js';
import type { OrtTrainingManifest } from './ort-training/export.js';

import { FedmanError } from '../util/errors.js';

export const MANIFEST_FILE = 'manifest.json';
export const ARTIFACT_FORMAT = 'fedman-artifacts';
export const ARTIFACT_VERSION = 1;

export interface ArtifactManifest {
  format: typeof ARTIFACT_FORMAT;
  version: number;
  model: string;
  optimizer: string;
  loss: string;
  numClasses: number;
  input: { name: string; dims: Dim[] };
  labels: string;
  /** The graph output trained (the forward model's). */
  logits: string;
  /** The labels input when it is not int64 class indices [batch] (losses other than a classifier's; see docs/api.md):
   *  element type, dims (batch first) and the predictions per sample that `correct` counts (0: no accuracy). */
  target?: { dtype: 'int64' | 'float32'; dims: Dim[]; perSample: number };
  /** The output's class axis (cross-entropy over a non-default axis, ctc). */
  classAxis?: number;
  /** Trainable parameters in flat-vector order. */
  params: ParamInfo[];
  paramCount: number;
  /** BatchNormalization running statistics the train step updates and the trainer carries (absent: none). */
  buffers?: BufferInfo[];
  stateNames: string[];
  clientTerms: string[];
  /** Two-pass sharpness-aware step, if compiled in. */
  sam: 'sam' | 'asam' | null;
  clientInputs: string[];
  hyperParams: HyperParamSpec[];
  manLayers: string[];
  outputs: TrainStepIO['outputs'];
  files: { trainStep: string; eval: string; forward: string };
  /** Present when built with the WebGPU lowering (--webgpu): the graphs a WebGPU session runs, and the int64 inputs they take as int32. */
  webgpu?: WebGpuFiles;
  /** Present when built with --format ort-training: ORT's on-device-training artifacts in `ortTraining.dir`. */
  ortTraining?: OrtTrainingManifest;
}

export interface WebGpuFiles { trainStep: string; eval: string; int32Inputs: string[] }

/** Parses and checks a manifest's JSON text (`where` names it in errors). No file system: browser-safe. */
export function parseManifest(text: string, where: string): ArtifactManifest {
  let m: ArtifactManifest;
  try { m = JSON.parse(text) as ArtifactManifest; } catch (err) {
    throw new FedmanError(`'${where}' is not valid JSON: ${(err as Error).message}`);
  }
  return checkManifest(m, where);
}

export function checkManifest(m: ArtifactManifest, where: string): ArtifactManifest {
  if (m === null || typeof m !== 'object') throw new FedmanError(`'${where}' is not a manifest object`);
  if (m.format !== ARTIFACT_FORMAT) throw new FedmanError(`'${where}': field 'format' must be '${ARTIFACT_FORMAT}'`);
  if (m.version !== ARTIFACT_VERSION) throw new FedmanError(`'${where}': artifact version ${m.version} is not supported (expected ${ARTIFACT_VERSION}); rebuild the artifacts`);
  return m;
}
