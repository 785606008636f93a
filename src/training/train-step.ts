/**
 * Assembles the self-contained train-step graph: forward → loss (+ MAN) → backward → clipping → optimiser update.
 * It runs as a plain InferenceSession on any ONNX Runtime (no training kernels needed).
 *
 * Inputs: data, labels, hyperparameter scalars, parameters (original names), optimiser state.
 * Outputs: loss, ce, man, correct, grad_norm, then `<param>__next` and `<param>__<state>__next`.
 * BatchNormalization buffers (running statistics, see buffers.ts) are inputs too, with `<buffer>__next` outputs.
 */
import { DataType, type ModelProto } from '../onnx/proto.js';
import { nextName, stateName, type TrainStepIO } from './names.js';
import { COMMON_HYPERPARAMS, type HyperParamSpec } from './hyperparams.js';
import { GraphBuilder } from '../onnx/builder.js';
import { emitLossAndGradients, identityView } from './gradient-graph.js';
import { copyForward, labelsInput, paramInputs } from './graph-inputs.js';
import type { PreparedModel } from './prepare.js';
import type { LossKind } from './loss.js';
import { selectManLayers, type ManLayers } from './man.js';
import { getOptimizer } from './optimizers/index.js';
import type { Optimizer } from './optimizers/types.js';
import type { ClientTerm } from './client-terms.js';
import { emitPerturbation, mixGradients, SAM_HYPERPARAMS, type SamKind } from './sam.js';
import { cloneForward } from './gradient-graph.js';
import { bufferInputs, emitBufferUpdates, trainingForm, type BatchNormUpdate } from './buffers.js';

export interface TrainStepOptions {
  optimizer: string;
  loss: LossKind;
  manLayers: ManLayers;
  /** Local-objective terms of federated algorithms (FedProx, SCAFFOLD, FedDyn...), compiled into the graph. */
  clientTerms?: readonly ClientTerm[];
  /** Two-pass sharpness-aware gradient (FedSAM, FedASAM, FedSpeed). */
  sam?: SamKind;
}

/**
 * Global-norm clipping: the gradients' joint L2 norm and the factor min(1, clip/(norm + 1e-6)) to multiply them by
 * (1 when clip <= 0, i.e. off), as torch.nn.utils.clip_grad_norm_.
 */
export function emitClipCoefficient(b: GraphBuilder, grads: readonly string[], clipNorm: string): { gradNorm: string; coef: string } {
  const gradNorm = b.op('Sqrt', [b.op('Sum', grads.map((g) => b.op('ReduceSumSquare', [g], { keepdims: 0 })))]);
  const coefRaw = b.op('Min', [b.constF(1), b.op('Div', [clipNorm, b.op('Add', [gradNorm, b.constF(1e-6)])])]);
  const coef = b.op('Where', [b.op('Greater', [clipNorm, b.constF(0)]), coefRaw, b.constF(1)]);
  return { gradNorm, coef };
}

/** The prepared model as the train step sees it: BatchNormalization nodes with buffers in training mode. */
export function withTrainingBatchNorm(prepared: PreparedModel): { prepared: PreparedModel; updates: BatchNormUpdate[] } {
  const form = trainingForm(prepared.nodes, prepared.buffers, prepared.shapes);
  return { prepared: { ...prepared, nodes: form.nodes, shapes: form.shapes }, updates: form.updates };
}

