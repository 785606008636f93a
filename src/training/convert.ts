/**
 * A model as fedman takes it, whoever exported it: opset 17 (older opsets upgraded, src/onnx/upgrade/), weights that
 * exporters wrote as Constant nodes made initializers (constant-weights.ts), and the data input's symbolic dims
 * given sizes (src/onnx/input-shape.ts). `fedman convert` writes the result; `fedman artifacts` builds on it. Converting a
 * converted model changes nothing.
 */
import type { ModelProto } from '../onnx/proto.js';
import { upgradeModel, UPGRADE_TARGET } from '../onnx/upgrade/index.js';
import { setInputShape, type InputShapeSpec } from '../onnx/input-shape.js';
import { liftConstantWeights } from './constant-weights.js';

export interface ConvertOptions {
  inputShape?: InputShapeSpec;
}

export interface ConvertReport {
  /** The default-domain opset before, and after (17, or the model's own when newer). */
  fromOpset: number;
  toOpset: number;
  /** Nodes an upgrade adapter rewrote, as 'Op@version'. */
  rewritten: string[];
  /** Constant-node weights that became initializers, in node order. */
  lifted: string[];
}

export async function convertModel(model: ModelProto, opts: ConvertOptions = {}, where = 'model'): Promise<{ model: ModelProto; report: ConvertReport }> {
  const up = await upgradeModel(model, where);
  const lifted = liftConstantWeights(up.model);
  // A static batch stays (the model is still valid as it is); prepare.ts makes it symbolic for training.
  const shaped = setInputShape(lifted.model, opts.inputShape, where, true);
  return {
    model: shaped,
    report: { fromOpset: up.from, toOpset: Math.max(up.from, UPGRADE_TARGET), rewritten: up.rewritten, lifted: lifted.lifted },
  };
}
