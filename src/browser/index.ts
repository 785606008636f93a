/**
 * fedman's browser entry (bundled by scripts/build-browser.ts into dist/browser/fedman.js; usage: docs/browser.md).
 * Everything here runs on onnxruntime-web (wasm, or the GPU through its WebGPU build with `device: 'webgpu'`) and
 * needs no file system: artifacts come over HTTP (loadArtifactsFromUrl) or from memory (Trainer.fromArtifacts);
 * checkpoints and exported models are bytes.
 */
import { Trainer, type FromArtifactsOptions } from '../runtime/trainer.js';
import type { EpochMetrics, EpochOptions } from '../runtime/trainer-interface.js';
import { loadArtifactsFromUrl, type FetchLike } from '../runtime/artifact-source.js';
import type { Dataset } from '../data/dataset.js';
import type { Device } from '../runtime/device.js';
import { chooseBrowserDevice } from '../runtime/browser-device.js';

export { Trainer } from '../runtime/trainer.js';
export type { FromArtifactsOptions } from '../runtime/trainer.js';
export { loadArtifactsFromUrl, type ArtifactFiles, type FetchLike } from '../runtime/artifact-source.js';
export { loadBackend, defaultBackendName, type BackendName, type Backend } from '../runtime/backend.js';
export { DEVICES, parseDevice, type Device } from '../runtime/device.js';
export { chooseBrowserDevice, type DeviceChoice } from '../runtime/browser-device.js';
export { checkDatasetFits, runEpoch } from '../runtime/epoch.js';
export type { TrainerLike, TrainerOptions, StepMetrics, EpochMetrics, EvalMetrics, EpochOptions } from '../runtime/trainer-interface.js';
export {
  BatchLoader, makeDataset, validateDataset, subset, takeFirst, classCounts, shuffledIndices, sampleSize, normalizeInPlace,
  type Dataset, type Batch,
} from '../data/dataset.js';
export { Rng, createRng, shuffle, dirichlet } from '../util/rng.js';
export { parseManifest, checkManifest, MANIFEST_FILE, type ArtifactManifest } from '../training/manifest.js';
export { encodeSafetensors, decodeSafetensors, type NamedTensor } from '../runtime/safetensors.js';
export { FedmanError } from '../util/errors.js';

export interface TrainOnceOptions extends Omit<FromArtifactsOptions, 'device'>, EpochOptions {
  /** 'auto' (default): WebGPU when the browser has an adapter and the artifacts a WebGPU lowering, else wasm. */
  device?: Device | 'auto';
  /** Hyperparameters to set before training (lr, man_zeta, ...). */
  hypers?: Record<string, number | undefined>;
  /** Start from these parameters (e.g. the server's global model) instead of the artifacts' initial ones. */
  params?: Float32Array;
  fetchImpl?: FetchLike;
}

/**
 * Convenience for a page: fetch the artifacts at `baseUrl`, train one epoch (or `maxSteps` steps) on `ds`, and
 * return the metrics and the new parameters. The trainer is released afterwards.
 */
export async function trainOnce(baseUrl: string | URL, ds: Dataset, opts: TrainOnceOptions): Promise<{ metrics: EpochMetrics; params: Float32Array }> {
  const isNode = typeof process !== 'undefined' && !!process.versions?.node;
  const choice = await chooseBrowserDevice(opts.device ?? (isNode ? 'cpu' : 'auto'));
  const files = await loadArtifactsFromUrl(baseUrl, opts.fetchImpl, { webgpu: choice.device === 'webgpu' });
  const { device } = files.webgpu || choice.device === 'cpu' ? choice : choice.fallback('the artifacts have no WebGPU graphs (fedman artifacts --webgpu)');
  const trainer = await Trainer.fromArtifacts(files, { backend: opts.backend ?? 'web', device, threads: opts.threads, dir: opts.dir ?? String(baseUrl) });
  try {
    if (opts.hypers) trainer.setHypers(opts.hypers);
    if (opts.params) trainer.setParams(opts.params);
    const metrics = await trainer.trainEpoch(ds, opts);
    return { metrics, params: await trainer.readParams() };
  } finally {
    await trainer.release();
  }
}

// The federation protocol, for apps that embed a client (the page at /client/ of `fedman serve` uses the same).
export { FedHttp, ProtocolError, readJson, sleep, type HttpOptions } from '../client/http.js';
export { trainAndUpload, trainTaskOf, downloadClientInput, clientKeyHeader, type RoundIO, type TrainedRound, type TrainTaskMessage, type ClientRoundReport } from '../client/round.js';
export { runLocalTraining, type TrainTask } from '../fl/local-training.js';
export type { JoinResponse, TaskMessage, UploadResult } from '../protocol/index.js';
