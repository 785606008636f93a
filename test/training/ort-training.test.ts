/**
 * `--format ort-training`: ONNX Runtime's own TrainingSession (onnxruntime-web 1.19.2, the devDependency alias
 * `ort-training`, loaded by file) loads the exported training/eval/optimizer models and checkpoint and trains
 * them with the same loss trace and parameters as fedman's train-step graph; the checkpoint writer/reader; and the
 * 'ort-training' trainer engine behind the Trainer interface.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createArtifacts, buildArtifacts, resolveModel } from '../../src/training/artifacts.js';
import { Trainer } from '../../src/runtime/trainer.js';
import { loadTrainer } from '../../src/runtime/load-trainer.js';
import { loadOrtTrainingRuntime } from '../../src/runtime/ort-training-trainer.js';
import { loadDataset } from '../../src/data/registry.js';
import { decodeModel } from '../../src/onnx/model-io.js';
import { tensorToFloat32 } from '../../src/onnx/tensor.js';
import { proxCorrection } from '../../src/training/client-terms.js';
import {
  checkpointTensorToFloat32, float32CheckpointTensor, readCheckpoint, writeCheckpoint, CHECKPOINT_VERSION, type Checkpoint,
} from '../../src/training/ort-training/checkpoint.js';
import { lrScaleFor, ORT_DEFAULT_LR } from '../../src/training/ort-training/optimizer-model.js';

const tmp = await mkdtemp(path.join(os.tmpdir(), 'fedman-ort-training-'));
t.teardown(() => rm(tmp, { recursive: true, force: true }));

// ORT's training API, exactly as an app on onnxruntime-web 1.17-1.19 would use it.
const ort = loadOrtTrainingRuntime() as unknown as {
  TrainingSession: { create(o: Record<string, Uint8Array>, so?: Record<string, unknown>): Promise<any> };
  Tensor: new (type: string, data: unknown, dims: number[]) => any;
};
const data = await loadDataset('mnist', { limit: 250 });
const B = 50;

/** The k-th fixed batch of `size` training samples. */
function batch(k: number, size = B) {
  const s = data.train.sampleShape.reduce((a, b) => a * b, 1);
  return {
    x: data.train.x.slice(k * size * s, (k + 1) * size * s),
    y: BigInt64Array.from(Array.from(data.train.y.subarray(k * size, (k + 1) * size), BigInt)),
    size,
  };
}

async function ortSession(dir: string) {
  const rd = async (f: string) => new Uint8Array(await readFile(path.join(dir, 'ort-training', f)));
  return ort.TrainingSession.create({
    checkpointState: await rd('checkpoint'),
    trainModel: await rd('training_model.onnx'),
    evalModel: await rd('eval_model.onnx'),
    optimizerModel: await rd('optimizer_model.onnx'),
  }, { logSeverityLevel: 3 });
}

/**
 * Runs `steps` batches through ORT's TrainingSession (lazyResetGrad, runTrainStep, runOptimizerStep) and through
 * fedman's Trainer with the same hyperparameters; returns both loss traces and final parameter vectors.
 */
async function compare(dir: string, hypers: Record<string, number>, steps: number, size = B) {
  const session = await ortSession(dir);
  const ortLoss: number[] = [];
  for (let k = 0; k < steps; k++) {
    const b = batch(k, size);
    // User inputs go by position: the models' input order (input, labels, man_zeta, clip_norm[, weight_decay]).
    const feeds: Record<string, unknown> = {};
    for (const name of session.trainingInputNames as string[]) {
      feeds[name] = name === 'input' ? new ort.Tensor('float32', b.x, [size, 1, 28, 28])
        : name === 'labels' ? new ort.Tensor('int64', b.y, [size])
          : new ort.Tensor('float32', Float32Array.of(hypers[name]!), []);
    }
    await session.lazyResetGrad();
    const out = await session.runTrainStep(feeds);
    ortLoss.push(out.loss.data[0]);
    await session.runOptimizerStep();
  }
  const ortParams = (await session.getContiguousParameters(true)).data as Float32Array;
  await session.release();

  const tr = await Trainer.load(dir, { threads: 1 });
  tr.setHypers(hypers);
  const fedLoss: number[] = [];
  for (let k = 0; k < steps; k++) {
    const b = batch(k, size);
    fedLoss.push((await tr.step(b.x, b.y, b.size)).loss);
  }
  const fedParams = tr.getParams();
  await tr.release();
  const relLoss = Math.max(...fedLoss.map((l, i) => Math.abs(l - ortLoss[i]!) / Math.abs(l)));
  let maxDiff = 0;
  for (let i = 0; i < fedParams.length; i++) maxDiff = Math.max(maxDiff, Math.abs(fedParams[i]! - ortParams[i]!));
  return { ortLoss, fedLoss, relLoss, maxDiff, ortParams, fedParams };
}

