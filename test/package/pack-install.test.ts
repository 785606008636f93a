/**
 * The npm package as a user meets it: `npm pack` (building dist/), installed into an empty project without
 * devDependencies (so without tsx, esbuild or typescript). Its public API imports from JavaScript and typechecks
 * from TypeScript, and its `fedman` command makes artifacts, trains, and serves the pages with their prebuilt bundles.
 * One pack and one install serve every subtest.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { access, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { tmpDir } from '../data/tmpdir.js';
import { killAll, startServer, within } from '../helpers/fedman-process.js';
import { packAndInstall, ROOT } from '../helpers/package.js';

const run = promisify(execFile);
const dir = tmpDir(t, 'fedman-package-');
t.teardown(killAll);

const pkg = await packAndInstall(dir);
const installed = path.join(pkg.project, 'node_modules/fedman');
t.comment(`npm pack ${pkg.packSeconds.toFixed(1)} s, npm install ${pkg.installSeconds.toFixed(1)} s`);

/** Runs a file or the installed `fedman` with node in the project, bounded in time. */
const node = (args: string[], timeout = 120_000) => run(process.execPath, args, { cwd: pkg.project, timeout, killSignal: 'SIGKILL', encoding: 'utf8' });
const fedman = (...args: string[]) => node([pkg.bin, ...args]);
const exists = (p: string) => access(p).then(() => true, () => false);

