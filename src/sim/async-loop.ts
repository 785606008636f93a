/**
 * Asynchronous buffered aggregation in simulation: the fleet's schedule (fleet/async-schedule.ts) says, without
 * training, which client starts from which version and which updates the buffer will accept; this driver runs
 * the schedule ahead, trains exactly those updates in the workers — each from its own start version, at most
 * 2 × workers at once — and offers them to the round core's {@link AsyncBuffer} in the schedule's order. Results
 * therefore do not depend on the number of workers.
 *
 * Resuming replays the schedule (cheap: no training) up to the checkpoint's version; the checkpoint holds the
 * earlier versions that clients still in flight started from.
 */
import { AsyncBuffer, baseHypers, clientPlan, roundInfo, roundLr, type ClientOutcome, type RoundMetrics } from '../fl/round/index.js';
import type { ClientContext } from '../fl/strategy.js';
import { FedmanError } from '../util/errors.js';
import { AsyncSchedule, type AsyncEvent, type AsyncTask } from './fleet/async-schedule.js';
import { taskSize, trainTask, type RunContext } from './run-context.js';

/** Asynchronous clients see no server state (no strategy that runs asynchronously reads it). */
const NO_SERVER = Object.freeze({ vectors: {}, scalars: {} });

export async function runAsyncVersions(run: RunContext): Promise<void> {
  const { cfg, strategy, exec, clientIdx } = run;
  const agg = cfg.aggregation;
  if (!run.fleet) throw new Error('async simulation without a fleet');
  const schedule = new AsyncSchedule(run.fleet, { ...taskSize(run), concurrency: agg.concurrency, bufferSize: agg.bufferSize, maxStaleness: agg.maxStaleness }, cfg.seed);
  const first = run.ckpt?.round ?? 0;
  while (schedule.admission.version < first) schedule.next();
  const versions = new Map<number, Float32Array>(run.ckpt?.versions ?? []);
  versions.set(first, run.state.global);
  const buffer = new AsyncBuffer(strategy, agg, { version: first, global: run.state.global, server: run.state.server }, cfg.robust.normBound);

  const ahead: AsyncEvent[] = [];
  const jobs = new Map<number, Promise<ClientOutcome>>();
  const window = 2 * exec.parallelism;
  let lastNeeded = first >= cfg.rounds;
  let dropped = 0, staleDropped = 0;
  let t0 = performance.now();

  const accepted = (e: AsyncEvent): e is Extract<AsyncEvent, { kind: 'arrival' }> => e.kind === 'arrival' && e.accepted;
  const start = (task: AsyncTask) => {
    const global = versions.get(task.startVersion)!;
    const info = roundInfo(cfg, task.startVersion + 1, [task.clientId]);
    const ctx: ClientContext = { ...info, clientId: task.clientId, numSamples: clientIdx[task.clientId]!.length, global, server: NO_SERVER, state: {} };
    const { hypers, inputs } = clientPlan(strategy, ctx, baseHypers(cfg, info.lr));
    const p = exec.train(trainTask(run, task.clientId, task.startVersion + 1, task.seq, hypers, inputs), global).then((result) => ({ ctx, result }));
    p.catch(() => undefined); // awaited in schedule order
    jobs.set(task.seq, p);
  };
  /** Pulls events until `window` accepted updates are ahead (none past the last version), and starts what can start. */
  const refill = () => {
    while (!lastNeeded && ahead.filter(accepted).length < window) {
      const e = schedule.next();
      ahead.push(e);
      if (e.kind === 'arrival' && e.publishes && e.version >= cfg.rounds) lastNeeded = true;
    }
    for (const e of ahead) {
      if (jobs.size >= window) break;
      if (accepted(e) && !jobs.has(e.task.seq) && versions.has(e.task.startVersion)) start(e.task);
    }
  };
  const prune = () => {
    let min = buffer.version;
    for (const t of schedule.inFlight()) min = Math.min(min, t.startVersion);
    for (const e of ahead) min = Math.min(min, e.task.startVersion);
    for (const v of versions.keys()) if (v < min) versions.delete(v);
  };

  try {
    while (buffer.version < cfg.rounds) {
      refill();
      const e = ahead.shift();
      if (!e) throw new Error('async schedule ended early');
      if (e.kind === 'offline') { dropped++; continue; }
      if (!e.accepted) { staleDropped++; continue; }
      // The earliest update always starts from a published version; it may not have fitted in the window yet.
      if (!jobs.has(e.task.seq)) start(e.task);
      const job = jobs.get(e.task.seq)!;
      const { ctx, result } = await job;
      jobs.delete(e.task.seq);
      const offer = buffer.offer({ ctx, startVersion: e.task.startVersion, result });
      if (!offer.accepted || !!offer.published !== e.publishes) throw new FedmanError(`async update ${e.task.seq}: the buffer and the schedule disagree`);
      const v = offer.published;
      if (!v) continue;
      run.state = { global: v.global, server: v.server };
      versions.set(v.version, v.global);
      prune();
      const m: RoundMetrics = {
        round: v.version, lr: roundLr(cfg, v.version), participants: v.participants, ...v.train, seconds: 0,
        simSeconds: e.task.at, dropped, meanStaleness: v.meanStaleness, maxStaleness: v.maxStaleness, staleDropped,
      };
      dropped = 0; staleDropped = 0;
      await run.complete(m, t0, new Map([...versions].filter(([k]) => k < v.version)));
      t0 = performance.now();
    }
  } finally {
    await Promise.allSettled(jobs.values());
  }
}
