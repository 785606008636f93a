/**
 * Asynchronous aggregation on the fleet's virtual clock, as a stream of events in time order. Whenever fewer than
 * `concurrency` clients are training, an idle online client (drawn uniformly, seeded) is given the latest version
 * and a task; since its download, compute and upload times are known at launch, so is when its update arrives — or
 * when it goes offline first. Events are taken in time order (ties by client id); each arrival goes through the
 * round core's {@link AsyncAdmission} (staleness, drops, when a version is published).
 *
 * Nothing here depends on training, so the engine can run the schedule ahead, train exactly the updates that will
 * be accepted (in parallel, from the versions they start from) and feed them to the buffer in this order: the
 * result does not depend on the number of workers. A server that hands out tasks and accepts uploads in the
 * order of this stream trains the same model.
 */
import { FedmanError } from '../../util/errors.js';
import { Rng } from '../../util/rng.js';
import { AsyncAdmission, type AsyncSettings } from '../../fl/round/async-buffer.js';
import type { Fleet } from './fleet.js';

/** RNG stream of the choice of the next client to get a task. */
export const ASYNC_SELECT_STREAM = 0x3a51c0;

/** One client task: launched at `launchAt` from version `startVersion`. */
export interface AsyncTask {
  /** 1-based launch number (seeds the client's shuffling). */
  seq: number;
  clientId: number;
  startVersion: number;
  launchAt: number;
  /** When the update arrives (completes) or the client goes offline (!completes). */
  at: number;
  completes: boolean;
}

export type AsyncEvent =
  | { kind: 'offline'; task: AsyncTask }
  | { kind: 'arrival'; task: AsyncTask; accepted: boolean; staleness: number; publishes: boolean;
      /** The latest version after this event. */
      version: number };

export interface AsyncScheduleSettings extends Pick<AsyncSettings, 'bufferSize' | 'maxStaleness'> {
  concurrency: number;
  downBytes: number;
  upBytes: number;
  /** Samples client c trains on per task. */
  samples: (c: number) => number;
}

/** In-flight tasks ordered by (arrival time, client id). */
function before(a: AsyncTask, b: AsyncTask): boolean {
  return a.at < b.at || (a.at === b.at && a.clientId < b.clientId);
}

export class AsyncSchedule {
  readonly admission: AsyncAdmission;
  private readonly rng: Rng;
  private readonly busy: boolean[];
  private heap: AsyncTask[] = [];
  private seq = 0;
  /** The virtual clock: the time of the latest event. */
  now = 0;

  constructor(private readonly fleet: Fleet, private readonly s: AsyncScheduleSettings, seed: number) {
    this.admission = new AsyncAdmission(s);
    this.rng = new Rng(seed, ASYNC_SELECT_STREAM);
    this.busy = new Array<boolean>(fleet.size).fill(false);
  }

  /** Tasks launched but not yet arrived or dropped. */
  inFlight(): readonly AsyncTask[] {
    return this.heap;
  }

  /** The next event (launching tasks as slots free up). */
  next(): AsyncEvent {
    for (;;) {
      this.fill();
      const head = this.heap[0];
      if (this.heap.length < this.s.concurrency) {
        // A free slot: an idle client coming online before the next event takes it.
        const on = this.nextIdleOnline(this.now);
        if (on < (head?.at ?? Infinity)) { this.now = on; continue; }
      }
      if (!head) throw new FedmanError(`fleet: no client is online after ${this.now.toFixed(1)} simulated seconds (the trace ends); the run cannot go on`);
      const task = this.pop();
      this.now = task.at;
      this.busy[task.clientId] = false;
      if (!task.completes) return { kind: 'offline', task };
      const a = this.admission.offer(task.startVersion);
      return { kind: 'arrival', task, ...a, version: this.admission.version };
    }
  }

  /** Launches tasks at `now` while slots are free and idle clients are online. */
  private fill(): void {
    while (this.heap.length < this.s.concurrency) {
      const idle: number[] = [];
      for (let c = 0; c < this.fleet.size; c++) if (!this.busy[c] && this.fleet.onlineAt(c, this.now)) idle.push(c);
      if (idle.length === 0) return;
      const c = idle[this.rng.int(idle.length)]!;
      const fate = this.fleet.runTask(c, this.now, this.s.samples(c), this.s.downBytes, this.s.upBytes);
      this.busy[c] = true;
      this.push({ seq: ++this.seq, clientId: c, startVersion: this.admission.version, launchAt: this.now, ...fate });
    }
  }

  private nextIdleOnline(t: number): number {
    let best = Infinity;
    for (let c = 0; c < this.fleet.size; c++) {
      if (this.busy[c]) continue;
      const at = this.fleet.nextOnline(c, t);
      if (at < best) best = at;
    }
    return best;
  }

  private push(task: AsyncTask): void {
    const h = this.heap;
    h.push(task);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): AsyncTask {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
