/** Federated simulation: config, engine, executors, reports. */
export { simulate, ARTIFACTS_DIR, CLIENT_STATE_DIR, GLOBAL_MODEL_FILE, type SimulateOptions, type SimulationResult } from './engine.js';
export {
  SIM_CONFIG_SCHEMA, validateConfig, defaultConfig, readConfigFile, mergeConfig, resultFieldDiffs, NON_RESULT_FIELDS, type SimConfig, type PartitionConfig,
} from '../config/index.js';
export { readCheckpoint, writeCheckpoint, checkpointPath, CHECKPOINT_FILE, type Checkpoint } from './checkpoint.js';
export { readReport, writeOutputs, metricsCsv, REPORT_FILE, type SimReport, type RoundMetrics } from './report.js';
export { InProcessExecutor, autoWorkers, type ClientExecutor, type ExecutorSetup } from './executor.js';
export { WorkerPool, shareDataset } from './pool.js';
export { loadRuns, summarize, compareTable, compareSvg, hasClock, type RunSummary } from './compare.js';
export { lineChart } from './svg.js';
export { Fleet, plannedSamples, drawValue, type ClientProfile, type TaskFate } from './fleet/fleet.js';
export { readTrace, parseTrace, TRACE_FORMAT, type FleetTrace, type TraceClient } from './fleet/trace.js';
export { planSyncRound, type SyncRoundPlan } from './fleet/sync-clock.js';
export { AsyncSchedule, type AsyncEvent, type AsyncTask } from './fleet/async-schedule.js';
