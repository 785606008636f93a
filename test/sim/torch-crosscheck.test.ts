/**
 * Cross-check of a whole federated simulation against an independent PyTorch implementation
 * (scripts/torch_fedavg_man.py): FedAvg + MAN (ζ = 0.15) with the zoo MLP on the first 1000 MNIST samples,
 * 10 clients (Dirichlet 0.3, unequal sizes, so the sample weighting matters), participation 0.5, 5 rounds, 1 local
 * epoch, batch 50, clipping at 1 (active in about half the steps), weight decay 1e-3, lr 0.1 × 0.95 per round,
 * shuffle off (local batches in partition order), in the main thread.
 *
 * The fixture (test/fixtures/crosscheck/, see its README) holds the config, the partition and the participants
 * of every round as fedman drew them (mlp.run.json), and PyTorch's final global parameters (float32). No Python is
 * needed here: fedman reruns the same config, the test checks it drew the same partition, participants and
 * initial weights, and compares the final global models: max |Δ| / max |w| ≤ 1e-4.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { simulate } from '../../src/sim/engine.js';
import { mergeConfig, resultFieldDiffs } from '../../src/config/index.js';
import type { SimConfig } from '../../src/config/index.js';
import { compareVectors, float32LE, initializerVector, readFloat32File } from '../../scripts/crosscheck.js';
import { tmpDir } from '../data/tmpdir.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'crosscheck');
const TOLERANCE = 1e-4;

interface CrosscheckRun {
  format: string;
  config: SimConfig;
  partition: { scheme: string; clients: number[][] };
  rounds: { round: number; participants: number[] }[];
  model: { name: string; paramCount: number; params: { name: string; dims: number[] }[] };
  initialParamsSha256: string;
}

async function readJson<T>(file: string): Promise<T> {
  return JSON.parse(await readFile(file, 'utf8')) as T;
}

/** SHA-256 of the model's initializers as float32 LE, concatenated in initializer order (as the Python side). */
async function initialSha(onnxFile: string): Promise<string> {
  const { values } = await initializerVector(onnxFile);
  return createHash('sha256').update(float32LE(values)).digest('hex');
}

t.test('FedAvg + MAN (MLP, MNIST) matches the PyTorch reimplementation', async (t) => {
  const tmp = tmpDir(t, 'fedman-crosscheck-');
  const fixture = await readJson<CrosscheckRun>(path.join(FIXTURES, 'mlp.run.json'));
  const torchFinal = await readFloat32File(path.join(FIXTURES, 'mlp.torch-final.f32.bin'));
  const config = mergeConfig(await readJson<Record<string, unknown>>(path.join(FIXTURES, 'mlp.config.json')));
  t.equal(config.shuffle, false);
  t.equal(config.workers, 0);

  const out = path.join(tmp, 'run');
  const r = await simulate(config, { out });
  const report = r.report;

  // Same run as the fixture's: config, initial weights, partition, participants.
  t.same(resultFieldDiffs(report.config, fixture.config), [], 'config as when the fixture was made');
  t.equal(report.config.rounds, fixture.config.rounds);
  t.equal(await initialSha(path.join(out, 'artifacts', 'forward.onnx')), fixture.initialParamsSha256,
    'initial global weights as when the fixture was made (else regenerate it, see test/fixtures/crosscheck/README.md)');
  t.same(report.partition.clients, fixture.partition.clients, 'partition as recorded');
  t.same(report.rounds.map((x) => x.participants), fixture.rounds.map((x) => x.participants), 'participants as recorded');
  t.equal(r.global.length, fixture.model.paramCount);

  const { maxAbsDiff, maxAbs, relative } = compareVectors(r.global, torchFinal);
  t.comment(`fedman vs PyTorch after ${report.rounds.length} rounds: max|Δ| = ${maxAbsDiff.toExponential(3)}, max|w| = ${maxAbs.toFixed(4)}, ratio ${relative.toExponential(3)}`);
  t.ok(relative <= TOLERANCE, `max|Δ| / max|w| = ${relative.toExponential(3)} ≤ ${TOLERANCE}`);

  // The comparison is sensitive: dropping MAN moves the result by far more than the tolerance.
  const plain = await simulate(mergeConfig({ ...config, man: 0 }), { out: path.join(tmp, 'plain') });
  const off = compareVectors(plain.global, torchFinal).relative;
  t.comment(`without MAN: ratio ${off.toExponential(3)}`);
  t.ok(off > 10 * TOLERANCE, `ζ = 0 differs from the fixture by ${off.toExponential(3)} (> 10 × tolerance)`);
});
