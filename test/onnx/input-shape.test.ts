import t from 'tap';
import { GraphBuilder, type Dim } from '../../src/onnx/builder.js';
import { DataType, type ModelProto } from '../../src/onnx/proto.js';
import { parseInputShape, requireStaticInput, setInputShape, valueInfoDims } from '../../src/onnx/input-shape.js';
import { FedmanError } from '../../src/util/errors.js';

function model(dims: Dim[], extra = false): ModelProto {
  const b = new GraphBuilder();
  const x = b.input('input', DataType.FLOAT, dims);
  if (extra) b.input('mask', DataType.FLOAT, dims);
  b.output(b.op('Relu', [x]), DataType.FLOAT);
  return b.toModel('m');
}
const dimsOf = (m: ModelProto) => valueInfoDims(m.graph!.input![0]!);

t.test('parseInputShape: C,H,W, name:dims, x separators; bad specs are FedmanErrors', async (t) => {
  t.same(parseInputShape('3,224,224'), { name: undefined, dims: [3, 224, 224] });
  t.same(parseInputShape('pixel_values:3,64,64'), { name: 'pixel_values', dims: [3, 64, 64] });
  t.same(parseInputShape('1x3x32x32'), { name: undefined, dims: [1, 3, 32, 32] });
  for (const bad of ['', '3,,4', '3,a,4', '0,3', '-1,3', ':3,4']) t.throws(() => parseInputShape(bad), FedmanError, `'${bad}'`);
});

t.test('setInputShape fixes symbolic dims, keeps the batch symbolic, checks what it is given', async (t) => {
  t.same(dimsOf(setInputShape(model(['N', 3, 'H', 'W']), { dims: [3, 8, 8] })), ['N', 3, 8, 8], 'dims after the batch');
  t.same(dimsOf(setInputShape(model(['N', 3, 'H', 'W']), { dims: [1, 3, 8, 8] })), ['N', 3, 8, 8], 'the full shape: its batch is ignored');
  t.same(dimsOf(setInputShape(model([1, 3, 8, 8]), undefined)), ['N', 3, 8, 8], 'a static batch becomes symbolic');
  const same = model(['N', 3, 8, 8]);
  t.equal(setInputShape(same, undefined), same, 'nothing to do: the model itself');
  t.throws(() => setInputShape(model(['N', 3, 'H', 'W']), { dims: [8, 8] }), /gives 2 dims, but input 'input' \["N",3,"H","W"\] has rank 4: give the 3 dims after the batch/);
  t.throws(() => setInputShape(model(['N', 3, 'H', 'W']), { dims: [1, 8, 8] }), /sets axis 1 of input 'input' to 1, but the model fixes it at 3/);
  t.throws(() => setInputShape(model(['N', 3, 'H', 'W']), { name: 'image', dims: [3, 8, 8] }), /names input 'image'; the model's data inputs are 'input'/);
  t.throws(() => setInputShape(model(['N', 3, 'H', 'W'], true), { dims: [3, 8, 8] }), /has 2 data inputs \(input, mask\); name one/);
  t.same(valueInfoDims(setInputShape(model(['N', 3, 'H', 'W'], true), { name: 'mask', dims: [3, 4, 4] }).graph!.input![1]!), ['N', 3, 4, 4], 'the named input');
});

t.test('requireStaticInput names the symbolic dims and the flag that fixes them', async (t) => {
  t.doesNotThrow(() => requireStaticInput('input', ['N', 3, 8, 8], 'model m'));
  t.throws(() => requireStaticInput('input', ['N', 3, 'height', 'width'], "model 'm'"),
    { message: `model 'm': input 'input' ["N",3,"height","width"] has symbolic dims 'height' (axis 2), 'width' (axis 3); fedman trains at one input size: give it with --input-shape 3,<height>,<width>` });
});
