/** An optimiser compiled into the train-step graph: its state tensors, runtime hyperparameters and update rule. */
import type { GraphBuilder } from '../../onnx/builder.js';
import type { HyperParamSpec } from '../hyperparams.js';

export type HyperParam = HyperParamSpec;

export interface UpdateInputs {
  param: string;
  /** The loss gradient after clipping (weight decay not yet applied). */
  grad: string;
  /** Current state tensors, in `stateNames` order. */
  state: string[];
  /** Runtime hyperparameter scalars by name (including the shared lr and weight_decay). */
  hp: Record<string, string>;
}

export interface UpdateOutputs {
  param: string;
  state: string[];
}

export interface Optimizer {
  kind: string;
  /** Names of per-parameter state tensors (suffixes), e.g. ['momentum'] or ['m', 'v']. */
  stateNames: readonly string[];
  /** Optimiser-specific hyperparameters, fed at run time (lr and weight_decay are shared by all). */
  hyperParams: readonly HyperParam[];
  /** Scalars computed once per step from the hyperparameters (e.g. Adam's bias corrections). */
  prepare?(b: GraphBuilder, hp: Record<string, string>): Record<string, string>;
  emitUpdate(b: GraphBuilder, u: UpdateInputs): UpdateOutputs;
}
