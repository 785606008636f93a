/**
 * A tiny sequential-layer DSL that writes ONNX models with PyTorch's default initialisation
 * (kaiming_uniform(a=√5) for weights, i.e. U(±1/√fan_in), and U(±1/√fan_in) for biases), seeded.
 * Parameter names follow PyTorch's (`conv1.weight`, `fc1.bias`) so exported and zoo models read alike.
 */
import { GraphBuilder, type Dim } from '../src/onnx/builder.js';
import { DataType, type ModelProto } from '../src/onnx/proto.js';
import { float32Tensor } from '../src/onnx/tensor.js';
import { F } from '../src/onnx/attrs.js';
import { Rng } from '../src/util/rng.js';

export type Layer =
  | { kind: 'conv'; out: number; k: number; pad?: number; stride?: number }
  | { kind: 'relu' }
  | { kind: 'maxpool'; k: number }
  | { kind: 'flatten' }
  | { kind: 'linear'; out: number }
  | { kind: 'groupnorm'; groups: number; eps?: number };

export interface SequentialSpec {
  name: string;
  /** Per-sample input shape, e.g. [1, 28, 28]. */
  inputShape: number[];
  layers: Layer[];
  seed: number;
  doc: string;
}

function uniform(rng: Rng, n: number, bound: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (rng.uniform() * 2 - 1) * bound;
  return a;
}

export function buildSequential(spec: SequentialSpec): ModelProto {
  const b = new GraphBuilder();
  const rng = new Rng(spec.seed);
  const batch: Dim = 'N';
  let x = b.input('input', DataType.FLOAT, [batch, ...spec.inputShape]);
  let shape = [...spec.inputShape];
  let convs = 0;
  let fcs = 0;
  let norms = 0;
  const param = (name: string, dims: number[], values: Float32Array) => b.initializer(float32Tensor(name, dims, values));
  for (const layer of spec.layers) {
    switch (layer.kind) {
      case 'conv': {
        const [c, h, w] = shape as [number, number, number];
        const pad = layer.pad ?? 0;
        const stride = layer.stride ?? 1;
        const fanIn = c * layer.k * layer.k;
        const bound = 1 / Math.sqrt(fanIn);
        const name = `conv${++convs}`;
        const W = param(`${name}.weight`, [layer.out, c, layer.k, layer.k], uniform(rng, layer.out * fanIn, bound));
        const B = param(`${name}.bias`, [layer.out], uniform(rng, layer.out, bound));
        x = b.op('Conv', [x, W, B], { kernel_shape: [layer.k, layer.k], pads: [pad, pad, pad, pad], strides: [stride, stride] }, { name });
        shape = [layer.out, Math.floor((h + 2 * pad - layer.k) / stride) + 1, Math.floor((w + 2 * pad - layer.k) / stride) + 1];
        break;
      }
      case 'relu':
        x = b.op('Relu', [x]);
        break;
      case 'maxpool': {
        x = b.op('MaxPool', [x], { kernel_shape: [layer.k, layer.k], strides: [layer.k, layer.k] });
        shape = [shape[0]!, Math.floor(shape[1]! / layer.k), Math.floor(shape[2]! / layer.k)];
        break;
      }
      case 'flatten':
        x = b.op('Flatten', [x], { axis: 1 });
        shape = [shape.reduce((p, d) => p * d, 1)];
        break;
      case 'linear': {
        const fanIn = shape[0]!;
        const bound = 1 / Math.sqrt(fanIn);
        const name = `fc${++fcs}`;
        const W = param(`${name}.weight`, [layer.out, fanIn], uniform(rng, layer.out * fanIn, bound));
        const B = param(`${name}.bias`, [layer.out], uniform(rng, layer.out, bound));
        x = b.op('Gemm', [x, W, B], { transB: 1, alpha: F(1), beta: F(1) }, { name });
        shape = [layer.out];
        break;
      }
      case 'groupnorm': {
        // Decomposed into standard ops (GroupNormalization needs opset 18); the affine part is per channel.
        const [c] = shape as [number];
        const name = `gn${++norms}`;
        const gamma = param(`${name}.weight`, [c, 1, 1], new Float32Array(c).fill(1));
        const beta = param(`${name}.bias`, [c, 1, 1], new Float32Array(c));
        const grouped = b.op('Reshape', [x, b.constI64([0, layer.groups, -1])]);
        const mean = b.op('ReduceMean', [grouped], { axes: [2], keepdims: 1 });
        const centered = b.op('Sub', [grouped, mean]);
        const variance = b.op('ReduceMean', [b.op('Mul', [centered, centered])], { axes: [2], keepdims: 1 });
        const normed = b.op('Div', [centered, b.op('Sqrt', [b.op('Add', [variance, b.constF(layer.eps ?? 1e-5)])])]);
        const back = b.op('Reshape', [normed, b.op('Shape', [x])]);
        x = b.op('Add', [b.op('Mul', [back, gamma]), beta]);
        break;
      }
    }
  }
  const logits = b.op('Identity', [x], {}, { outputs: ['logits'] });
  b.output(logits, DataType.FLOAT, [batch, shape[0]!]);
  return b.toModel(spec.name, { docString: spec.doc });
}
