/** The CLI as a user meets it: real child processes, exit codes, one-line errors without stack traces. */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const tmp = await mkdtemp(path.join(os.tmpdir(), 'fedman-cli-'));
t.teardown(() => rm(tmp, { recursive: true, force: true }));

function fedman(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/fedman.js', ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

t.test('artifacts + train --json + eval of the export', async (t) => {
  const art = path.join(tmp, 'art');
  const a = fedman('artifacts', 'mlp', '--out', art);
  t.equal(a.code, 0, a.err);
  t.match(a.out, /MAN layers \(2\)/);
  const model = path.join(tmp, 'trained.onnx');
  const r = fedman('train', '--artifacts', art, '--data', 'mnist', '--limit', '500', '--epochs', '2', '--lr', '0.1', '--man', '0.1', '--json', '--export', model);
  t.equal(r.code, 0, r.err);
  const report = JSON.parse(r.out);
  t.equal(report.epochs.length, 2);
  for (const k of ['loss', 'ce', 'man', 'trainAccuracy', 'testAccuracy', 'samplesPerSecond']) t.type(report.epochs[0][k], 'number', k);
  t.ok(report.epochs[1].ce < report.epochs[0].ce, 'loss falls from epoch 1 to 2');
  t.ok(report.epochs[1].testAccuracy > 0.2, `better than chance after 2 small epochs: ${report.epochs[1].testAccuracy}`);
  const e = fedman('eval', '--model', model, '--limit', '500', '--json');
  t.equal(e.code, 0, e.err);
  t.equal(JSON.parse(e.out).accuracy, report.epochs[1].testAccuracy);
});

t.test('user mistakes: one clear line, no stack trace, non-zero exit', async (t) => {
  const cases: [string[], RegExp][] = [
    [['train', '--artifacts', path.join(tmp, 'nope')], /not an artifacts directory/],
    [['artifacts', 'no-such-model', '--out', path.join(tmp, 'x')], /neither a zoo model/],
    [['train', '--artifacts', tmp, '--lr', 'abc'], /--lr expects a number/],
    [['artifacts', 'mlp', '--out', path.join(tmp, 'y'), '--optimizer', 'rmsprop'], /--optimizer: expected one of/],
    [['train', '--artifacts', path.join(tmp, 'art'), '--data', path.join(tmp, 'nodata')], /./],
  ];
  for (const [args, re] of cases) {
    const r = fedman(...args);
    t.not(r.code, 0, args.join(' '));
    t.match(r.err, re);
    t.notMatch(r.err, /\n\s+at /, `no stack trace for: ${args.join(' ')}`);
  }
  t.notOk((await readdir(tmp)).includes('x'), 'no partial artifacts directory');
});

t.test('train --engine ort-training (ORT TrainingSession) gives the same epochs as the fedman engine', async (t) => {
  const art = path.join(tmp, 'art-ort');
  t.equal(fedman('artifacts', 'mlp', '--out', art, '--format', 'ort-training', '--optimizer', 'sgd').code, 0);
  const args = ['train', '--artifacts', art, '--limit', '300', '--epochs', '1', '--man', '0.2', '--json'];
  const ort = fedman(...args, '--engine', 'ort-training');
  t.equal(ort.code, 0, ort.err);
  const own = fedman(...args, '--lr', '0.01');
  t.equal(own.code, 0, own.err);
  const a = JSON.parse(ort.out).epochs[0], b = JSON.parse(own.out).epochs[0];
  t.ok(Math.abs(a.loss - b.loss) / b.loss < 1e-5, `epoch loss ${a.loss} vs ${b.loss}`);
  const bad = fedman(...args, '--engine', 'ort-training', '--export', path.join(tmp, 'x.onnx'));
  t.not(bad.code, 0);
  t.match(bad.err, /need --engine fedman/);
});

t.test('artifacts from a model with an unsupported op: op, node and docs link; exit != 0; nothing written', async (t) => {
  const { GraphBuilder } = await import('../../src/onnx/builder.js');
  const { DataType } = await import('../../src/onnx/proto.js');
  const { float32Tensor } = await import('../../src/onnx/tensor.js');
  const { saveModel } = await import('../../src/onnx/model-io.js');
  const b = new GraphBuilder();
  const x = b.input('x', DataType.FLOAT, ['N', 4]);
  const w = b.initializer(float32Tensor('w', [4, 3], Array.from({ length: 12 }, (_, i) => i / 12)));
  b.output(b.op('Hardmax', [b.op('MatMul', [x, w])], { axis: 1 }, { name: 'odd_head' }), DataType.FLOAT, ['N', 3]);
  const dir = path.join(tmp, 'unsupported');
  const { mkdir } = await import('node:fs/promises');
  await mkdir(dir);
  const model = path.join(dir, 'model.onnx');
  await saveModel(model, b.toModel('m'));
  const r = fedman('artifacts', model, '--out', path.join(dir, 'out'));
  t.not(r.code, 0);
  t.match(r.err, /Hardmax/);
  t.match(r.err, /odd_head/);
  t.match(r.err, /docs\/ops\.md/);
  t.notMatch(r.err, /\n\s+at /);
  t.same(await readdir(dir), ['model.onnx'], 'no output or staging directory left behind');
});

t.test('artifacts without --out go to artifacts/<model name>, whose README documents every manifest field', async (t) => {
  const cwd = await mkdtemp(path.join(tmp, 'cwd-'));
  const r = spawnSync(process.execPath, [path.resolve('bin/fedman.js'), 'artifacts', 'mlp', '--format', 'ort-training'], { cwd, encoding: 'utf8', timeout: 120_000 });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, `wrote ${path.join('artifacts', 'mlp')}:`);
  const manifest = JSON.parse(await readFile(path.join(cwd, 'artifacts', 'mlp', 'manifest.json'), 'utf8')) as Record<string, unknown>;
  const readme = await readFile('artifacts/README.md', 'utf8');
  const documented = new Set(readme.split('\n').filter((l) => l.startsWith('| `')).flatMap((l) => [...l.split('|')[1]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!)));
  for (const field of Object.keys(manifest)) t.ok(documented.has(field), `manifest field '${field}' in artifacts/README.md`);
});
