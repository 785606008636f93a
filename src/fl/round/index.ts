/**
 * One federated round, as both the simulation and the federation server run it: participant sampling, per-client
 * seeds, the lr schedule, the clients' hyperparameters, aggregation through the strategy and the defense layer, and
 * the round-state checkpoint. The two drivers differ only in how client results arrive (worker threads or uploads).
 */
export { sampleParticipants, expectedClientsPerRound, SAMPLING_STREAM } from './sampling.js';
export { clientRoundSeed } from './seeds.js';
export { roundLr, roundInfo, baseHypers, clientContext, clientPlan, type RoundSchedule } from './plan.js';
export { aggregateRound, type ClientOutcome, type AggregatedRound } from './aggregate.js';
export { TrainTotals, type RoundMetrics, type TrainMetrics } from './metrics.js';
export { encodeRoundCheckpoint, decodeRoundCheckpoint, type RoundState, type CheckpointKind, type DecodedRoundCheckpoint } from './checkpoint.js';
export {
  AsyncBuffer, AsyncAdmission, asyncProblems, stalenessWeight, type AsyncSettings, type AsyncUpdate, type AsyncOffer, type PublishedVersion,
  type AsyncBufferState,
} from './async-buffer.js';
