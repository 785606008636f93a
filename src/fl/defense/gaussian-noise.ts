/**
 * The Gaussian mechanism of central DP-FedAvg (McMahan et al., ICLR 2018, "Learning differentially private
 * recurrent language models"; Flower's DifferentialPrivacyServerSideFixedClipping): after every update is clipped
 * to norm C and the n clipped updates are averaged uniformly, each coordinate of the mean gets independent
 * N(0, (σ·C/n)²) noise: the sum's sensitivity to one client is C, so σ is the noise multiplier of the sum.
 *
 * The noise comes from its own seeded stream per round (seed, round), independent of sampling and shuffling, so a
 * run is reproducible and a resumed or restarted run draws the same noise as an uninterrupted one.
 */
import { Rng } from '../../util/rng.js';

/** Stream id of the DP noise generators (distinct from the sampling and shuffling streams). */
export const DP_NOISE_STREAM = 0x0d9e5e;

/** The noise generator of one round: a function of (seed, round) only. */
export function dpNoiseRng(seed: number, round: number): Rng {
  const perRound = new Rng(seed, DP_NOISE_STREAM).nextUint32();
  return new Rng(perRound, round);
}

/** Standard deviation of the noise on the mean of n updates clipped to C with noise multiplier σ. */
export function dpNoiseStd(clip: number, noiseMultiplier: number, n: number): number {
  return (noiseMultiplier * clip) / n;
}

/** Adds N(0, std²) to every coordinate of `v` in place. */
export function addGaussianNoise(v: Float64Array, std: number, rng: Rng): Float64Array {
  for (let i = 0; i < v.length; i++) v[i] += rng.normal(0, std);
  return v;
}
