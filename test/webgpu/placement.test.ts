/**
 * Every node of the train-step, eval, forward and Hessian-vector-product graphs of the zoo models and the
 * torch-exported fixtures (ResNet-18-style, MobileNetV2-style, transformer) is placed on ONNX Runtime's WebGPU EP
 * once lowered (src/onnx/webgpu/): ORT's placement log must list no CPU node. A rewrite rule that regresses, or a
 * new gradient rule emitting an op the EP lacks, shows up here by name.
 */
import t from 'tap';
import path from 'node:path';
import { buildZooModel } from '../../models/index.js';
import { loadModel } from '../../src/onnx/model-io.js';
import { encodeModel } from '../../src/onnx/model-codec.js';
import { buildArtifacts } from '../../src/training/artifacts.js';
import { prepareModel } from '../../src/training/prepare.js';
import { buildHvpGraph } from '../../src/flatness/hvp-graph.js';
import { lowerModelForWebGpu } from '../../src/onnx/webgpu/index.js';
import { webgpuPlacement } from '../helpers/webgpu.js';

const ZOO = ['mlp', 'cnn-mnist', 'cnn-cifar10', 'cnn-cifar100', 'convnet-gn'];
const FIXTURES = ['resnet18s', 'mobilenetv2s', 'transformer'];

t.test('all nodes of the lowered graphs are placed on the WebGPU EP', async (t) => {
  const graphs: Record<string, Uint8Array> = {};
  for (const name of [...ZOO, ...FIXTURES]) {
    const model = ZOO.includes(name) ? buildZooModel(name) : await loadModel(path.join('test/fixtures/pretrained', `${name}.onnx`));
    const built = await buildArtifacts(model, name, { webgpu: true });
    t.same(built.manifest.webgpu?.int32Inputs, ['labels'], `${name}: the labels are the only int64 input, now int32`);
    graphs[`${name} train step`] = encodeModel(built.webgpu!.trainStep);
    graphs[`${name} eval`] = encodeModel(built.webgpu!.eval);
    graphs[`${name} forward`] = encodeModel((await lowerModelForWebGpu(built.forward)).model);
    const prepared = await prepareModel(built.forward, {}, name);
    graphs[`${name} HVP`] = encodeModel((await lowerModelForWebGpu((await buildHvpGraph(prepared, { manLayers: 'auto' })).model)).model);
  }
  const placed = await webgpuPlacement(graphs);
  for (const [name, p] of Object.entries(placed)) {
    t.same(p.cpu, [], `${name}: no node on the CPU EP`);
    t.ok(p.webgpu > 0, `${name}: ${p.webgpu} nodes on the WebGPU EP`);
  }
});

t.test('the unlowered train step does leave nodes on the CPU EP (the check can fail)', async (t) => {
  const built = await buildArtifacts(buildZooModel('mlp'), 'mlp');
  const { plain } = await webgpuPlacement({ plain: encodeModel(built.trainStep) });
  t.ok(plain!.cpu.some((n) => n.startsWith('OneHot')), `OneHot among the CPU nodes: ${plain!.cpu.join(', ')}`);
});
