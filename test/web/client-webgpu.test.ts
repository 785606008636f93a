/**
 * The browser client page on the GPU: headless Chromium with WebGPU on SwiftShader (its software Vulkan driver).
 * The page picks WebGPU by itself (an adapter, and the server's artifacts carry the WebGPU lowering), shows it, trains
 * its round in the worker with onnxruntime-web's WebGPU EP and uploads; its update (the round's model, as the only
 * client) equals onnxruntime-node CPU's for the same task within 1e-5. With `?device=cpu` the page trains on wasm and says so.
 */
import t from 'tap';
import { tmpDir } from '../data/tmpdir.js';
import { TOKENS, serverConfig, untilStatus } from '../server/helpers.js';
import { buildApp } from '../../src/server/app.js';
import { withPages } from '../../src/web/pages.js';
import type { TrainTaskMessage } from '../../src/client/round.js';
import { nodeReference } from './node-reference.js';
import { openBrowser } from '../helpers/browser.js';

const root = tmpDir(t, 'fedman-browser-webgpu-');

t.test('the page trains on WebGPU and its update equals onnxruntime-node CPU\'s', async (t) => {
  const stateDir = `${root}/state`;
  const fed = await buildApp({ extend: withPages(),
    config: serverConfig({ model: 'mlp', clients: 1, rounds: 1, localEpochs: 1, batchSize: 32, lr: 0.1, man: 0.1, seed: 5, data: { data: 'mnist', limit: 96 } }),
    stateDir,
  });
  t.teardown(() => fed.app.close());
  const base = await fed.app.listen({ host: '127.0.0.1', port: 0 });
  const v0 = await fed.models.get(0)!.params();
  const { page, errors } = await openBrowser(t, { webgpu: true });
  const waitFor = async (fn: () => boolean, what: string) => {
    try { await page.waitForFunction(fn, undefined, { timeout: 240_000 }); } catch (err) {
      throw new Error(`${what}: ${(err as Error).message}\npage log:\n${await page.textContent('#log')}\nerrors: ${errors.join('\n')}`);
    }
  };
  await page.goto(`${base}/client/#token=${TOKENS.client}`);
  await waitFor(() => (window as any).fedmanClient.rounds.length >= 1, 'round 1 on the GPU');
  const r = await page.evaluate(() => {
    const c = (window as any).fedmanClient;
    return { clientId: c.clientId as number, device: c.device as string, report: c.rounds[0], task: c.lastTask as TrainTaskMessage, key: JSON.parse(localStorage.getItem('fedman.browserClient')!).key as string };
  });
  t.equal(r.device, 'webgpu', 'the page chose WebGPU');
  t.equal(await page.textContent('#device'), 'WebGPU', 'and shows it');
  t.match(await page.getAttribute('#device', 'title'), /WebGPU \(google swiftshader/, 'with the adapter');
  t.match(r.report, { round: 1, outcome: 'accepted', steps: 3 }, 'round 1 trained (3 steps) and uploaded');
  await untilStatus(fed.app, 'the browser\'s upload', (x) => x.completedRounds === 1, 60_000);

  const { shardStatus, node } = await nodeReference(t, fed, r, v0);
  t.equal(shardStatus, 200);
  // The only client of a FedAvg round: model version 1 is its update.
  const stored = { params: await fed.models.get(1)!.params() };
  let maxDiff = 0;
  for (let i = 0; i < node.params.length; i++) maxDiff = Math.max(maxDiff, Math.abs(stored.params[i]! - node.params[i]!));
  t.ok(maxDiff <= 1e-5, `browser WebGPU vs onnxruntime-node CPU update: max |difference| ${maxDiff.toExponential(2)}`);
  t.ok(Math.abs(node.loss - r.report.loss) <= 1e-5 * node.loss, `same local loss (${node.loss} vs ${r.report.loss})`);
  t.same(errors, [], 'no page errors');
});

t.test('?device=cpu: wasm, and the page says so', async (t) => {
  const fed = await buildApp({ extend: withPages(), config: serverConfig({ model: 'mlp', clients: 1, rounds: 1, data: { data: 'mnist', limit: 32 } }), stateDir: `${root}/state-cpu` });
  t.teardown(() => fed.app.close());
  const base = await fed.app.listen({ host: '127.0.0.1', port: 0 });
  const { page } = await openBrowser(t, { webgpu: true });
  await page.goto(`${base}/client/?device=cpu#token=${TOKENS.client}`);
  await page.waitForFunction(() => (window as any).fedmanClient.device !== '', undefined, { timeout: 60_000 });
  t.equal(await page.evaluate(() => (window as any).fedmanClient.device), 'cpu');
  t.equal(await page.textContent('#device'), 'wasm');
  t.match(await page.getAttribute('#device', 'title'), /\?device=cpu/);
});
