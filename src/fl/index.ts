/** Federated algorithms by name. Every one composes with MAN (ζ is a client hyperparameter). */
import { FedmanError } from '../util/errors.js';
import type { Strategy } from './strategy.js';
import { fedavg } from './algorithms/fedavg.js';
import { fedprox } from './algorithms/fedprox.js';
import { feddyn } from './algorithms/feddyn.js';
import { scaffold } from './algorithms/scaffold.js';
import { feddc } from './algorithms/feddc.js';
import { fedavgm } from './algorithms/fedavgm.js';
import { fedadagrad } from './algorithms/fedadagrad.js';
import { fedadam } from './algorithms/fedadam.js';
import { fedyogi } from './algorithms/fedyogi.js';
import { fedsam, fedasam } from './algorithms/fedsam.js';
import { fedspeed } from './algorithms/fedspeed.js';

export * from './strategy.js';
export { fedavg, fedprox, feddyn, scaffold, feddc, fedavgm, fedadagrad, fedadam, fedyogi, fedsam, fedasam, fedspeed };
export { MemoryStateStore, DiskStateStore, type ClientStateStore } from './client-state.js';
export { runLocalTraining, evalRange, type TrainTask, type EvalSums, type LocalProgress } from './local-training.js';
export * from './round/index.js';
export { ExactSum, ExactScalar } from '../util/exact-sum.js';

type Factory = (options?: Record<string, unknown>) => Strategy;

export const ALGORITHMS: Record<string, { doc: string; create: Factory }> = {
  fedavg: { doc: 'FedAvg: sample-weighted model average', create: (o) => fedavg(o) },
  fedprox: { doc: 'FedProx: proximal term μ/2‖w − w_g‖² (μ = 0.01)', create: (o) => fedprox(o) },
  feddyn: { doc: 'FedDyn: dynamic regulariser, α = 0.01', create: (o) => feddyn(o) },
  scaffold: { doc: 'SCAFFOLD: control variates (option II)', create: (o) => scaffold(o) },
  feddc: { doc: 'FedDC: local drift decoupling and correction, α = 0.01', create: (o) => feddc(o) },
  fedsam: { doc: 'FedSAM: sharpness-aware local steps, ρ = 0.05', create: (o) => fedsam(o) },
  fedasam: { doc: 'FedASAM: adaptive SAM local steps, ρ = 0.5, η = 0.2', create: (o) => fedasam(o) },
  fedspeed: { doc: 'FedSpeed: prox-correction + merged perturbed gradient, ρ = 0.01, α = 0.01', create: (o) => fedspeed(o) },
  fedavgm: { doc: 'FedAvgM: server momentum (server lr 1, β = 0.9)', create: (o) => fedavgm(o) },
  fedadagrad: { doc: 'FedAdagrad: adaptive server optimiser (Reddi et al. 2021)', create: (o) => fedadagrad(o) },
  fedadam: { doc: 'FedAdam: adaptive server optimiser (Reddi et al. 2021)', create: (o) => fedadam(o) },
  fedyogi: { doc: 'FedYogi: adaptive server optimiser (Reddi et al. 2021)', create: (o) => fedyogi(o) },
};

export function algorithmNames(): string[] {
  return Object.keys(ALGORITHMS);
}

/** Builds a strategy by name; options are checked (unknown keys and bad values are FedmanErrors). */
export function createStrategy(name: string, options: Record<string, unknown> = {}): Strategy {
  const a = ALGORITHMS[name];
  if (!a) throw new FedmanError(`unknown algorithm '${name}'; available: ${algorithmNames().join(', ')}`);
  return a.create(options);
}
export {
  Defense, RoundAggregation, DEFAULT_ROBUST, ROBUST_RULES, checkDefense, defenseProblems, samplingRateOf,
  type RobustConfig, type RobustRule, type DpConfig, type DefendedRound,
} from './defense/index.js';
