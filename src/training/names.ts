/** Names of the train step's inputs and outputs, shared by the graph builders and the runtimes that feed them. */
import type { Dim } from '../onnx/builder.js';
import type { HyperParamSpec } from './hyperparams.js';

/** Graph input/output names of a parameter's next value and of its per-parameter state (shared by builder and runtimes). */
export const nextName = (name: string) => `${name}__next`;
export const stateName = (param: string, state: string) => `${param}__${state}`;

/** Names of everything the runtime feeds and fetches; stored in the artifact manifest. */
export interface TrainStepIO {
  input: string;
  inputDims: Dim[];
  labels: string;
  hyperParams: HyperParamSpec[];
  stateNames: string[];
  /** Extra per-parameter inputs of client terms, by term: suffixes like 'anchor'. */
  clientInputs: string[];
  outputs: { loss: string; ce: string; man: string; correct: string; gradNorm: string };
}
