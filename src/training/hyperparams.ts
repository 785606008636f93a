/** Runtime hyperparameters: the scalar inputs every train-step graph declares, with their defaults and docs. */

export interface HyperParamSpec { name: string; default: number; doc: string }

export const COMMON_HYPERPARAMS: HyperParamSpec[] = [
  { name: 'lr', default: 0.01, doc: 'learning rate' },
  { name: 'weight_decay', default: 0, doc: 'weight decay (L2 for sgd/adam, decoupled for adamw)' },
  { name: 'clip_norm', default: 0, doc: 'clip the loss gradient to this global L2 norm before weight decay (0 = off)' },
  { name: 'man_zeta', default: 0, doc: 'MAN strength ζ; the penalty is (ζ/2)·Σ_l mean(a_l²)' },
];
