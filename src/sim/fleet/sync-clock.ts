/**
 * Synchronous rounds on the fleet's virtual clock. A round starts when the previous one ended (or, when nobody is
 * online then, when the first client comes online); participants are sampled among the clients online at its
 * start, with the round core's sampling and RNG (so with every client online they are exactly those of a run
 * without a fleet); each downloads the model, trains and uploads; one that goes offline first — or, with a round
 * deadline, is not done by then — is dropped. The round ends when every participant has uploaded or dropped (at
 * the deadline at the latest). The clock is a function of the config and the sampling RNG: no training needed.
 */
import { FedmanError } from '../../util/errors.js';
import type { Rng } from '../../util/rng.js';
import { sampleParticipants } from '../../fl/round/index.js';
import type { Fleet } from './fleet.js';

export interface SyncRoundPlan {
  /** When the round started (simulated seconds). */
  start: number;
  /** When it ended: every participant uploaded or dropped. */
  end: number;
  /** Sampled participants, by id. */
  participants: number[];
  /** Those whose uploads arrived in time, by id. */
  arrived: number[];
  /** Those that went offline or missed the deadline. */
  dropped: number[];
}

export interface SyncClockSettings {
  participation: number;
  clientsPerRound: number | null;
  /** Seconds after its start at which a round aggregates what arrived (null: none). */
  roundDeadline: number | null;
  /** Bytes of the model (download) and of an update (upload). */
  downBytes: number;
  upBytes: number;
  /** Samples client c trains on in a round. */
  samples: (c: number) => number;
}

/** The earliest time ≥ t at which one of `clients` is online (Infinity: none ever again). */
export function nextOnlineAny(fleet: Fleet, t: number, clients: Iterable<number>): number {
  let best = Infinity;
  for (const c of clients) {
    const at = fleet.nextOnline(c, t);
    if (at < best) best = at;
    if (best === t) break;
  }
  return best;
}

/** Plans the round that starts at `t` or, when nobody is online then, as soon as somebody is. */
export function planSyncRound(fleet: Fleet, rng: Rng, t: number, s: SyncClockSettings): SyncRoundPlan {
  let online = fleet.online(t);
  if (online.length === 0) {
    const next = nextOnlineAny(fleet, t, fleet.profiles.keys());
    if (next === Infinity) throw new FedmanError(`fleet: no client is online after ${t.toFixed(1)} simulated seconds (the trace ends); the run cannot go on`);
    t = next;
    online = fleet.online(t);
  }
  const participants = sampleParticipants(rng, online.length, s.participation, s.clientsPerRound).map((i) => online[i]!).sort((a, b) => a - b);
  const deadline = s.roundDeadline === null ? Infinity : t + s.roundDeadline;
  const arrived: number[] = [], dropped: number[] = [];
  let end = t;
  for (const c of participants) {
    const fate = fleet.runTask(c, t, s.samples(c), s.downBytes, s.upBytes);
    if (fate.completes && fate.at <= deadline) arrived.push(c); else dropped.push(c);
    end = Math.max(end, Math.min(fate.at, deadline));
  }
  return { start: t, end, participants, arrived, dropped };
}
