/**
 * How a round configures its clients: the learning-rate schedule, the hyperparameters every client starts from,
 * and the strategy's per-client plan on top of them.
 */
import type { ClientStateStore } from '../client-state.js';
import type { ClientContext, RoundInfo, ServerState, Strategy } from '../strategy.js';

/** The config fields a round's client hyperparameters come from (simulation and server configs share them). */
export interface RoundSchedule {
  lr: number;
  /** lr in round r (1-based) is lr · lrDecay^(r − 1). */
  lrDecay: number;
  weightDecay: number;
  clipNorm: number;
  /** MAN strength ζ. */
  man: number;
  momentum: number;
}

/** The client learning rate of round `round` (1-based). */
export function roundLr(s: Pick<RoundSchedule, 'lr' | 'lrDecay'>, round: number): number {
  return s.lr * s.lrDecay ** (round - 1);
}

/** The round's facts for the strategy; `clients` is the federation's N. */
export function roundInfo(s: Pick<RoundSchedule, 'lr' | 'lrDecay'> & { clients: number }, round: number, participants: readonly number[]): RoundInfo {
  return { round, lr: roundLr(s, round), baseLr: s.lr, numClients: s.clients, participants };
}

/** The hyperparameters every client of a round gets before the strategy adds its own. */
export function baseHypers(s: RoundSchedule, lr: number): Record<string, number> {
  return { lr, weight_decay: s.weightDecay, clip_norm: s.clipNorm, man_zeta: s.man, momentum: s.momentum };
}

/** One client's view of the round, with its persistent state read from the store (empty without a store). */
export async function clientContext(
  info: RoundInfo, clientId: number, numSamples: number, global: Float32Array, server: ServerState, store: ClientStateStore | null,
): Promise<ClientContext> {
  const state = store ? await store.get(clientId) : {};
  return { ...info, clientId, numSamples, global, server, state };
}

/** What a client trains with this round: every hyperparameter (base + strategy's) and the client-term inputs. */
export function clientPlan(strategy: Strategy, ctx: ClientContext, base: Record<string, number>): { hypers: Record<string, number>; inputs: Record<string, Float32Array> } {
  const plan = strategy.configureClient(ctx);
  return { hypers: { ...base, ...plan.hypers }, inputs: plan.inputs };
}