export async function buildTrainStep(source: PreparedModel, opts: TrainStepOptions): Promise<{ model: ModelProto; io: TrainStepIO; manLayers: string[] }> {
  // BatchNormalization with buffers runs in training mode here (batch statistics); `updates` emits the new stats.
  const { prepared, updates } = withTrainingBatchNorm(source);
  const opt: Optimizer = getOptimizer(opts.optimizer);
  const b = new GraphBuilder();
  copyForward(b, prepared);
  const labels = labelsInput(b, prepared);
  const hyperParams: HyperParamSpec[] = [...COMMON_HYPERPARAMS, ...opt.hyperParams, ...(opts.clientTerms ?? []).flatMap((t) => t.hyperParams), ...(opts.sam ? SAM_HYPERPARAMS[opts.sam] : [])];
  const hp: Record<string, string> = {};
  for (const h of hyperParams) hp[h.name] = b.input(h.name, DataType.FLOAT, []);
  paramInputs(b, prepared.params);
  bufferInputs(b, prepared.buffers);
  const state = new Map<string, string[]>();
  for (const p of prepared.params) state.set(p.name, opt.stateNames.map((s) => b.input(stateName(p.name, s), DataType.FLOAT, p.dims)));
  const clientInputs = new Map<string, Record<string, string>>();
  for (const p of prepared.params) {
    const perTerm: Record<string, string> = {};
    for (const t of opts.clientTerms ?? []) for (const s of t.perParamInputs) perTerm[s] = b.input(stateName(p.name, s), DataType.FLOAT, p.dims);
    clientInputs.set(p.name, perTerm);
  }

  const manLayers = selectManLayers(prepared, opts.manLayers);
  const lg = await emitLossAndGradients(b, prepared, identityView(prepared), { loss: opts.loss, labels, manLayers, zeta: hp.man_zeta! });
  let grads = lg.grads;
  if (opts.sam) {
    const names = prepared.params.map((p) => p.name);
    const perturbed = emitPerturbation(b, opts.sam, names, lg.grads, hp);
    const view = cloneForward(b, prepared, perturbed, '__sam');
    const lg2 = await emitLossAndGradients(b, prepared, view, { loss: opts.loss, labels, manLayers, zeta: hp.man_zeta!, paramTensors: perturbed });
    grads = new Map(names.map((n) => [n, mixGradients(b, lg.grads.get(n)!, lg2.grads.get(n)!, hp.sam_mix!)]));
  }

  // Local-objective terms of FL algorithms add to the gradient before clipping, as in the reference code where
  // they are part of the loss that is back-propagated and then clipped.
  const total = new Map(grads);
  for (const t of opts.clientTerms ?? []) {
    for (const p of prepared.params) total.set(p.name, t.emitGradient(b, { param: p.name, grad: total.get(p.name)!, inputs: clientInputs.get(p.name)!, hp }));
  }

  const { gradNorm, coef } = emitClipCoefficient(b, prepared.params.map((p) => total.get(p.name)!), hp.clip_norm!);

  const lossTotal = b.op('Identity', [lg.total], {}, { outputs: ['loss'] });
  const ce = b.op('Identity', [lg.loss], {}, { outputs: ['ce'] });
  const manOut = b.op('Identity', [lg.man], {}, { outputs: ['man'] });
  const correct = b.op('Identity', [lg.correct], {}, { outputs: ['correct'] });
  const gradNormOut = b.op('Identity', [gradNorm], {}, { outputs: ['grad_norm'] });
  for (const o of [lossTotal, ce, manOut, correct, gradNormOut]) b.output(o, DataType.FLOAT, []);

  const shared = { ...hp, ...(opt.prepare?.(b, hp) ?? {}) };
  for (const p of prepared.params) {
    const clipped = b.op('Mul', [total.get(p.name)!, coef]);
    const upd = opt.emitUpdate(b, { param: p.name, grad: clipped, state: state.get(p.name)!, hp: shared });
    b.add('Identity', [upd.param], {}, { outputs: [nextName(p.name)] });
    b.output(nextName(p.name), DataType.FLOAT, p.dims);
    opt.stateNames.forEach((s, i) => {
      const out = nextName(stateName(p.name, s));
      b.add('Identity', [upd.state[i]!], {}, { outputs: [out] });
      b.output(out, DataType.FLOAT, p.dims);
    });
  }
  emitBufferUpdates(b, updates, nextName);
  const model = b.toModel('fedman_train_step', { docString: 'fedman train step: forward, loss + MAN, backward, clip, update' });
  const io: TrainStepIO = {
    input: prepared.input.name,
    inputDims: prepared.input.dims,
    labels,
    hyperParams,
    stateNames: [...opt.stateNames],
    clientInputs: (opts.clientTerms ?? []).flatMap((t) => t.perParamInputs),
    outputs: { loss: 'loss', ce: 'ce', man: 'man', correct: 'correct', gradNorm: 'grad_norm' },
  };
  return { model, io, manLayers };
}
