/** What a loss head needs to know and provide (one file per loss in this folder, registered in index.ts). */
import type { Dim, GraphBuilder } from '../../onnx/builder.js';

/** The labels input a loss reads. */
export interface LossTarget {
  /** Element type: INT64 class indices, or FLOAT target values. */
  dtype: number;
  /** The labels input's dims, batch first. */
  dims: Dim[];
  /** Predictions per sample that `correct` counts (accuracy = correct / (samples · perSample)); 0: no accuracy. */
  perSample: number;
  /** Classes of the output (manifest numClasses): the class axis' size, the sigmoid scores, or the target size. */
  numClasses: number;
}

export interface LossOptions {
  /** The output axis holding the classes (cross-entropy: default 1; ctc: default the last). */
  classAxis?: number;
}

/** Where the loss finds the classes in the tensor it is computed on (dims as probed, the batch symbolic). */
export interface LossGeometry {
  logitDims: Dim[];
  classAxis: number;
  target: LossTarget;
}

export interface LossHead {
  /** Scalar data loss (mean over the batch). */
  loss: string;
  /** Number of correct predictions (float scalar; 0 for losses without an accuracy). */
  correct: string;
}

export interface LossDef {
  /** Head activations the loss is computed in front of (the exported model keeps them), e.g. a final Softmax. */
  strips: readonly string[];
  /** The class axis (normalised) and the labels input for an output of these dims; a FedmanError if they do not fit. */
  geometry(logitDims: readonly Dim[], opts: LossOptions, where: string): LossGeometry;
  emit(b: GraphBuilder, logits: string, labels: string, g: LossGeometry, floatType: number): LossHead;
}
