/**
 * The exact Hessian-vector-product graph of the training loss (Pearlmutter's "double backward", all in standard
 * ONNX ops, run by a plain InferenceSession).
 *
 *   forward → loss (+ MAN) → backward (emitLossAndGradients)        g_p = ∂L/∂θ_p
 *   s = Σ_p ReduceSum(g_p ⊙ v_p)                                     s = gᵀv
 *   second backward of s over every node emitted so far              ∂s/∂θ_p = (H v)_p
 *
 * The second backward differentiates the forward, the loss head, the MAN seeds and the first backward's nodes; v
 * is a constant for it. No finite differences: the result is the exact Hessian of the graph's loss applied to v
 * (with the usual conventions at kinks: ReLU/MaxPool masks are piecewise constant, so they contribute no
 * second-order term, as in PyTorch's double backward).
 *
 * Inputs: the data input, `labels`, `man_zeta` (scalar), every parameter (original names), and one direction per
 * parameter `<param>__v`. Outputs: `<param>__hv` per parameter, `loss` (the data loss, e.g. mean CE), `total`
 * (loss + MAN) and `gv` (gᵀv, the directional derivative of `total`).
 */
import { DataType, type ModelProto, type NodeProto } from '../onnx/proto.js';
import { GraphBuilder } from '../onnx/builder.js';
import { probeShapes } from '../onnx/shape-probe.js';
import { encodeAttr } from '../onnx/attrs.js';
import { backward } from '../autodiff/engine.js';
import { emitLossAndGradients, identityView } from '../training/gradient-graph.js';
import { copyForward, labelsInput, paramInputs } from '../training/graph-inputs.js';
import { selectManLayers, type ManLayers } from '../training/man.js';
import type { LossKind } from '../training/loss.js';
import type { ParamInfo, PreparedModel } from '../training/prepare.js';
import { FedmanError } from '../util/errors.js';

export const directionName = (param: string): string => `${param}__v`;
export const hvName = (param: string): string => `${param}__hv`;

export interface HvpGraphOptions {
  /** Loss head (default cross-entropy). */
  loss?: LossKind;
  /** Activations MAN penalises ('auto' default; 'none' builds a graph without the MAN term at all). */
  manLayers?: ManLayers;
}

export interface HvpGraphIO {
  input: string;
  labels: string;
  zeta: string;
  params: ParamInfo[];
  directions: string[];
  hv: string[];
  loss: string;
  total: string;
  gv: string;
}

export interface HvpGraph {
  model: ModelProto;
  io: HvpGraphIO;
  manLayers: string[];
}

/**
 * For the second backward, SoftmaxCrossEntropyLoss is seen as the LogSoftmax that produces its log_prob output:
 * the first backward reads d logits from Exp(log_prob), so the second one needs the gradient through log_prob,
 * which the loss's own rule (written for the loss output) does not provide. The stand-in is used only to walk the
 * graph; the emitted graph keeps the original node.
 */
function secondOrderView(nodes: readonly NodeProto[]): NodeProto[] {
  return nodes.map((n) => {
    if (n.opType !== 'SoftmaxCrossEntropyLoss') return n;
    const logProb = n.output?.[1];
    if (!logProb) throw new FedmanError(`node '${n.name}': SoftmaxCrossEntropyLoss without its log_prob output cannot be differentiated twice`);
    return { ...n, opType: 'LogSoftmax', domain: '', input: [n.input![0]!], output: [logProb], attribute: [encodeAttr('axis', 1)] };
  });
}

export async function buildHvpGraph(prepared: PreparedModel, opts: HvpGraphOptions = {}): Promise<HvpGraph> {
  const b = new GraphBuilder();
  copyForward(b, prepared);
  const labels = labelsInput(b, prepared);
  const zeta = b.input('man_zeta', DataType.FLOAT, []);
  paramInputs(b, prepared.params);
  const directions = prepared.params.map((p) => b.input(directionName(p.name), DataType.FLOAT, p.dims));
  const manLayers = selectManLayers(prepared, opts.manLayers ?? 'auto');
  const lg = await emitLossAndGradients(b, prepared, identityView(prepared), { loss: opts.loss ?? 'cross-entropy', labels, manLayers, zeta });

  const dots = prepared.params.map((p, i) => b.op('ReduceSum', [b.op('Mul', [lg.grads.get(p.name)!, directions[i]!])], { keepdims: 0 }));
  const gv = dots.length === 1 ? dots[0]! : b.op('Sum', dots);

  // Shapes of every tensor emitted so far (forward, loss head, MAN, first backward), for the second backward.
  const shapes = await probeShapes(b.toModel('fedman_hvp_probe'));
  const nodes = secondOrderView(b.nodes);
  const wrt = prepared.params.map((p) => p.name);
  const { grads } = backward(b, { nodes, shapes, wrt, seeds: new Map([[gv, b.constF(1)]]) });

  const taken = [...prepared.params.map((p) => hvName(p.name)), 'loss', 'total', 'gv'].filter((n) => b.has(n));
  if (taken.length > 0) throw new FedmanError(`the model already uses tensor names the HVP graph outputs: ${taken.join(', ')}`);
  const hv = prepared.params.map((p) => {
    const out = hvName(p.name);
    b.add('Identity', [grads.get(p.name)!], {}, { outputs: [out] });
    b.output(out, DataType.FLOAT, p.dims);
    return out;
  });
  b.add('Identity', [lg.loss], {}, { outputs: ['loss'] });
  b.add('Identity', [lg.total], {}, { outputs: ['total'] });
  b.add('Identity', [gv], {}, { outputs: ['gv'] });
  for (const o of ['loss', 'total', 'gv']) b.output(o, DataType.FLOAT, []);
  const model = b.toModel('fedman_hvp', { docString: 'fedman Hessian-vector product: forward, loss + MAN, backward, g·v, second backward' });
  return {
    model,
    io: { input: prepared.input.name, labels, zeta, params: prepared.params, directions, hv, loss: 'loss', total: 'total', gv: 'gv' },
    manLayers,
  };
}