t.test('exported models follow ORT on-device-training contract', async (t) => {
  const dir = path.join(tmp, 'contract');
  const m = await createArtifacts('mlp', dir, { optimizer: 'adamw', format: 'ort-training', ortTraining: { lr: 0.002, weightDecay: 0.01 } });
  const read = async (f: string) => decodeModel(await readFile(path.join(dir, 'ort-training', f)));
  const train = await read('training_model.onnx');
  const params = m.params.map((p) => p.name);
  const inputs = train.graph!.input!.map((i) => i.name!);
  t.same(inputs.slice(0, 4), ['input', 'labels', 'man_zeta', 'clip_norm'], 'user inputs first: data, labels, ζ, clip');
  t.same(inputs.slice(4, 4 + params.length), params, 'parameters as inputs, named as in the checkpoint');
  t.same(inputs.slice(4 + params.length), [...params.map((p) => `${p}_grad.accumulation.buffer`), 'lazy_reset_grad']);
  t.notOk(inputs.slice(0, 4).some((n) => n.endsWith('_grad')), 'no user input ends in _grad');
  const acc = train.graph!.node!.filter((n) => n.opType === 'InPlaceAccumulatorV2');
  t.equal(acc.length, params.length);
  t.ok(acc.every((n) => n.domain === 'com.microsoft' && n.input![2] === 'lazy_reset_grad'));
  const outputs = train.graph!.output!.map((o) => o.name!);
  t.equal(outputs[0], 'loss', 'loss is the first output');
  t.same(outputs.slice(-params.length), params.map((p) => `${p}_grad.accumulation.out`));
  t.same(train.opsetImport!.map((o) => [o.domain, Number(o.version)]), [['', 17], ['com.microsoft', 1]]);

  const evalModel = await read('eval_model.onnx');
  t.same(evalModel.graph!.input!.map((i) => i.name), ['input', 'labels', ...params]);
  t.same(evalModel.graph!.output!.map((o) => o.name), outputs.slice(0, 3), 'eval outputs match the first training outputs');

  const opt = await read('optimizer_model.onnx');
  t.same(opt.graph!.input!.map((i) => i.name), ['learning_rate', 'step', 'params', 'gradients', 'first_order_moments', 'second_order_moments']);
  const adamw = opt.graph!.node!.filter((n) => n.domain === 'com.microsoft');
  t.same(adamw.map((n) => n.opType), ['AdamWOptimizer']);
  const attr = (name: string) => adamw[0]!.attribute!.find((a) => a.name === name)!;
  t.equal(attr('weight_decay').f, Math.fround(0.01));
  t.equal(Number(attr('adam_mode').i), 0, 'torch AdamW mode');
  t.equal(Math.fround(Math.fround(ORT_DEFAULT_LR) * m.ortTraining!.lrScale), Math.fround(0.002), 'runtime lr 0.001 × scale = lr exactly');
  for (const lr of [0.1, 0.01, 3e-4, 0.05, 1]) t.equal(Math.fround(Math.fround(0.001) * lrScaleFor(lr)), Math.fround(lr), `lr ${lr}`);

  const ckpt = readCheckpoint(await readFile(path.join(dir, 'ort-training', 'checkpoint')));
  t.equal(ckpt.version, 2);
  t.same(ckpt.moduleState!.requiresGradParams.map((x) => x.name), params);
  t.same(ckpt.moduleState!.frozenParams, []);
  const forward = decodeModel(await readFile(path.join(dir, 'forward.onnx')));
  const w = forward.graph!.initializer!.find((i) => i.name === params[0])!;
  t.same(checkpointTensorToFloat32(ckpt.moduleState!.requiresGradParams[0]!), tensorToFloat32(w), 'checkpoint holds the initial weights');
  t.same(ckpt.propertyBag!.strings.find((s) => s.name === 'fedman.model')?.value, 'mlp');
});

