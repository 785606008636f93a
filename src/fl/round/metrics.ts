/** What one round records about its participants' local training, summed the same way wherever the round ran. */
import { Type, type Static } from 'typebox';
import type { LocalResult } from '../strategy.js';

/** One completed round (a simulation report's `rounds[]`; the server's round records extend it). */
export const RoundMetrics = Type.Object({
  round: Type.Integer(),
  lr: Type.Number(),
  participants: Type.Array(Type.Integer()),
  /** Sample-weighted over participants' local training (all local steps). */
  trainLoss: Type.Number(),
  trainCe: Type.Number(),
  trainMan: Type.Number(),
  trainAccuracy: Type.Number(),
  /** Samples processed and optimiser steps taken by all participants together. */
  samples: Type.Integer(),
  steps: Type.Integer(),
  /** Global model on the test set (only in evaluated rounds). */
  testLoss: Type.Optional(Type.Number()),
  testAccuracy: Type.Optional(Type.Number()),
  /** Wall time of the round (training + aggregation + evaluation + checkpoint). */
  seconds: Type.Number(),
  evalSeconds: Type.Optional(Type.Number()),
  /** With differential privacy (config `dp`): ε of the (ε, δ = dp.delta) guarantee after this round (RDP accountant). */
  dpEpsilon: Type.Optional(Type.Number()),
  /** On a virtual clock (simulation `fleet`): simulated seconds from the start until this round / version was complete. */
  simSeconds: Type.Optional(Type.Number()),
  /**
   * On a virtual clock: sync, participants that went offline or missed the deadline before their upload; async,
   * trained updates lost to clients going offline since the previous version.
   */
  dropped: Type.Optional(Type.Integer()),
  /** Asynchronous aggregation: mean and largest staleness of the version's updates, updates dropped as too stale since the previous version. */
  meanStaleness: Type.Optional(Type.Number()),
  maxStaleness: Type.Optional(Type.Integer()),
  staleDropped: Type.Optional(Type.Integer()),
});
export type RoundMetrics = Static<typeof RoundMetrics>;

/** The training part of {@link RoundMetrics}. */
export type TrainMetrics = Pick<RoundMetrics, 'trainLoss' | 'trainCe' | 'trainMan' | 'trainAccuracy' | 'samples' | 'steps'>;

/** Sample-weighted sums of the clients' training metrics, added in client-id order. */
export class TrainTotals {
  private loss = 0;
  private ce = 0;
  private man = 0;
  private accuracy = 0;
  private samples = 0;
  private steps = 0;

  add(r: Pick<LocalResult, 'loss' | 'ce' | 'man' | 'accuracy' | 'samples' | 'steps'>): void {
    const s = r.samples;
    this.loss += r.loss * s; this.ce += r.ce * s; this.man += r.man * s; this.accuracy += r.accuracy * s;
    this.samples += s; this.steps += r.steps;
  }

  /** The running sums (JSON numbers keep float64 exactly), for checkpoints. */
  snapshot(): { loss: number; ce: number; man: number; accuracy: number; samples: number; steps: number } {
    return { loss: this.loss, ce: this.ce, man: this.man, accuracy: this.accuracy, samples: this.samples, steps: this.steps };
  }

  static restore(s: ReturnType<TrainTotals['snapshot']>): TrainTotals {
    const t = new TrainTotals();
    Object.assign(t, s);
    return t;
  }

  metrics(): TrainMetrics {
    const d = Math.max(this.samples, 1);
    return {
      trainLoss: this.loss / d, trainCe: this.ce / d, trainMan: this.man / d, trainAccuracy: this.accuracy / d,
      samples: this.samples, steps: this.steps,
    };
  }
}
