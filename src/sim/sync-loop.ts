/**
 * Synchronous rounds: sample participants (among the online ones, on a fleet's clock), train them in worker
 * threads, aggregate their results in client-id order through the round core, then evaluate and checkpoint.
 * Without a fleet this is the simulation as it always was; with one whose clients are all online and equally
 * fast, the models are bitwise the same and each round only gains its simulated time.
 */
import {
  aggregateRound, baseHypers, clientContext, clientPlan, roundInfo, sampleParticipants, TrainTotals, type ClientOutcome, type RoundMetrics,
} from '../fl/round/index.js';
import { planSyncRound, type SyncRoundPlan } from './fleet/sync-clock.js';
import { taskSize, trainTask, type RunContext } from './run-context.js';

export async function runSyncRounds(run: RunContext): Promise<void> {
  const { cfg, strategy, defense, exec, store, clientIdx } = run;
  const size = taskSize(run);
  let clock = run.metrics[run.metrics.length - 1]?.simSeconds ?? 0;
  for (let round = (run.ckpt?.round ?? 0) + 1; round <= cfg.rounds; round++) {
    const t0 = performance.now();
    let plan: SyncRoundPlan | null = null;
    let participants: number[];
    if (run.fleet) {
      plan = planSyncRound(run.fleet, run.rng, clock, { ...size, participation: cfg.participation, clientsPerRound: cfg.clientsPerRound, roundDeadline: cfg.fleet?.roundDeadline ?? null });
      participants = plan.participants;
      clock = plan.end;
    } else {
      participants = sampleParticipants(run.rng, cfg.clients, cfg.participation, cfg.clientsPerRound);
    }
    const arrived = plan ? plan.arrived : participants;
    const info = roundInfo(cfg, round, participants);
    const base = baseHypers(cfg, info.lr);
    const { global, server } = run.state;
    await exec.setGlobal(global);

    const launch = async (c: number): Promise<ClientOutcome> => {
      const ctx = await clientContext(info, c, clientIdx[c]!.length, global, server, store);
      const { hypers, inputs } = clientPlan(strategy, ctx, base);
      return { ctx, result: await exec.train(trainTask(run, c, round, round, hypers, inputs)) };
    };

    let m: RoundMetrics;
    if (arrived.length > 0) {
      const agg = await aggregateRound(strategy, defense, info, global, server, store, inIdOrder(arrived, launch, 2 * exec.parallelism));
      run.state = { global: agg.global, server: agg.server };
      m = { round, lr: info.lr, participants: arrived, ...agg.train, seconds: 0 };
      if (agg.defended.dpEpsilon !== undefined) m.dpEpsilon = agg.defended.dpEpsilon;
    } else {
      // Every participant dropped: nothing to aggregate, the model and the server state stay as they were.
      m = { round, lr: info.lr, participants: [], ...new TrainTotals().metrics(), seconds: 0 };
    }
    if (plan) { m.simSeconds = plan.end; m.dropped = plan.dropped.length; }
    await run.complete(m, t0);
  }
}

/**
 * The participants' outcomes in id order, with at most `window` clients training at once: memory O(model × window),
 * results independent of scheduling (robust rules other than the mean still hold every participant's parameters).
 */
async function* inIdOrder(participants: readonly number[], launch: (c: number) => Promise<ClientOutcome>, window: number): AsyncGenerator<ClientOutcome> {
  const pending = new Map<number, Promise<ClientOutcome>>();
  let next = 0;
  try {
    for (let i = 0; i < participants.length; i++) {
      while (next < participants.length && next < i + Math.max(1, window)) {
        const p = launch(participants[next]!);
        p.catch(() => undefined); // awaited in order below; avoid an unhandled rejection meanwhile
        pending.set(next++, p);
      }
      const outcome = await pending.get(i)!;
      pending.delete(i);
      yield outcome;
    }
  } finally {
    await Promise.allSettled(pending.values());
  }
}
