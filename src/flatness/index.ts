/**
 * Flatness of the training loss: the top Hessian eigenvalue and the Hessian trace, from exact Hessian-vector
 * products (./hvp-graph.ts) run on ONNX Runtime. The HVP graph runs in hessian-operator.ts; the solvers
 * (solvers.ts, linalg.ts) are pure; measure.ts puts the two together.
 */
export { buildHvpGraph, directionName, hvName, type HvpGraph, type HvpGraphIO, type HvpGraphOptions } from './hvp-graph.js';
export type { ModelSource } from './model-source.js';
export { HessianOperator, type HvpOptions } from './hessian-operator.js';
export type { DataOptions, EigenOptions, EigenResult, TraceOptions, TraceResult, LinearOperator } from './types.js';
export { powerIteration, lanczos, hutchinson } from './solvers.js';
export { symmetricEigen } from './linalg.js';
export { topEigenvalue, hessianTrace, measureFlatness, type FlatnessOptions, type FlatnessReport } from './measure.js';
