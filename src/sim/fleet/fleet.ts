/**
 * A heterogeneous fleet on a virtual clock: every client's compute speed, bandwidths and availability, and how long
 * a task takes it — download the model, train on its samples, upload the update — and whether it stays online
 * until the upload is done. Everything is a function of (config, seed, client id) and the trace, so it does not
 * depend on the number of clients drawn before a client, on workers, or on anything training computes: the
 * schedules built on it (sync-clock.ts, async-schedule.ts) are known before any training runs.
 */
import type { Distribution, FleetConfig } from '../../config/fleet.js';
import { Rng } from '../../util/rng.js';
import { ALWAYS_ONLINE, RenewalAvailability, WindowAvailability, type Availability } from './availability.js';
import type { FleetTrace } from './trace.js';

/** Base RNG stream of the fleet: client c draws from streams FLEET_STREAM + 4c + (0 speed, 1 down, 2 up, 3 availability). */
export const FLEET_STREAM = 0x40000000;

export interface ClientProfile {
  samplesPerSecond: number;
  downlinkMbps: number;
  uplinkMbps: number;
  availability: Availability;
}

/** What a task started at some time comes to. */
export interface TaskFate {
  /** true: the upload finished at `at`; false: the client went offline at `at` before finishing. */
  completes: boolean;
  at: number;
}

/** A draw from a distribution (a plain number is every client's value). */
export function drawValue(d: Distribution, rng: Rng): number {
  if (typeof d === 'number') return d;
  if (d.kind === 'lognormal') return d.median * Math.exp(d.sigma * rng.normal());
  return d.min + (d.max - d.min) * rng.uniform();
}

/**
 * Samples one local-training task processes (what runLocalTraining does): every sample once per epoch, or with
 * local steps, full epochs of ⌈n/b⌉ batches and then the first batches of one more.
 */
export function plannedSamples(numSamples: number, epochs: number, steps: number | null, batchSize: number): number {
  if (numSamples === 0) return 0;
  if (steps === null) return epochs * numSamples;
  const perEpoch = Math.ceil(numSamples / batchSize);
  return Math.floor(steps / perEpoch) * numSamples + Math.min((steps % perEpoch) * batchSize, numSamples);
}

export class Fleet {
  private constructor(readonly profiles: readonly ClientProfile[]) {}

  static create(cfg: FleetConfig, numClients: number, seed: number, trace: FleetTrace | null = null): Fleet {
    const profiles: ClientProfile[] = [];
    for (let c = 0; c < numClients; c++) {
      const stream = (k: number) => new Rng(seed, FLEET_STREAM + 4 * c + k);
      const t = trace?.clients.get(c);
      const a = cfg.availability;
      let availability: Availability = ALWAYS_ONLINE;
      if (t?.online) availability = new WindowAvailability(t.online, trace!.period);
      else if (a && a.offlineFraction > 0) availability = new RenewalAvailability(stream(3), a.offlineFraction, a.cycleSeconds);
      profiles.push({
        samplesPerSecond: t?.samplesPerSecond ?? drawValue(cfg.samplesPerSecond, stream(0)),
        downlinkMbps: t?.downlinkMbps ?? drawValue(cfg.downlinkMbps, stream(1)),
        uplinkMbps: t?.uplinkMbps ?? drawValue(cfg.uplinkMbps, stream(2)),
        availability,
      });
    }
    return new Fleet(profiles);
  }

  get size(): number {
    return this.profiles.length;
  }

  onlineAt(c: number, t: number): boolean {
    return this.profiles[c]!.availability.onlineAt(t);
  }

  nextOnline(c: number, t: number): number {
    return this.profiles[c]!.availability.nextOnline(t);
  }

  /** Seconds a task takes client c: download `downBytes`, train on `samples`, upload `upBytes` (in that order). */
  taskSeconds(c: number, samples: number, downBytes: number, upBytes: number): number {
    const p = this.profiles[c]!;
    return (8 * downBytes) / (p.downlinkMbps * 1e6) + samples / p.samplesPerSecond + (8 * upBytes) / (p.uplinkMbps * 1e6);
  }

  /** The fate of a task client c starts at t (it must be online at t). */
  runTask(c: number, t: number, samples: number, downBytes: number, upBytes: number): TaskFate {
    const end = t + this.taskSeconds(c, samples, downBytes, upBytes);
    const offline = this.profiles[c]!.availability.windowEnd(t);
    return end <= offline ? { completes: true, at: end } : { completes: false, at: offline };
  }

  /** Clients online at t, by id. */
  online(t: number): number[] {
    const out: number[] = [];
    for (let c = 0; c < this.profiles.length; c++) if (this.onlineAt(c, t)) out.push(c);
    return out;
  }
}