t.test('the tarball holds the compiled package and no sources', async (t) => {
  const files = (await run('tar', ['tzf', pkg.tarball], { encoding: 'utf8' })).stdout.split('\n').filter(Boolean);
  for (const f of ['bin/fedman.js', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli/main.js', 'dist/src/sim/worker.js',
    'dist/src/web/pages.css', 'dist/src/web/client/index.html', 'dist/src/web/dashboard/index.html', 'dist/browser/client.js']) {
    t.ok(files.includes(`package/${f}`), f);
  }
  t.same(files.filter((f) => /\.ts$/.test(f) && !f.endsWith('.d.ts')), [], 'no TypeScript sources');
  t.same(files.filter((f) => /^package\/(test|bench|scripts|src)\//.test(f)), [], 'no tests, benchmarks, scripts or sources');
  const manifest = JSON.parse(await readFile(path.join(installed, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  for (const dev of ['tsx', 'esbuild', 'typescript']) {
    t.notOk(dev in manifest.dependencies, `${dev} is not a run-time dependency`);
    t.notOk(await exists(path.join(pkg.project, 'node_modules', dev)), `${dev} is not installed`);
  }
});

t.test('the public API imports from JavaScript', async (t) => {
  const file = path.join(pkg.project, 'uses.mjs');
  await writeFile(file, `
import * as fedman from 'fedman';
import { runClient } from 'fedman/client';
import { buildApp } from 'fedman/server';
import { simulate, WorkerPool } from 'fedman/sim';
import { createStrategy, fedavg } from 'fedman/fl';
import { lanczos } from 'fedman/flatness';
import { trainOnce } from 'fedman/browser';
import { validateServerConfig } from 'fedman/config';
import { TaskMessage } from 'fedman/protocol';
import pkg from 'fedman/package.json' with { type: 'json' };
const fns = { runClient, buildApp, simulate, WorkerPool, createStrategy, fedavg, lanczos, trainOnce, validateServerConfig };
if (!TaskMessage.anyOf) throw new Error('fedman/protocol: TaskMessage is not a schema');
const strategy = fedman.createStrategy('fedavg');
const model = fedman.buildZooModel('mlp', { seed: 1 });
console.log(JSON.stringify({
  version: pkg.version,
  functions: Object.entries(fns).filter(([, f]) => typeof f !== 'function').map(([k]) => k),
  main: ['Trainer', 'createArtifacts', 'loadDataset', 'partition', 'simulate', 'topEigenvalue', 'FedmanError'].filter((k) => typeof fedman[k] !== 'function'),
  strategy: strategy.name,
  sameSimulate: fedman.simulate === simulate,
  initializers: model.graph.initializer.length,
}));
`);
  const r = JSON.parse((await node([file])).stdout);
  t.equal(r.version, JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')).version);
  t.same(r.functions, [], 'every subpath export is there');
  t.same(r.main, [], "fedman's main exports are there");
  t.equal(r.strategy, 'fedavg');
  t.equal(r.sameSimulate, true, "'fedman' and 'fedman/sim' share one module");
  t.equal(r.initializers, 6, 'the zoo builds the mlp (3 weights, 3 biases)');
});

t.test('the public API typechecks from TypeScript', async (t) => {
  await writeFile(path.join(pkg.project, 'uses.ts'), `
import { Trainer, createArtifacts, loadDataset, simulate, mergeConfig, topEigenvalue, FedmanError, type SimConfig, type EpochMetrics } from 'fedman';
import { runClient, type ClientOptions } from 'fedman/client';
import { buildApp, type ServerConfig } from 'fedman/server';
import { WorkerPool } from 'fedman/sim';
import { createStrategy, type Strategy } from 'fedman/fl';
import { lanczos, type EigenResult } from 'fedman/flatness';
import { trainOnce } from 'fedman/browser';
import { validateServerConfig } from 'fedman/config';
import { JoinResponse, type TaskMessage } from 'fedman/protocol';

export async function demo(dir: string): Promise<number> {
  await createArtifacts('mlp', dir, { optimizer: 'sgd' });
  const trainer = await Trainer.load(dir, { threads: 1 });
  const data = await loadDataset('mnist', { limit: 100 });
  const epoch: EpochMetrics = await trainer.trainEpoch(data.train, { batchSize: 50, seed: 0 });
  const config: SimConfig = mergeConfig({ rounds: 1 });
  const strategy: Strategy = createStrategy(config.algorithm);
  const eigen: Promise<EigenResult> = topEigenvalue(dir, data.test, { samples: 10 });
  const server: Partial<ServerConfig> = { rounds: 1 };
  const client: Partial<ClientOptions> = {};
  const task: TaskMessage = { type: 'wait', retryAfter: 1, reason: 'not yet' };
  void [runClient, buildApp, simulate, WorkerPool, lanczos, trainOnce, strategy, eigen, server, client, task, JoinResponse, validateServerConfig({})];
  if (!Number.isFinite(epoch.loss)) throw new FedmanError('no loss');
  return epoch.loss;
}
`);
  await writeFile(path.join(pkg.project, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true,
      // Checks fedman's own declarations too: with skipLibCheck, one naming a missing package would pass as `any`.
      skipLibCheck: false,
      // fedman's declarations name Node's types (Buffer, NodeJS.ProcessEnv), as any Node library's do.
      types: ['node'], typeRoots: [path.join(ROOT, 'node_modules/@types')],
    },
    files: ['uses.ts'],
  }, null, 2));
  const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
  const r = await node([tsc, '-p', pkg.project]).then(
    (r) => ({ ok: true, out: r.stdout }), (e: { stdout?: string; message: string }) => ({ ok: false, out: e.stdout || e.message }));
  const errors = r.out.split('\n').filter((l) => /error TS\d+/.test(l));
  // Other packages' declarations are theirs to fix (onnx-proto's name a global `Long` that nothing declares).
  const thirdParty = errors.filter((l) => l.startsWith('node_modules/') && !l.startsWith('node_modules/fedman/'));
  if (thirdParty.length) t.comment(`${thirdParty.length} errors in other packages' declarations, e.g. ${thirdParty[0]}`);
  t.same(errors.filter((l) => !thirdParty.includes(l)), [], "tsc --noEmit: uses.ts and fedman's declarations typecheck");
  t.ok(r.ok || thirdParty.length > 0, `tsc fails only over other packages' declarations: ${r.out.slice(0, 500)}`);
});

t.test('the installed fedman: --help, artifacts, train, simulate on a worker thread', async (t) => {
  const help = await fedman('--help');
  t.match(help.stdout, /Usage: fedman/);
  t.match(help.stdout, /serve/);
  const art = path.join(dir, 'art');
  const a = await fedman('artifacts', 'mlp', '--out', art);
  t.match(a.stdout, /MAN layers \(2\)/);
  const r = await fedman('train', '--artifacts', art, '--data', 'mnist', '--limit', '200', '--epochs', '1', '--batch-size', '50', '--man', '0.1', '--json');
  const report = JSON.parse(r.stdout) as { epochs: { loss: number; testAccuracy: number }[] };
  t.equal(report.epochs.length, 1, 'one epoch');
  t.ok(Number.isFinite(report.epochs[0]!.loss), `finite loss ${report.epochs[0]!.loss}`);
  const out = path.join(dir, 'sim');
  await fedman('simulate', '--out', out, '--model', 'mlp', '--data', 'mnist', '--limit', '200', '--test-limit', '100', '--clients', '2',
    '--participation', '1', '--rounds', '1', '--batch-size', '50', '--workers', '1', '--threads', '1', '--quiet');
  const sim = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8')) as { config: { workers: number }; rounds: { participants: number[] }[] };
  t.equal(sim.config.workers, 1, 'the clients trained in a worker thread');
  t.same(sim.rounds.map((r) => r.participants.length), [2], 'one round of both clients');
});

t.test('the installed fedman serve: the pages and their prebuilt bundles', async (t) => {
  const cfg = path.join(dir, 'server.json');
  await writeFile(cfg, JSON.stringify({ model: 'mlp', clients: 1, rounds: 1, tokens: { client: ['package-client-token'], admin: ['package-admin-token'] } }));
  const { proc, url } = await startServer(path.join(dir, 'state'), cfg, 0, [], pkg.bin);
  t.teardown(() => { proc.child.kill('SIGKILL'); });
  const get = async (p: string) => {
    const r = await fetch(url + p, { signal: AbortSignal.timeout(30_000) });
    return { status: r.status, type: r.headers.get('content-type') ?? '', text: await r.text() };
  };
  for (const p of ['/client/', '/dashboard/']) {
    const r = await get(p);
    t.equal(r.status, 200, `${p}: ${r.text.slice(0, 200)}`);
    t.match(r.type, /^text\/html/, `${p} is HTML`);
  }
  t.match((await get('/web/pages.css')).type, /^text\/css/, 'the stylesheet');
  for (const name of ['dashboard.js', 'client.js', 'client-worker.js']) {
    const r = await get(`/web/${name}`);
    t.equal(r.status, 200, `/web/${name}: ${r.text.slice(0, 200)}`);
    t.match(r.type, /^text\/javascript/, `${name} is JavaScript`);
    t.equal(r.text, await readFile(path.join(installed, 'dist/browser', name), 'utf8'), `${name} is the bundle the package build wrote`);
  }
  const ort = await get('/web/ort/ort.wasm.bundle.min.mjs');
  t.equal(ort.status, 200, 'onnxruntime-web is served from the installed dependency');
  proc.child.kill('SIGTERM');
  const exit = await within(proc.exit, 30_000, 'server exit after SIGTERM');
  t.equal(exit.code, 0, `the server stops cleanly: ${proc.err()}`);
});
