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

  metrics(): TrainMetrics {
    const d = Math.max(this.samples, 1);
    return {
      trainLoss: this.loss / d, trainCe: this.ce / d, trainMan: this.man / d, trainAccuracy: this.accuracy / d,
      samples: this.samples, steps: this.steps,
    };
  }
}
