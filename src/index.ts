/**
 * `import { ... } from 'fedman'`: the building blocks of a training or federated-learning program (docs/api.md).
 * The other entry points: fedman/fl (every strategy, defences, the round core), fedman/sim (the simulation
 * engine's parts), fedman/protocol (the federation protocol's messages), fedman/config (the simulation and server
 * configs), fedman/server, fedman/client, fedman/flatness (the Hessian solvers) and fedman/browser (onnxruntime-web
 * only).
 */
export { FedmanError } from './util/errors.js';

// Models: the zoo and ONNX files.
export { buildZooModel, zooNames, ZOO, type ZooOptions } from '../models/index.js';
export { loadModel, saveModel, encodeModel, decodeModel, type SaveOptions } from './onnx/model-io.js';
export type { ModelProto } from './onnx/proto.js';
export { convertModel, type ConvertOptions, type ConvertReport } from './training/convert.js';
export { upgradeModel, UPGRADE_TARGET, UPGRADE_MIN, type UpgradeResult } from './onnx/upgrade/index.js';
export { parseInputShape, setInputShape, type InputShapeSpec } from './onnx/input-shape.js';

// Artifacts: the train-step, eval and forward graphs with MAN, and their manifest.
export {
  createArtifacts, buildArtifacts, writeArtifacts, readManifest, resolveModel,
  type ArtifactOptions, type ArtifactFormat, type BuiltArtifacts,
} from './training/artifacts.js';
export { parseManifest, checkManifest, MANIFEST_FILE, type ArtifactManifest } from './training/manifest.js';
export { proxCorrection, type ClientTerm } from './training/client-terms.js';

// Training and inference on ONNX Runtime.
export { Trainer, type FromArtifactsOptions } from './runtime/trainer.js';
export {
  TRAINER_ENGINES, type TrainerLike, type TrainerEngine, type TrainerOptions, type StepMetrics, type EpochMetrics, type EvalMetrics, type EpochOptions,
} from './runtime/trainer-interface.js';
export { loadTrainer, type LoadTrainerOptions } from './runtime/load-trainer.js';
export { loadArtifactsFromUrl, type ArtifactFiles, type FetchLike } from './runtime/artifact-source.js';
export { loadBackend, defaultBackendName, type BackendName, type Backend } from './runtime/backend.js';
export { DEVICES, parseDevice, type Device } from './runtime/device.js';
export { diagnoseDevices, type DeviceReport } from './runtime/doctor.js';
export { lowerForWebGpu, lowerModelForWebGpu, type LoweredModel } from './onnx/webgpu/index.js';
export { loadPredictor, evaluateModel, type Predictor } from './runtime/inference.js';
export { encodeSafetensors, decodeSafetensors, type NamedTensor } from './runtime/safetensors.js';

// Data: datasets, batching, federated partitions, the seeded generator.
export { loadDataset, DATASET_SPEC_HELP, type LoadOptions, type LoadedDataset } from './data/registry.js';
export {
  makeDataset, validateDataset, subset, takeFirst, classCounts, normalizeInPlace, shuffledIndices, sampleSize, BatchLoader,
  type Dataset, type Batch,
} from './data/dataset.js';
export {
  partition, labelDistribution, partitionSummary, type Partition, type PartitionSpec, type PartitionSummary,
} from './data/partition/index.js';
export { parsePartitionSpec, formatPartitionSpec, type PartitionConfig } from './data/partition/spec.js';
export { Rng, createRng, shuffle, dirichlet } from './util/rng.js';

// Federated learning: strategies by name, and the simulation.
export { createStrategy, algorithmNames, ALGORITHMS, type Strategy } from './fl/index.js';
export {
  simulate, mergeConfig, validateConfig, defaultConfig, readConfigFile, readReport, loadRuns, compareTable,
  type SimulateOptions, type SimulationResult, type SimConfig, type SimReport, type RunSummary,
} from './sim/index.js';

// Flatness of the loss: top Hessian eigenvalue and trace.
export {
  topEigenvalue, hessianTrace, measureFlatness, HessianOperator,
  type ModelSource, type EigenOptions, type EigenResult, type TraceOptions, type TraceResult, type FlatnessOptions, type FlatnessReport,
} from './flatness/index.js';
