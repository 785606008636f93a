/**
 * The opset versions 8–17 at which each default-domain op got a new version, from the ONNX operator changelog
 * (docs/Changelog.md of the ONNX repository). An op absent here is unchanged from opset 7 to 17 (or first appears
 * within it, and a model of an older opset cannot use it). Upsample and Scatter are deprecated (at 10 and 11).
 */
export const OP_VERSIONS: Readonly<Record<string, readonly number[]>> = {
  Abs: [13], Add: [13, 14], ArgMax: [11, 12, 13], ArgMin: [11, 12, 13], AveragePool: [10, 11],
  BatchNormalization: [9, 14, 15], Cast: [9, 13], Ceil: [13], Clip: [11, 12, 13], Compress: [11], Concat: [11, 13],
  Constant: [9, 11, 12, 13], Conv: [11], ConvTranspose: [11], CumSum: [14], DepthToSpace: [11, 13], DequantizeLinear: [13],
  Div: [13, 14], Dropout: [10, 12, 13], Equal: [11, 13], Erf: [13], Exp: [13], Expand: [13], Flatten: [9, 11, 13],
  Floor: [13], GRU: [14], Gather: [11, 13], GatherElements: [13], GatherND: [12, 13], Gemm: [9, 11, 13], Greater: [9, 13],
  GreaterOrEqual: [16], Hardmax: [11, 13], Identity: [13, 14, 16], If: [11, 13, 16], IsNaN: [13], LRN: [13], LSTM: [14],
  LeakyRelu: [16], Less: [9, 13], LessOrEqual: [16], Log: [13], LogSoftmax: [11, 13], Loop: [11, 13, 16], LpPool: [11],
  MatMul: [9, 13], Max: [8, 12, 13], MaxPool: [8, 10, 11, 12], MaxUnpool: [11], Mean: [8, 13], MeanVarianceNormalization: [13],
  Min: [8, 12, 13], Mod: [13], Mul: [13, 14], Neg: [13], NegativeLogLikelihoodLoss: [13], NonMaxSuppression: [11],
  NonZero: [13], OneHot: [11], PRelu: [9, 16], Pad: [11, 13], Pow: [12, 13, 15], QuantizeLinear: [13], RNN: [14],
  Reciprocal: [13], ReduceL1: [11, 13], ReduceL2: [11, 13], ReduceLogSum: [11, 13], ReduceLogSumExp: [11, 13],
  ReduceMax: [11, 12, 13], ReduceMean: [11, 13], ReduceMin: [11, 12, 13], ReduceProd: [11, 13], ReduceSum: [11, 13],
  ReduceSumSquare: [11, 13], Relu: [13, 14], Reshape: [13, 14], Resize: [11, 13], RoiAlign: [16], Scan: [9, 11, 16],
  Scatter: [11], ScatterElements: [13, 16], ScatterND: [13, 16], Shape: [13, 15], Sigmoid: [13], Sign: [13], Size: [13],
  Slice: [10, 11, 13], Softmax: [11, 13], SoftmaxCrossEntropyLoss: [13], SpaceToDepth: [13], Split: [11, 13], Sqrt: [13],
  Squeeze: [11, 13], Sub: [13, 14], Sum: [8, 13], Tanh: [13], Tile: [13], TopK: [10, 11], Transpose: [13],
  Unsqueeze: [11, 13], Upsample: [9, 10], Where: [16],
};
