/**
 * fedman's configs: the simulation config and the federation server's config, their shared fields defined once,
 * validation with every default, and the checks that a resumed run or a restarted server still has its config.
 */
export {
  SIM_CONFIG_SCHEMA, validateConfig, defaultConfig, mergeConfig, simPerRound, resultFieldDiffs, NON_RESULT_FIELDS, type SimConfig,
} from './sim.js';
export {
  SERVER_CONFIG_SCHEMA, validateServerConfig, renameFraction, minAvailableOf, serverConfigDiffs, redactedConfig, NON_RESULT_SERVER_FIELDS,
  type ServerConfig, type FederationDataSpec, type EvaluationSpec,
} from './server.js';
export { type LocalTrainingConfig } from './fields.js';
export { partitionSchema, type PartitionConfig } from './partition.js';
export { readConfigFile } from './file.js';
export { configValidator, configDiffs } from './validate.js';
