/**
 * Robust aggregation, norm bounding and differential privacy for every algorithm: one job per file, combined by
 * aggregator.ts, which the simulation engine and the federation server put between client messages and
 * `Strategy.aggregate`. See docs/simulation.md, "Robust aggregation and differential privacy".
 */
export * from './config.js';
export { updateNorm, boundUpdate, type BoundedUpdate } from './norm-bound.js';
export { coordinateMedian, trimmedMean, trimCount } from './coordinate-wise.js';
export { krum, multiKrum, krumScores, bestScored, squaredDistance, type KrumResult } from './krum.js';
export { DP_NOISE_STREAM, dpNoiseRng, dpNoiseStd, addGaussianNoise } from './gaussian-noise.js';
export { RDP_ORDERS, logAInt, computeRdp, epsilonFromRdp, RdpAccountant } from './rdp-accountant.js';
export { Defense, RoundAggregation, samplingRateOf, type DefenseOptions, type DefendedRound } from './aggregator.js';
