/**
 * training_model.onnx for ONNX Runtime's on-device training API (ORT 1.17–1.19: C/C++, Java/Android,
 * Objective-C/Swift, onnxruntime-web's TrainingSession). It follows the contract of ORT's training Module
 * (orttraining/training_api/module.cc) and of onnxblock's generate_artifacts:
 *
 * - the trainable parameters are graph inputs named exactly as in the checkpoint;
 * - for every parameter an input `<param>_grad.accumulation.buffer` (same shape), plus one input `lazy_reset_grad`
 *   (bool[1]); each gradient goes through com.microsoft::InPlaceAccumulatorV2(buffer, grad, lazy_reset_grad),
 *   whose bool[1] output `<param>_grad.accumulation.out` is a graph output (ORT hides these from the user);
 * - every other input is a user input, fed by position in graph order: data, labels, then the scalar
 *   hyperparameters (`man_zeta`, `clip_norm`, and `weight_decay` for SGD/Adam). ORT treats any input or output
 *   whose name ends in `_grad`, `_grad.accumulation.buffer` or `_grad.accumulation.out` as a gradient, so no user
 *   name may;
 * - the first output is the loss (CE + MAN), then correct, logits, ce, man, grad_norm.
 *
 * The gradient fed to the accumulator is fedman's own (forward + loss + MAN backward from standard ONNX ops, the
 * same emitter as the train-step graph), clipped to `clip_norm` and with L2 weight decay added exactly as
 * fedman's train step does before its optimizer update. Decoupled (AdamW) decay lives in the optimizer model.
 */
import { DataType, type ModelProto } from '../../onnx/proto.js';
import { GraphBuilder } from '../../onnx/builder.js';
import { emitLossAndGradients, identityView } from '../gradient-graph.js';
import { copyForward, labelsInput, paramInputs } from '../graph-inputs.js';
import { COMMON_HYPERPARAMS, type HyperParamSpec } from '../hyperparams.js';
import { emitClipCoefficient } from '../train-step.js';
import { selectManLayers, type ManLayers } from '../man.js';
import type { LossKind } from '../loss.js';
import type { PreparedModel } from '../prepare.js';
import { FedmanError } from '../../util/errors.js';

export const LAZY_RESET_GRAD = 'lazy_reset_grad';
export const gradBufferName = (param: string) => `${param}_grad.accumulation.buffer`;
export const gradOutName = (param: string) => `${param}_grad.accumulation.out`;
/** Suffixes ORT's utils::GetParamNameFromGradient treats as gradients (training_api/utils.cc). */
const GRAD_SUFFIXES = ['_grad.accumulation.buffer', '_grad', '_grad.accumulation.out'];

export const MS_DOMAIN = 'com.microsoft';
export const ORT_OPSETS = { opset: 17, extraOpsets: [{ domain: MS_DOMAIN, version: 1 }] };

export interface TrainingModelOptions {
  loss: LossKind;
  manLayers: ManLayers;
  /** L2 weight decay as a training-model input (true for SGD and Adam; AdamW decays in the optimizer model). */
  l2WeightDecay: boolean;
}

export interface TrainingModelIO {
  /** User inputs in graph order (ORT feeds them by position). */
  inputs: string[];
  /** Scalar float hyperparameter inputs, a subset of fedman's runtime hyperparameters. */
  hyperParams: HyperParamSpec[];
  /** User outputs in graph order; the first is the loss. */
  outputs: string[];
  manLayers: string[];
}

function checkUserName(name: string): void {
  if (GRAD_SUFFIXES.some((s) => name.endsWith(s)) || name === LAZY_RESET_GRAD) {
    throw new FedmanError(`tensor '${name}' cannot be a user input or output of an ORT training model: ORT reserves names ending in ${GRAD_SUFFIXES.join(', ')} and '${LAZY_RESET_GRAD}'`);
  }
}

export async function buildTrainingModel(prepared: PreparedModel, opts: TrainingModelOptions): Promise<{ model: ModelProto; io: TrainingModelIO }> {
  const b = new GraphBuilder();
  copyForward(b, prepared);
  const labels = labelsInput(b, prepared);
  const wanted = ['man_zeta', 'clip_norm', ...(opts.l2WeightDecay ? ['weight_decay'] : [])];
  const hyperParams = wanted.map((n) => COMMON_HYPERPARAMS.find((h) => h.name === n)!);
  const hp: Record<string, string> = {};
  for (const h of hyperParams) hp[h.name] = b.input(h.name, DataType.FLOAT, []);
  paramInputs(b, prepared.params);
  for (const p of prepared.params) b.input(gradBufferName(p.name), DataType.FLOAT, p.dims);
  const reset = b.input(LAZY_RESET_GRAD, DataType.BOOL, [1]);
  b.reserve(prepared.params.map((p) => gradOutName(p.name)));

  const manLayers = selectManLayers(prepared, opts.manLayers);
  const lg = await emitLossAndGradients(b, prepared, identityView(prepared), { loss: opts.loss, labels, manLayers, zeta: hp.man_zeta! });
  const grads = prepared.params.map((p) => lg.grads.get(p.name)!);
  const { gradNorm, coef } = emitClipCoefficient(b, grads, hp.clip_norm!);

  // User outputs: the loss first (ORT's convention), then what fedman's Trainer reports. `correct` and the logits
  // come right after the loss so that onnxruntime-web's runEvalStep, which labels eval outputs with the training
  // model's output names by position, still labels the eval model's [loss, correct, logits] correctly.
  const named = (name: string, t: string) => b.op('Identity', [t], {}, { outputs: [name] });
  const outputs = [
    named('loss', lg.total), named('correct', lg.correct), prepared.logits,
    named('ce', lg.loss), named('man', lg.man), named('grad_norm', gradNorm),
  ];
  for (const o of outputs) {
    checkUserName(o);
    b.output(o, DataType.FLOAT, o === prepared.logits ? prepared.loss.logitDims : []);
  }
  for (const i of [prepared.input.name, labels]) checkUserName(i);

  prepared.params.forEach((p, i) => {
    let g = b.op('Mul', [grads[i]!, coef]);
    if (opts.l2WeightDecay) g = b.op('Add', [g, b.op('Mul', [p.name, hp.weight_decay!])]);
    b.add('InPlaceAccumulatorV2', [gradBufferName(p.name), g, reset], {}, { domain: MS_DOMAIN, outputs: [gradOutName(p.name)] });
    b.output(gradOutName(p.name), DataType.BOOL, [1]);
  });

  const model = b.toModel('fedman_ort_training', {
    ...ORT_OPSETS,
    docString: 'fedman ORT training model: forward, loss + MAN, backward, clip (+ L2 decay), gradient accumulation',
  });
  return {
    model,
    io: { inputs: [prepared.input.name, labels, ...hyperParams.map((h) => h.name)], hyperParams, outputs, manLayers },
  };
}
