/** What an opset-upgrade adapter sees and returns (see index.ts for the driver). */
import type { NodeProto } from '../proto.js';
import type { AttrValue } from '../attrs.js';

export interface UpgradeContext {
  /** The node being upgraded (as the previous steps left it). */
  node: NodeProto;
  /** The opset version the node moves to (its op has a new version there). */
  version: number;
  /** An int64 initializer with these values (dims default [values.length]); returns its name. */
  constI64(values: readonly number[], dims?: readonly number[]): string;
  /** A float initializer of element type `dtype`; returns its name. */
  constF(values: readonly number[], dims: readonly number[], dtype: number): string;
  /** An extra node (run before the upgraded one): returns its single output's name. */
  op(opType: string, inputs: readonly string[], attrs?: Record<string, AttrValue>): string;
  /** The ONNX element type of a tensor of the original model, when ONNX Runtime's type inference knows it. */
  dtype(tensor: string): Promise<number | undefined>;
  /** Why types are unknown: ONNX Runtime's message when it cannot load the original model. */
  typeProblem(): Promise<string | undefined>;
  /** The rank of a tensor of the original model, when known. */
  rank(tensor: string): Promise<number | undefined>;
  /** The values of a constant tensor (an initializer or a Constant node's output), else undefined. */
  constant(tensor: string): number[] | undefined;
  /** Whether a tensor is read by any node or is a graph output. */
  used(tensor: string): boolean;
  /** Throws the FedmanError that names the op, node and opset step, with `why`. */
  fail(why: string): never;
}

/**
 * Rewrites one node for opset `ctx.version`: returns its replacement (the node itself when only attributes or
 * inputs change). Extra nodes made with ctx.op run before it. The node's outputs keep their names.
 */
export type Adapter = (ctx: UpgradeContext) => NodeProto | Promise<NodeProto>;
