/**
 * `fedman artifacts --format ort-training`: the four files ONNX Runtime's on-device training API loads
 * (training_model.onnx, eval_model.onnx, optimizer_model.onnx, checkpoint), written into `<out>/ort-training/`
 * next to fedman's own artifacts (artifacts.ts writes both through the same staging directory).
 *
 * fedman optimizer → ORT optimizer model:
 *   sgd   → SGDOptimizerV2 (w ← w − lr·g; no momentum), L2 weight decay as training-model input `weight_decay`;
 *   adam  → AdamWOptimizer with weight_decay 0, L2 weight decay as training-model input `weight_decay`;
 *   adamw → AdamWOptimizer with the decoupled weight decay baked in (torch.optim.AdamW semantics).
 * The learning rate, Adam's betas and epsilon are baked into the optimizer model (ORT's optimizer graph takes no
 * other inputs); MAN's ζ, clip_norm (and weight_decay where it is L2) are runtime inputs of the training model.
 */
import type { ModelProto } from '../../onnx/proto.js';
import { encodeModel } from '../../onnx/model-io.js';
import { tensorToFloat32 } from '../../onnx/tensor.js';
import { FedmanError } from '../../util/errors.js';
import { getOptimizer } from '../optimizers/index.js';
import { COMMON_HYPERPARAMS, type HyperParamSpec } from '../hyperparams.js';
import type { LossKind } from '../loss.js';
import type { ManLayers } from '../man.js';
import type { PreparedModel } from '../prepare.js';
import { buildTrainingModel } from './training-model.js';
import { buildEvalModel } from './eval-model.js';
import { buildOptimizerModel, ORT_DEFAULT_LR, type OrtOptimizerKind } from './optimizer-model.js';
import { parametersCheckpoint, CHECKPOINT_VERSION, CHECKPOINT_VERSIONS } from './checkpoint.js';

export const ORT_TRAINING_DIR = 'ort-training';
export const ORT_TRAINING_FILES = {
  training: 'training_model.onnx',
  eval: 'eval_model.onnx',
  optimizer: 'optimizer_model.onnx',
  checkpoint: 'checkpoint',
} as const;

/** Export-time settings baked into optimizer_model.onnx. Defaults: fedman's hyperparameter defaults. */
export interface OrtTrainingOptions {
  lr?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** AdamW's decoupled weight decay (only with optimizer 'adamw'; for sgd/adam it is the runtime input). */
  weightDecay?: number;
  /** Checkpoint format: 2 (default) for ORT 1.18–1.19, 1 for ORT 1.17. Each ORT reads only its own version. */
  checkpointVersion?: number;
}

/** What the manifest records about the export (`manifest.ortTraining`). */
export interface OrtTrainingManifest {
  dir: string;
  files: typeof ORT_TRAINING_FILES;
  /** The ORT optimizer op: 'adamw' (AdamWOptimizer) or 'sgd' (SGDOptimizerV2). */
  optimizer: OrtOptimizerKind;
  /** Effective learning rate while the runtime feeds its default learning rate. */
  learningRate: number;
  /** ORT's default runtime learning rate (0.001) and the factor the optimizer model applies to it. */
  runtimeLearningRate: number;
  lrScale: number;
  /** The checkpoint's format version (2: ORT 1.18–1.19; 1: ORT 1.17). */
  checkpointVersion: number;
  /** Baked Adam settings (AdamW only) and decoupled weight decay (0 unless fedman optimizer 'adamw'). */
  beta1?: number;
  beta2?: number;
  eps?: number;
  decoupledWeightDecay: number;
  /** User inputs of the training model, in the order ORT feeds them. */
  trainingInputs: string[];
  /** Scalar hyperparameter inputs among them (the rest are the data and the labels). */
  hyperParams: HyperParamSpec[];
  trainingOutputs: string[];
  evalInputs: string[];
  evalOutputs: string[];
}

export interface OrtTrainingBuilt {
  manifest: OrtTrainingManifest;
  trainingModel: ModelProto;
  evalModel: ModelProto;
  optimizerModel: ModelProto;
  checkpoint: Uint8Array;
}

export interface OrtTrainingSource {
  name: string;
  optimizer: string;
  loss: LossKind;
  manLayers: ManLayers;
  /** Features of fedman's train step the ORT export does not carry (rejected with a clear error). */
  clientTerms?: readonly { name: string }[];
  sam?: string | null;
}

