/**
 * `fedman artifacts`: model (file or zoo name) → prepared model → train-step, eval and forward graphs + manifest,
 * written into a directory atomically (a staging directory renamed into place), so a failure leaves nothing behind.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { loadModel, encodeModel } from '../onnx/model-io.js';
import type { ModelProto } from '../onnx/proto.js';
import { buildZooModel, ZOO } from '../../models/index.js';
import { FedmanError } from '../util/errors.js';
import { prepareModel, totalParamSize, type PrepareOptions, type PreparedModel } from './prepare.js';
import { DataType } from '../onnx/proto.js';
import { convertModel } from './convert.js';
import { replaceHead } from './head.js';
import { buildTrainStep } from './train-step.js';
import { buildEvalGraph } from './eval-graph.js';
import type { ManLayers } from './man.js';
import type { ClientTerm } from './client-terms.js';
import type { SamKind } from './sam.js';
import { ARTIFACT_FORMAT, ARTIFACT_VERSION, MANIFEST_FILE, parseManifest, type ArtifactManifest } from './manifest.js';
import { lowerArtifactGraphs, WEBGPU_FILES } from './webgpu-graphs.js';
import { buildOrtTraining, ortTrainingFiles, type OrtTrainingBuilt, type OrtTrainingOptions } from './ort-training/export.js';

/** 'fedman': fedman's own graphs; 'ort-training': those plus ORT's on-device-training artifacts in ort-training/. */
export type ArtifactFormat = 'fedman' | 'ort-training';

export interface ArtifactOptions extends PrepareOptions {
  optimizer?: string;
  manLayers?: ManLayers;
  clientTerms?: readonly ClientTerm[];
  /** Two-pass sharpness-aware step (FedSAM/FedASAM/FedSpeed). */
  sam?: SamKind;
  format?: ArtifactFormat;
  /** Settings baked into the ORT optimizer model (format 'ort-training'). */
  ortTraining?: OrtTrainingOptions;
  /** Also write the WebGPU lowering of the train step and eval graphs (webgpu-graphs.ts), which browsers need. */
  webgpu?: boolean;
  /** Zoo options when the source is a zoo name. For a file model, numClasses replaces the classification head
   *  (freshly initialised, seeded by `seed`, see head.ts) when the model has another number of classes. */
  seed?: number;
  numClasses?: number;
}

export async function resolveModel(source: string, opts: { seed?: number; numClasses?: number } = {}): Promise<{ model: ModelProto; name: string }> {
  if (ZOO[source]) return { model: buildZooModel(source, opts), name: source };
  if (!source.endsWith('.onnx')) {
    try { await fs.access(source); } catch {
      throw new FedmanError(`'${source}' is neither a zoo model (${Object.keys(ZOO).join(', ')}) nor an existing .onnx file`);
    }
  }
  return { model: await loadModel(source), name: path.basename(source, '.onnx') };
}

export interface BuiltArtifacts {
  manifest: ArtifactManifest;
  trainStep: ModelProto;
  eval: ModelProto;
  forward: ModelProto;
  ortTraining?: OrtTrainingBuilt;
  webgpu?: { trainStep: ModelProto; eval: ModelProto };
}

