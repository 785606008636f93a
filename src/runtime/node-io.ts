/**
 * The Node-only file side of the runtime (artifacts directories, checkpoint and model files). Trainer imports it
 * dynamically from its file-path methods only, and the browser build replaces it with a stub
 * (scripts/build-browser.ts), so the trainer core stays free of node:fs.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { readManifest } from '../training/artifacts.js';
import { loadModel } from '../onnx/model-io.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { FedmanError } from '../util/errors.js';
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from './safetensors.js';
import type { ArtifactFiles } from './artifact-source.js';
import type { Device } from './device.js';
import { decodeModel, encodeModel } from '../onnx/model-codec.js';

/**
 * Reads an artifacts directory (manifest + the three ONNX files) into memory; for device 'webgpu' also its
 * WebGPU graphs, lowering the train step and eval graphs here when the directory was built without them.
 */
export async function readArtifactsDir(dir: string, opts: { device?: Device } = {}): Promise<ArtifactFiles> {
  const manifest = await readManifest(dir);
  const read = async (file: string) => {
    try { return await fs.readFile(path.join(dir, file)); } catch {
      throw new FedmanError(`artifacts directory '${dir}' is missing '${file}'`);
    }
  };
  const trainStep = await read(manifest.files.trainStep);
  const evalBytes = await read(manifest.files.eval);
  // loadModel resolves external-data initializers (large imported models).
  const forward = await loadModel(path.join(dir, manifest.files.forward));
  let webgpu: ArtifactFiles['webgpu'];
  if (opts.device === 'webgpu') {
    const w = manifest.webgpu;
    webgpu = w
      ? { trainStep: await read(w.trainStep), eval: await read(w.eval), int32Inputs: w.int32Inputs }
      : await lowerArtifactBytes(trainStep, evalBytes, dir);
  }
  return { manifest, trainStep, eval: evalBytes, forward, webgpu };
}

async function lowerArtifactBytes(trainStep: Uint8Array, evalBytes: Uint8Array, dir: string): Promise<NonNullable<ArtifactFiles['webgpu']>> {
  const { lowerArtifactGraphs } = await import('../training/webgpu-graphs.js');
  const low = await lowerArtifactGraphs(decodeModel(trainStep, `'${dir}' train step`), decodeModel(evalBytes, `'${dir}' eval graph`));
  return { trainStep: encodeModel(low.trainStep), eval: encodeModel(low.eval), int32Inputs: low.int32Inputs };
}

export async function writeBytes(file: string, bytes: Uint8Array): Promise<void> {
  await writeFileAtomic(file, bytes);
}

export async function writeSafetensors(file: string, tensors: Map<string, NamedTensor>, metadata: Record<string, string> = {}): Promise<void> {
  await writeFileAtomic(file, encodeSafetensors(tensors, metadata));
}

export async function readSafetensors(file: string) {
  let bytes: Uint8Array;
  try { bytes = await fs.readFile(file); } catch {
    throw new FedmanError(`cannot read checkpoint '${file}'`);
  }
  return decodeSafetensors(bytes, `checkpoint '${file}'`);
}