const hyperDefault = (list: readonly HyperParamSpec[], name: string) => list.find((h) => h.name === name)!.default;

export async function buildOrtTraining(prepared: PreparedModel, src: OrtTrainingSource, opts: OrtTrainingOptions = {}): Promise<OrtTrainingBuilt> {
  if (src.clientTerms?.length) {
    throw new FedmanError(`--format ort-training does not support client terms (${src.clientTerms.map((t) => t.name).join(', ')}); build ORT artifacts without them`);
  }
  if (src.sam) throw new FedmanError(`--format ort-training does not support the two-pass '${src.sam}' step; build ORT artifacts without it`);
  if (prepared.buffers?.length) {
    throw new FedmanError(`--format ort-training does not support BatchNormalization running statistics (${prepared.buffers.map((x) => x.name).join(', ')}); ORT's training API cannot carry updated running statistics from step to step`);
  }
  const fedmanOpt = getOptimizer(src.optimizer);
  const kind: OrtOptimizerKind = fedmanOpt.kind === 'sgd' ? 'sgd' : 'adamw';
  const decoupled = fedmanOpt.kind === 'adamw';
  if (opts.weightDecay !== undefined && !decoupled) {
    throw new FedmanError(`a baked weight decay applies to --optimizer adamw only; with '${fedmanOpt.kind}' weight decay is the training model's runtime input 'weight_decay'`);
  }
  const lr = opts.lr ?? hyperDefault(COMMON_HYPERPARAMS, 'lr');
  const adam = kind === 'adamw'
    ? {
        beta1: opts.beta1 ?? hyperDefault(fedmanOpt.hyperParams, 'beta1'),
        beta2: opts.beta2 ?? hyperDefault(fedmanOpt.hyperParams, 'beta2'),
        eps: opts.eps ?? hyperDefault(fedmanOpt.hyperParams, 'eps'),
      }
    : {};
  const decoupledWeightDecay = decoupled ? opts.weightDecay ?? 0 : 0;
  const checkpointVersion = opts.checkpointVersion ?? CHECKPOINT_VERSION;
  if (!CHECKPOINT_VERSIONS.includes(checkpointVersion)) {
    throw new FedmanError(`ORT checkpoint version must be 2 (ORT 1.18-1.19) or 1 (ORT 1.17), got ${checkpointVersion}`);
  }

  const training = await buildTrainingModel(prepared, { loss: src.loss, manLayers: src.manLayers, l2WeightDecay: !decoupled });
  const evalModel = await buildEvalModel(prepared, src.loss);
  const { model: optimizerModel, lrScale } = buildOptimizerModel({ kind, lr, ...adam, weightDecay: decoupledWeightDecay });

  const inits = new Map((prepared.model.graph?.initializer ?? []).map((t) => [t.name!, t]));
  const checkpoint = parametersCheckpoint(
    prepared.params.map((p) => ({ name: p.name, dims: p.dims, values: tensorToFloat32(inits.get(p.name)!, `parameter '${p.name}'`) })),
    {
      ints: [],
      floats: [{ name: 'fedman.learning_rate', value: lr }],
      strings: [{ name: 'fedman.model', value: src.name }, { name: 'fedman.optimizer', value: fedmanOpt.kind }],
    },
    checkpointVersion,
  );

  const manifest: OrtTrainingManifest = {
    dir: ORT_TRAINING_DIR,
    files: ORT_TRAINING_FILES,
    optimizer: kind,
    learningRate: lr,
    runtimeLearningRate: ORT_DEFAULT_LR,
    lrScale,
    checkpointVersion,
    ...adam,
    decoupledWeightDecay,
    trainingInputs: training.io.inputs,
    hyperParams: training.io.hyperParams,
    trainingOutputs: training.io.outputs,
    evalInputs: evalModel.inputs,
    evalOutputs: evalModel.outputs,
  };
  return { manifest, trainingModel: training.model, evalModel: evalModel.model, optimizerModel, checkpoint };
}

/** The files to write, as paths relative to the artifacts directory. */
export function ortTrainingFiles(built: OrtTrainingBuilt): [string, Uint8Array][] {
  const f = built.manifest.files;
  const at = (file: string) => `${built.manifest.dir}/${file}`;
  return [
    [at(f.training), encodeModel(built.trainingModel)],
    [at(f.eval), encodeModel(built.evalModel)],
    [at(f.optimizer), encodeModel(built.optimizerModel)],
    [at(f.checkpoint), built.checkpoint],
  ];
}
