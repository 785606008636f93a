/**
 * Local-objective terms that federated algorithms add to a client's loss, compiled into the train-step graph.
 * Each term adds its own per-parameter inputs and scalar hyperparameters and contributes to the gradient.
 */
import type { GraphBuilder } from '../onnx/builder.js';
import type { HyperParamSpec } from './hyperparams.js';

export interface ClientTerm {
  name: string;
  /** Per-parameter tensor inputs (suffixes), e.g. ['anchor'] → input `<param>__anchor`. */
  perParamInputs: readonly string[];
  hyperParams: readonly HyperParamSpec[];
  /** Returns the gradient with this term's contribution added. */
  emitGradient(b: GraphBuilder, a: { param: string; grad: string; inputs: Record<string, string>; hp: Record<string, string> }): string;
}

/**
 * Proximal + linear correction: ∇ += prox_mu·(w − anchor) + correction. With anchor = global weights this is
 * FedProx (correction 0) and FedDyn (correction −∇L_k(w_k^{t−1}), mu = α); SCAFFOLD sets correction = c − c_k
 * and mu = 0; FedDC and FedSpeed use both.
 */
export const proxCorrection: ClientTerm = {
  name: 'prox-correction',
  perParamInputs: ['anchor', 'correction'],
  hyperParams: [{ name: 'prox_mu', default: 0, doc: 'proximal coefficient μ on ‖w − anchor‖²/2' }],
  emitGradient(b, { param, grad, inputs, hp }) {
    const prox = b.op('Mul', [b.op('Sub', [param, inputs.anchor!]), hp.prox_mu!]);
    return b.op('Add', [b.op('Add', [grad, prox]), inputs.correction!]);
  },
};
