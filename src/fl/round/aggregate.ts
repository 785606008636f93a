/**
 * The server step of a round: each participant's result goes through the strategy's client update (its new
 * persistent state, its message), the defense layer and the running sums, in client-id order; then the strategy
 * turns the sums into the next global model. The sums are exact (rounded once when read), so the model would not
 * change in any other order; the order still fixes Krum's selection indices and the float64 training metrics. The simulation and the federation server both call
 * this, so the server trains bitwise what `simulate` trains.
 */
import type { ClientStateStore } from '../client-state.js';
import type { Defense, DefendedRound } from '../defense/aggregator.js';
import type { ClientContext, LocalResult, RoundInfo, ServerState, Strategy } from '../strategy.js';
import { TrainTotals, type TrainMetrics } from './metrics.js';

/** One participant's round: the context it was configured with and what its local training produced. */
export interface ClientOutcome {
  ctx: ClientContext;
  result: LocalResult;
}

export interface AggregatedRound {
  global: Float32Array;
  server: ServerState;
  train: TrainMetrics;
  defended: DefendedRound;
}

/**
 * Aggregates a round from its outcomes, which must come in client-id order (results then do not depend on
 * arrival order or scheduling). Client states are put into `store` as they come; the caller commits them with
 * the round's checkpoint. `global` and `server` are the round's starting model and server state (not modified).
 */
export async function aggregateRound(
  strategy: Strategy, defense: Defense, info: RoundInfo, global: Float32Array, server: ServerState,
  store: ClientStateStore | null, outcomes: AsyncIterable<ClientOutcome> | Iterable<ClientOutcome>,
): Promise<AggregatedRound> {
  const acc = defense.begin(info.round, global);
  const totals = new TrainTotals();
  for await (const { ctx, result } of outcomes) {
    const { state, message } = strategy.clientUpdate(ctx, result);
    if (store) await store.put(ctx.clientId, info.round, state);
    acc.add(message);
    totals.add(result);
  }
  const defended = acc.finish();
  const next = strategy.aggregate(info, defended.sums, global, server);
  return { global: next.global, server: next.server, train: totals.metrics(), defended };
}