t.test('ORT TrainingSession = fedman train step: MLP, AdamW with decoupled decay and MAN', async (t) => {
  const dir = path.join(tmp, 'mlp-adamw');
  await createArtifacts('mlp', dir, { optimizer: 'adamw', format: 'ort-training', ortTraining: { lr: 1e-3, weightDecay: 0.01 } });
  const r = await compare(dir, { lr: 1e-3, weight_decay: 0.01, man_zeta: 0.3, clip_norm: 0 }, 5);
  t.ok(r.relLoss < 1e-5, `loss traces agree to ${r.relLoss.toExponential(2)} relative: ORT ${r.ortLoss.map((l) => l.toFixed(6))} fedman ${r.fedLoss.map((l) => l.toFixed(6))}`);
  t.ok(r.fedLoss[4]! < r.fedLoss[0]!, 'it trains');
  // Adam normalises each coordinate's step, so float-level differences in tiny gradients show up at ~1e-6.
  t.ok(r.maxDiff < 2e-5, `final parameters agree to ${r.maxDiff.toExponential(2)} (5 steps of at most ${1e-3})`);
});

t.test('ORT TrainingSession = fedman train step: MLP, SGD with clipping, L2 decay and MAN (the paper setup)', async (t) => {
  const dir = path.join(tmp, 'mlp-sgd');
  await createArtifacts('mlp', dir, { optimizer: 'sgd', format: 'ort-training', ortTraining: { lr: 0.1 } });
  // clip_norm 1 is below the gradient norm (~1.5-3) so clipping is active on every step.
  const r = await compare(dir, { lr: 0.1, weight_decay: 1e-3, man_zeta: 0.5, clip_norm: 1 }, 5);
  t.ok(r.relLoss < 1e-5, `loss traces agree to ${r.relLoss.toExponential(2)} relative: ${r.ortLoss.map((l) => l.toFixed(6))}`);
  t.ok(r.maxDiff < 1e-6, `final parameters agree to ${r.maxDiff.toExponential(2)}`);
  const rd = await compare(dir, { lr: 0.1, weight_decay: 0, man_zeta: 0, clip_norm: 0 }, 2);
  t.not(rd.ortLoss[1], r.ortLoss[1], 'ζ, clip and decay inputs change the trajectory');
});

t.test('ORT TrainingSession = fedman train step: the paper CNN (MaxPool backward from standard ops)', async (t) => {
  const dir = path.join(tmp, 'cnn-sgd');
  await createArtifacts('cnn-mnist', dir, { optimizer: 'sgd', format: 'ort-training', ortTraining: { lr: 0.1 } });
  const r = await compare(dir, { lr: 0.1, weight_decay: 1e-3, man_zeta: 0.5, clip_norm: 10 }, 3, 20);
  t.ok(r.relLoss < 1e-5, `loss traces agree to ${r.relLoss.toExponential(2)} relative: ${r.ortLoss.map((l) => l.toFixed(6))}`);
  t.ok(r.maxDiff < 1e-5, `final parameters agree to ${r.maxDiff.toExponential(2)}`);
});

