import t from 'tap';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildSequential, type Layer } from '../../models/layers.js';
import { encodeIdx } from '../../src/data/idx.js';
import { loadIdxDir } from '../../src/data/idx-dir.js';
import { buildArtifacts, writeArtifacts } from '../../src/training/artifacts.js';
import { Trainer } from '../../src/runtime/trainer.js';
import { checkDatasetFits } from '../../src/runtime/epoch.js';
import { evaluateModel, loadPredictor } from '../../src/runtime/inference.js';
import { Rng } from '../../src/util/rng.js';
import { tmpDir } from '../data/tmpdir.js';

/** An IDX directory whose image files have the given dims after n (labels i % 10). */
function writeIdx(dir: string, imageDims: number[], nTrain = 100, nTest = 40): string {
  const rng = new Rng(3);
  const size = imageDims.reduce((a, b) => a * b, 1);
  const images = (n: number) => encodeIdx([n, ...imageDims], Uint8Array.from({ length: n * size }, () => rng.int(256)));
  const labels = (n: number) => encodeIdx([n], Uint8Array.from({ length: n }, (_, i) => i % 10));
  writeFileSync(path.join(dir, 'train-images-idx3-ubyte'), images(nTrain));
  writeFileSync(path.join(dir, 'train-labels-idx1-ubyte'), labels(nTrain));
  writeFileSync(path.join(dir, 't10k-images-idx3-ubyte'), images(nTest));
  writeFileSync(path.join(dir, 't10k-labels-idx1-ubyte'), labels(nTest));
  return dir;
}

const hidden: Layer[] = [{ kind: 'linear', out: 16 }, { kind: 'relu' }, { kind: 'linear', out: 10 }];

/** Artifacts of a small MLP taking `inputShape` (the same weights for every shape: Flatten draws none). */
async function mlpArtifacts(dir: string, name: string, inputShape: number[]): Promise<string> {
  const layers: Layer[] = inputShape.length > 1 ? [{ kind: 'flatten' }, ...hidden] : hidden;
  const out = path.join(dir, name);
  await writeArtifacts(out, await buildArtifacts(buildSequential({ name, inputShape, layers, seed: 1, doc: '' }), name, { optimizer: 'sgd' }));
  return out;
}

async function lossTrace(artifacts: string, ds: Parameters<Trainer['trainEpoch']>[0]): Promise<{ losses: number[]; trainer: Trainer }> {
  const trainer = await Trainer.load(artifacts, { threads: 1 });
  trainer.setHypers({ lr: 0.05 });
  const losses: number[] = [];
  await trainer.trainEpoch(ds, { batchSize: 20, seed: null, onStep: (_i, _n, s) => losses.push(s.loss) });
  return { losses, trainer };
}

t.test('28×28 IDX images train a [784]-input model exactly as a [1, 28, 28] one', async (t) => {
  const dir = tmpDir(t);
  const { train, test } = await loadIdxDir(writeIdx(tmpDir(t), [28, 28]));
  t.same(train.sampleShape, [1, 28, 28]);
  const flat = await lossTrace(await mlpArtifacts(dir, 'flat', [784]), train);
  const image = await lossTrace(await mlpArtifacts(dir, 'image', [1, 28, 28]), train);
  t.equal(flat.losses.length, 5);
  t.same(flat.losses, image.losses, 'same values in the same order, only the shape differs');
  const ev = await flat.trainer.evaluate(test);
  t.same(ev, await image.trainer.evaluate(test));

  const file = path.join(dir, 'flat.onnx');
  await flat.trainer.exportInference(file);
  const p = await loadPredictor(file);
  t.same(p.sampleDims, [784]);
  const r = await evaluateModel(p, test);
  t.equal(r.accuracy, ev.accuracy);
  t.ok(Math.abs(r.loss - ev.loss) < 1e-5);
  await flat.trainer.release();
  await image.trainer.release();
});

t.test('784×1 IDX images fit a [1, 28, 28] input', async (t) => {
  const dir = tmpDir(t);
  const { train } = await loadIdxDir(writeIdx(tmpDir(t), [784, 1]));
  t.same(train.sampleShape, [1, 784, 1]);
  const { losses, trainer } = await lossTrace(await mlpArtifacts(dir, 'image', [1, 28, 28]), train);
  t.equal(losses.length, 5);
  t.ok(losses.every(Number.isFinite));
  await trainer.release();
});

t.test('samples with another value count: an error naming both shapes', async (t) => {
  const dir = tmpDir(t);
  const { train, test } = await loadIdxDir(writeIdx(tmpDir(t), [4, 3]));
  const artifacts = await mlpArtifacts(dir, 'flat', [784]);
  const trainer = await Trainer.load(artifacts, { threads: 1 });
  const message = `dataset '${train.name}' has samples of shape [1,4,3] (12 values) but the model 'flat' expects [784] (784 values)`;
  await t.rejects(trainer.trainEpoch(train, { batchSize: 20, seed: null }), { name: 'FedmanError', message });
  await t.rejects(trainer.evaluate(train), { name: 'FedmanError', message });
  const file = path.join(dir, 'flat.onnx');
  await trainer.exportInference(file);
  await t.rejects(evaluateModel(await loadPredictor(file), test), {
    name: 'FedmanError',
    message: `dataset '${test.name}' has samples of shape [1,4,3] (12 values) but the model expects [784] (784 values)`,
  });
  await trainer.release();
  // Symbolic sample dims cannot be matched by value count.
  t.throws(() => checkDatasetFits({ ...trainer.manifest, input: { name: 'input', dims: ['N', 'D'] } }, train), {
    name: 'FedmanError',
    message: `dataset '${train.name}' has samples of shape [1,4,3] (12 values) but the model 'flat' expects [D]`,
  });
});