export async function buildArtifacts(model: ModelProto, name: string, opts: ArtifactOptions = {}): Promise<BuiltArtifacts> {
  if (opts.format !== undefined && opts.format !== 'fedman' && opts.format !== 'ort-training') {
    throw new FedmanError(`--format: expected fedman or ort-training, got '${opts.format}'`);
  }
  // Converted first (opset, Constant weights, input shape) so that the head's weights are initializers.
  const { model: converted } = await convertModel(model, { inputShape: opts.inputShape }, `model '${name}'`);
  // A new class count for a file model: fresh head weights (a zoo model is already built with it: no-op).
  const source = opts.numClasses === undefined ? converted : replaceHead(converted, opts.numClasses, { logits: opts.logits, seed: opts.seed }, `model '${name}'`);
  const prepared = await prepareModel(source, opts, `model '${name}'`);
  const loss = opts.loss ?? 'cross-entropy';
  const { model: trainStep, io, manLayers } = await buildTrainStep(prepared, {
    optimizer: opts.optimizer ?? 'sgd', loss, manLayers: opts.manLayers ?? 'auto', clientTerms: opts.clientTerms, sam: opts.sam,
  });
  const evalModel = await buildEvalGraph(prepared, loss);
  const manifest: ArtifactManifest = {
    format: ARTIFACT_FORMAT,
    version: ARTIFACT_VERSION,
    model: name,
    optimizer: opts.optimizer ?? 'sgd',
    loss,
    numClasses: prepared.numClasses,
    input: { name: io.input, dims: io.inputDims },
    labels: io.labels,
    logits: prepared.output,
    ...targetFields(prepared),
    params: prepared.params,
    paramCount: totalParamSize(prepared.params),
    buffers: prepared.buffers,
    stateNames: io.stateNames,
    clientTerms: (opts.clientTerms ?? []).map((t) => t.name),
    sam: opts.sam ?? null,
    clientInputs: io.clientInputs,
    hyperParams: io.hyperParams,
    manLayers,
    outputs: io.outputs,
    files: { trainStep: 'train_step.onnx', eval: 'eval.onnx', forward: 'forward.onnx' },
  };
  let ortTraining: OrtTrainingBuilt | undefined;
  if (opts.format === 'ort-training') {
    ortTraining = await buildOrtTraining(prepared, { name, optimizer: manifest.optimizer, loss, manLayers, clientTerms: opts.clientTerms, sam: opts.sam }, opts.ortTraining);
    manifest.ortTraining = ortTraining.manifest;
  }
  let webgpu: BuiltArtifacts['webgpu'];
  if (opts.webgpu) {
    const low = await lowerArtifactGraphs(trainStep, evalModel);
    webgpu = { trainStep: low.trainStep, eval: low.eval };
    manifest.webgpu = { ...WEBGPU_FILES, int32Inputs: low.int32Inputs };
  }
  return { manifest, trainStep, eval: evalModel, forward: prepared.model, ortTraining, webgpu };
}

/** Writes the artifacts into `outDir` (replacing it) via a staging directory and a rename. */
export async function writeArtifacts(outDir: string, built: BuiltArtifacts): Promise<void> {
  const parent = path.dirname(path.resolve(outDir));
  await fs.mkdir(parent, { recursive: true });
  const staging = await fs.mkdtemp(path.join(parent, `.${path.basename(outDir)}.staging-`));
  try {
    const files: [string, Uint8Array | string][] = [
      [built.manifest.files.trainStep, encodeModel(built.trainStep)],
      [built.manifest.files.eval, encodeModel(built.eval)],
      [built.manifest.files.forward, encodeModel(built.forward)],
      ...(built.webgpu && built.manifest.webgpu ? [[built.manifest.webgpu.trainStep, encodeModel(built.webgpu.trainStep)], [built.manifest.webgpu.eval, encodeModel(built.webgpu.eval)]] as [string, Uint8Array][] : []),
      [MANIFEST_FILE, JSON.stringify(built.manifest, null, 2) + '\n'],
      ...(built.ortTraining ? ortTrainingFiles(built.ortTraining) : []),
    ];
    for (const [file, data] of files) {
      await fs.mkdir(path.dirname(path.join(staging, file)), { recursive: true });
      const fh = await fs.open(path.join(staging, file), 'w');
      try { await fh.writeFile(data); await fh.sync(); } finally { await fh.close(); }
    }
    await fs.rm(outDir, { recursive: true, force: true });
    await fs.rename(staging, outDir);
  } catch (err) {
    await fs.rm(staging, { recursive: true, force: true });
    throw err;
  }
}

export async function createArtifacts(source: string, outDir: string, opts: ArtifactOptions = {}): Promise<ArtifactManifest> {
  const { model, name } = await resolveModel(source, opts);
  const built = await buildArtifacts(model, name, opts);
  await writeArtifacts(outDir, built);
  return built.manifest;
}

/** The manifest's label fields: absent for a classifier (int64 class indices [batch], accuracy per sample). */
function targetFields(prepared: PreparedModel): Pick<ArtifactManifest, 'target' | 'classAxis'> {
  const { kind, classAxis, target: t } = prepared.loss;
  const classifier = t.dtype === DataType.INT64 && t.dims.length === 1 && t.perSample === 1;
  const axis = kind === 'ctc' || (kind === 'cross-entropy' && classAxis !== 1);
  return {
    ...(classifier ? {} : { target: { dtype: t.dtype === DataType.INT64 ? 'int64' : 'float32', dims: t.dims, perSample: t.perSample } }),
    ...(axis ? { classAxis } : {}),
  };
}

export async function readManifest(dir: string): Promise<ArtifactManifest> {
  const file = path.join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    throw new FedmanError(`'${dir}' is not an artifacts directory (no ${MANIFEST_FILE}); create one with 'fedman artifacts'`);
  }
  return parseManifest(text, file);
}