t.test('checkpoint writer and reader', async (t) => {
  const ckpt: Checkpoint = {
    version: CHECKPOINT_VERSION,
    moduleState: {
      requiresGradParams: [float32CheckpointTensor('fc.weight', [2, 3], Float32Array.of(1, -2, 3.5, 0, 1e-8, -0))],
      frozenParams: [{ name: 'steps', dims: [1], dataType: 7, rawData: new Uint8Array(new BigInt64Array([BigInt(42)]).buffer) }],
      isNominalState: false,
      hasExternalData: false,
    },
    optimizerGroups: [{
      groupName: 'group0', step: BigInt(7), initialLearningRate: 0.25,
      states: [{ paramName: 'fc.weight', momentums: [float32CheckpointTensor('momentum0', [2, 3], new Float32Array(6).fill(0.5))] }],
    }],
    propertyBag: { ints: [{ name: 'epoch', value: BigInt(3) }], floats: [{ name: 'best', value: 0.5 }], strings: [{ name: 'model', value: 'mlp' }] },
  };
  const bytes = writeCheckpoint(ckpt);
  t.equal(new TextDecoder().decode(bytes.subarray(4, 8)), 'ODTC', 'file identifier');
  t.same(readCheckpoint(bytes), ckpt, 'round trip');
  t.same(checkpointTensorToFloat32(readCheckpoint(bytes).moduleState!.requiresGradParams[0]!), Float32Array.of(1, -2, 3.5, 0, 1e-8, -0));

  const fail = (b: Uint8Array, re: RegExp, what: string) => t.throws(() => readCheckpoint(b, "'ckpt'"), { name: 'FedmanError', message: re }, what);
  fail(bytes.subarray(0, 6), /'ckpt' is not a valid ORT training checkpoint: only 6 bytes/, 'too short');
  fail(bytes.subarray(0, bytes.length >> 1), /outside the \d+-byte file/, 'truncated');
  const wrongId = bytes.slice(); wrongId[4] = 0x58;
  fail(wrongId, /file identifier is 'XDTC', expected 'ODTC'/, 'wrong identifier');
  const v3 = bytes.slice();
  const dv = new DataView(v3.buffer);
  const root = dv.getUint32(0, true);
  const vtable = root - dv.getInt32(root, true);
  dv.setInt32(root + dv.getUint16(vtable + 4, true), 3, true);
  fail(v3, /checkpoint version 3; ORT reads version 1 \(ORT 1.16-1.17\) or 2 \(ORT 1.18-1.19\)/, 'unknown version');
  t.throws(() => writeCheckpoint({ ...ckpt, version: 3 }), /version 3 is not one of 1, 2/);
  t.equal(readCheckpoint(writeCheckpoint({ ...ckpt, version: 1 })).version, 1, 'version 1 (ORT 1.17) round-trips');
  fail(new TextEncoder().encode('not a checkpoint, just text'), /file identifier is/, 'garbage');

  // ORT's own loader agrees: it rejects the same bytes (its message, unlike ours, does not say why).
  const dir = path.join(tmp, 'mlp-sgd');
  const rd = async (f: string) => new Uint8Array(await readFile(path.join(dir, 'ort-training', f)));
  await t.rejects(ort.TrainingSession.create({ checkpointState: wrongId, trainModel: await rd('training_model.onnx') }), /Checkpoint verification failed/, 'ORT rejects a malformed checkpoint');
  // A checkpoint written by the writer from scratch (not the exported file) loads and drives training.
  const good = await rd('checkpoint');
  const rebuilt = writeCheckpoint(readCheckpoint(good));
  t.same(rebuilt, good, 'reader + writer reproduce the exported checkpoint byte for byte');
});

