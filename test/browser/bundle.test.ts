import t from 'tap';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildBrowser } from '../../scripts/build-browser.js';
import { createArtifacts } from '../../src/training/artifacts.js';
import { Trainer } from '../../src/runtime/trainer.js';
import { loadDataset } from '../../src/data/registry.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const tmp = await mkdtemp(path.join(os.tmpdir(), 'fedman-browser-'));
t.teardown(() => rm(tmp, { recursive: true, force: true }));

const outDir = path.join(tmp, 'bundle');
const built = await buildBrowser({ outDir, only: ['fedman.js'] });
const code = await readFile(built.file, 'utf8');
// The bundle keeps `import('onnxruntime-web')` external: resolve it from the repository's node_modules, as a page's
// import map would.
await symlink(path.join(ROOT, 'node_modules'), path.join(tmp, 'node_modules'), 'dir');
// A .js file is ESM to Node only under a package.json saying so (a browser goes by <script type="module">).
await writeFile(path.join(tmp, 'package.json'), '{ "type": "module" }\n');

t.test('the browser bundle builds without Node-only code', async (t) => {
  t.equal(built.file, path.join(outDir, 'fedman.js'));
  t.ok(built.bytes > 10_000 && built.bytes === Buffer.byteLength(code), `bundle is ${built.bytes} bytes`);
  t.notOk(code.includes('onnxruntime-node'), 'no onnxruntime-node');
  t.notOk(/node:(fs|path|module|os|child_process|worker_threads)\b/.test(code), 'no node: builtins');
  t.ok(code.includes('onnxruntime-web'), 'onnxruntime-web is imported (external)');
});

t.test('the bundle trains the mlp artifacts over HTTP on onnxruntime-web, matching the Node trainer', async (t) => {
  const art = path.join(tmp, 'served', 'mlp');
  await createArtifacts('mlp', art, { optimizer: 'sgd' });
  const server = createServer(async (req, res) => {
    const rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/+/, '');
    const file = path.resolve(tmp, 'served', rel);
    if (!file.startsWith(path.join(tmp, 'served') + path.sep)) { res.writeHead(403).end(); return; }
    let body: Buffer;
    try { body = await readFile(file); } catch { res.writeHead(404).end(); return; }
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mlp`;

  const fedman = await import(pathToFileURL(built.file).href) as typeof import('../../src/browser/index.js');
  const data = await loadDataset('mnist', { limit: 200 });
  const ds = fedman.makeDataset({ ...data.train });
  const opts = { batchSize: 25, seed: 3, maxSteps: 5 };
  const hypers = { lr: 0.1, man_zeta: 0.15 };

  const trace = async (tr: { setHypers(h: Record<string, number>): void; trainEpoch: Trainer['trainEpoch'] }) => {
    tr.setHypers(hypers);
    const losses: number[] = [];
    await tr.trainEpoch(ds, { ...opts, onStep: (_i, _n, s) => losses.push(s.loss) });
    return losses;
  };

  const files = await fedman.loadArtifactsFromUrl(base);
  t.equal(files.manifest.model, 'mlp');
  const web = await fedman.Trainer.fromArtifacts(files, { backend: 'web', dir: base });
  t.equal(web.backendName, 'web');
  t.equal(web.dir, base);
  const webLosses = await trace(web);

  const node = await Trainer.load(art, { backend: 'node', threads: 1 });
  const nodeLosses = await trace(node);
  t.equal(webLosses.length, 5);
  t.same(webLosses.length, nodeLosses.length);
  const worst = Math.max(...nodeLosses.map((v, i) => Math.abs(v - webLosses[i]!)));
  t.ok(worst < 1e-5, `max loss difference ${worst.toExponential(2)} (web ${webLosses.map((v) => v.toFixed(5))})`);

  // Parameters, checkpoints and exported models as bytes, no file system.
  const pw = web.getParams(), pn = node.getParams();
  let paramDiff = 0;
  for (let i = 0; i < pw.length; i++) paramDiff = Math.max(paramDiff, Math.abs(pw[i]! - pn[i]!));
  t.ok(paramDiff < 1e-4, `parameters agree (max difference ${paramDiff.toExponential(2)})`);
  const ckpt = web.checkpointBytes();
  const again = await fedman.Trainer.fromArtifacts(files, { backend: 'web' });
  again.loadCheckpointBytes(ckpt);
  t.equal(again.steps, 5);
  t.same(Array.from(again.getParams().subarray(0, 20)), Array.from(pw.subarray(0, 20)));
  const onnx = web.exportInferenceBytes();
  t.ok(onnx.length > 1000);
  await writeFile(path.join(tmp, 'exported.onnx'), onnx);
  const check = await Trainer.fromArtifacts({ ...files, forward: onnx }, { backend: 'web' });
  t.same(Array.from(check.getParams().subarray(0, 20)), Array.from(pw.subarray(0, 20)), 'exported weights are the trained ones');

  // Node-only paths fail clearly in the bundle.
  await t.rejects(web.saveCheckpoint(path.join(tmp, 'x.safetensors')), /no file system/);
  await t.rejects(fedman.Trainer.fromArtifacts(files, { backend: 'node' }), /no 'node' backend/);
  await t.rejects(fedman.loadArtifactsFromUrl(`${base}-missing`), /HTTP 404/);

  // trainOnce: the page's one-call convenience.
  const once = await fedman.trainOnce(base, ds, { ...opts, hypers });
  t.equal(once.metrics.steps, 5);
  t.ok(Math.abs(once.metrics.loss - webLosses.reduce((a, b) => a + b, 0) / 5) < 1e-5);

  for (const tr of [web, again, check, node]) await tr.release();
});