t.test("trainer engine 'ort-training' behind the Trainer interface", async (t) => {
  const dir = path.join(tmp, 'engine');
  await createArtifacts('mlp', dir, { optimizer: 'adamw', format: 'ort-training', ortTraining: { lr: 1e-3 } });
  const hypers = { lr: 1e-3, man_zeta: 0.2 };
  const fed = await loadTrainer(dir, { threads: 1 });
  const eng = await loadTrainer(dir, { engine: 'ort-training' });
  t.equal(eng.engine, 'ort-training');
  t.equal(fed.engine, 'fedman');
  fed.setHypers(hypers); eng.setHypers(hypers);
  t.throws(() => eng.setHyper('lr', 0.1), /'lr' is fixed at 0.001 in the ORT training artifacts/);
  t.throws(() => eng.setHyper('momentum', 0.9), /'momentum' is fixed at 0/);
  t.throws(() => eng.setHyper('nope', 1), /'nope' is not an input/);

  const p0 = await fed.getParams();
  t.same(await eng.getParams(), p0, 'same initial parameters');
  const opts = { batchSize: B, seed: 3, maxSteps: 4 };
  const a = await fed.trainEpoch(data.train, opts);
  const b = await eng.trainEpoch(data.train, opts);
  t.equal(b.steps, 4); t.equal(eng.steps, 4);
  t.ok(Math.abs(a.loss - b.loss) / a.loss < 1e-5, `epoch loss ${a.loss} vs ${b.loss}`);
  t.ok(Math.abs(a.man - b.man) / a.man < 1e-4, `MAN term ${a.man} vs ${b.man}`);
  t.equal(a.accuracy, b.accuracy);
  const ea = await fed.evaluate(data.test, 100), eb = await eng.evaluate(data.test, 100);
  t.ok(Math.abs(ea.loss - eb.loss) / ea.loss < 1e-5, `eval loss ${ea.loss} vs ${eb.loss}`);
  t.equal(ea.accuracy, eb.accuracy);
  t.equal(eb.samples, data.test.n);

  // FL round: load the global model, reset the optimizer, train again — both engines from the same state.
  await fed.setParams(p0); await fed.resetOptimizerState();
  await eng.setParams(p0); await eng.resetOptimizerState();
  t.equal(eng.steps, 0);
  t.same(await eng.getParams(), p0, 'setParams via loadParametersBuffer');
  const a2 = await fed.trainEpoch(data.train, opts);
  const b2 = await eng.trainEpoch(data.train, opts);
  t.equal(b2.loss, b.loss, 'after reset the ORT engine repeats its first run exactly (moments and step zeroed)');
  t.ok(Math.abs(a2.loss - b2.loss) / a2.loss < 1e-5);
  await t.rejects(async () => { await eng.setParams(new Float32Array(3)); }, /has 3 values; the model has/);
  await fed.release(); await eng.release();

  const broken = path.join(tmp, 'broken');
  await cp(dir, broken, { recursive: true });
  const ckptFile = path.join(broken, 'ort-training', 'checkpoint');
  await writeFile(ckptFile, (await readFile(ckptFile)).subarray(0, 5000));
  await t.rejects(loadTrainer(broken, { engine: 'ort-training' }), { name: 'FedmanError', message: /broken\/ort-training\/checkpoint' is not a valid ORT training checkpoint: .* outside the 5000-byte file/ });

  // Artifacts for ORT 1.17 carry a version-1 checkpoint, which ORT 1.19 refuses; the engine converts it.
  const v1 = path.join(tmp, 'engine-v1');
  await createArtifacts('mlp', v1, { optimizer: 'sgd', format: 'ort-training', ortTraining: { lr: 0.1, checkpointVersion: 1 } });
  const v1bytes = new Uint8Array(await readFile(path.join(v1, 'ort-training', 'checkpoint')));
  t.equal(readCheckpoint(v1bytes).version, 1);
  const rd = async (f: string) => new Uint8Array(await readFile(path.join(v1, 'ort-training', f)));
  await t.rejects(ort.TrainingSession.create({ checkpointState: v1bytes, trainModel: await rd('training_model.onnx') }), /Checkpoint version 1 is not supported/);
  const e1 = await loadTrainer(v1, { engine: 'ort-training' });
  e1.setHypers({ lr: 0.1, man_zeta: 0.2 });
  t.ok((await e1.trainEpoch(data.train, { batchSize: B, seed: 1, maxSteps: 2 })).steps === 2, 'a version-1 export trains on the engine');
  await e1.release();

  const plain = path.join(tmp, 'plain');
  await createArtifacts('mlp', plain, {});
  await t.rejects(loadTrainer(plain, { engine: 'ort-training' }), /no ORT training files; rebuild them with 'fedman artifacts ... --format ort-training'/);
});

t.test('export refuses what ORT artifacts cannot carry', async (t) => {
  const { model } = await resolveModel('mlp');
  await t.rejects(buildArtifacts(model, 'mlp', { format: 'ort-training', clientTerms: [proxCorrection] }), /does not support client terms \(prox-correction\)/);
  await t.rejects(buildArtifacts(model, 'mlp', { format: 'ort-training', optimizer: 'sgd', ortTraining: { weightDecay: 0.1 } }), /adamw only; with 'sgd' weight decay is the training model's runtime input 'weight_decay'/);
  await t.rejects(buildArtifacts(model, 'mlp', { format: 'onnx' as never }), /--format: expected fedman or ort-training, got 'onnx'/);
});

t.test('CLI: fedman artifacts --format ort-training', async (t) => {
  const out = path.join(tmp, 'cli');
  const r = spawnSync(process.execPath, ['bin/fedman.js', 'artifacts', 'mlp', '--out', out, '--format', 'ort-training', '--optimizer', 'sgd', '--lr', '0.05'], { encoding: 'utf8', timeout: 120_000 });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /ORT training artifacts in ort-training\/: SGD, lr 0.05 \(runtime lr 0.001 x 50\), user inputs input, labels, man_zeta, clip_norm, weight_decay/);
  const manifest = JSON.parse(await readFile(path.join(out, 'manifest.json'), 'utf8'));
  t.same(Object.values(manifest.ortTraining.files), ['training_model.onnx', 'eval_model.onnx', 'optimizer_model.onnx', 'checkpoint']);
  for (const f of Object.values(manifest.ortTraining.files) as string[]) t.ok((await readFile(path.join(out, 'ort-training', f))).length > 0, f);
});
