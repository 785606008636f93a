/**
 * The browser client in headless Chromium, next to a scripted second client (injected requests) whose uploads
 * decide when rounds close. The page joins with a client token, downloads the artifacts and its shard, is selected
 * for round 1, trains in its Web Worker on onnxruntime-web and uploads. Its stored update equals a Node client's
 * (onnxruntime-node) on the same data, task and global model within 1e-5. A reload mid-round rejoins as the same
 * client (identity in localStorage); round 1 completes with the browser's update counted and the reloaded page
 * trains round 2. A drawn digit is classified on the page and by the server's OIP endpoint with the same answer.
 */
import t from 'tap';
import { tmpDir } from '../data/tmpdir.js';
import { CLIENT, TOKENS, fakeParams, serverConfig, statusOf, untilStatus, upload } from '../server/helpers.js';
import { buildApp } from '../../src/server/app.js';
import { withPages } from '../../src/web/pages.js';
import { StateDir } from '../../src/server/state.js';
import type { TrainTaskMessage } from '../../src/client/round.js';
import { nodeReference } from './node-reference.js';
import { countColor, openBrowser } from '../helpers/browser.js';

const root = tmpDir(t, 'fedman-browser-client-');

t.test('a browser tab joins, trains in a worker, uploads, survives a reload, and classifies', async (t) => {
  const stateDir = `${root}/state`;
  const fed = await buildApp({ extend: withPages(),
    config: serverConfig({
      model: 'mlp', clients: 2, minAvailable: 2, rounds: 2, localEpochs: 1, batchSize: 50, lr: 0.1, seed: 3,
      data: { data: 'mnist', limit: 1200 }, evaluation: { data: 'mnist', testLimit: 200 },
    }),
    stateDir,
  });
  t.teardown(() => fed.app.close());
  const base = await fed.app.listen({ host: '127.0.0.1', port: 0 });
  const v0 = await fed.models.get(0)!.params();
  const status = (what: string, ok: (s: Record<string, any>) => boolean) => untilStatus(fed.app, what, ok, 30_000);

  // The scripted client.
  const scripted = (await fed.app.inject({ method: 'POST', url: '/v1/join', headers: CLIENT, payload: { name: 'scripted' } })).json().clientId as number;
  const poll = () => fed.app.inject({ method: 'POST', url: '/v1/task?timeout=0', headers: CLIENT, payload: { clientId: scripted } });
  await poll();

  const { page, errors } = await openBrowser(t);
  // On a timeout, say what the page logged.
  const waitFor = async (fn: () => boolean, what: string) => {
    try { await page.waitForFunction(fn, undefined, { timeout: 60_000 }); } catch (err) {
      throw new Error(`${what}: ${(err as Error).message}\npage log:\n${await page.textContent('#log')}\nerrors: ${errors.join('\n')}`);
    }
  };
  // The link joins by itself (test/web/client-link.test.ts).
  await page.goto(`${base}/client/#token=${TOKENS.client}&inferenceToken=${TOKENS.inference}`);
  await waitFor(() => (window as any).fedmanClient.rounds.length >= 1, 'round 1 in the browser');
  const first = await page.evaluate(() => {
    const c = (window as any).fedmanClient;
    return { clientId: c.clientId as number, rejoined: c.rejoined as boolean, report: c.rounds[0], task: c.lastTask as TrainTaskMessage, key: JSON.parse(localStorage.getItem('fedman.browserClient')!).key as string };
  });
  t.equal(first.rejoined, false, 'joined as a new client');
  t.match(first.report, { round: 1, outcome: 'accepted' }, 'round 1 trained and uploaded');
  t.equal(first.report.steps, 12, '12 local steps (600 samples, batch 50)');
  let s = await status('the browser\'s upload', (x) => x.round?.accepted.includes(first.clientId));
  t.same(s.round.participants, [0, 1], 'both clients are round 1\'s participants');

  // The same task on onnxruntime-node, from the same global model and the same shard, against the stored update.
  const { shardStatus, node } = await nodeReference(t, fed, first, v0);
  t.equal(shardStatus, 200);
  const stored = await new StateDir(stateDir).readUpdate(1, 0, first.clientId);
  t.equal(stored.meta.numSamples, 600);
  let maxDiff = 0;
  for (let i = 0; i < node.params.length; i++) maxDiff = Math.max(maxDiff, Math.abs(stored.params[i]! - node.params[i]!));
  t.ok(maxDiff <= 1e-5, `browser (onnxruntime-web) vs Node (onnxruntime-node) update: max |difference| ${maxDiff.toExponential(2)}`);
  t.ok(Math.abs(node.loss - first.report.loss) < 1e-5, `same local loss (${node.loss} vs ${first.report.loss})`);

  // A reload mid-round: the same client, which has already uploaded.
  await page.reload();
  await waitFor(() => (window as any).fedmanClient.clientId !== null && (window as any).fedmanClient.phase === 'waiting', 'rejoin after the reload');
  t.same(await page.evaluate(() => [(window as any).fedmanClient.clientId, (window as any).fedmanClient.rejoined]), [first.clientId, true], 'the reloaded page rejoined as the same client');
  t.equal(await page.textContent('#uploads'), '1', 'and remembers its upload');

  // The scripted client closes round 1; the reloaded page trains round 2.
  t.equal((await upload(fed.app, { round: 1, clientId: scripted, uploadId: 's1', numSamples: 600, samples: 600 }, fakeParams(v0, 1))).statusCode, 200);
  s = await status('round 1', (x) => x.completedRounds === 1);
  t.same(s.history[0].aggregated, [0, 1], 'round 1 counted the browser\'s update');
  await poll();
  await waitFor(() => (window as any).fedmanClient.rounds.length >= 2, 'round 2 in the reloaded page');
  const v1 = await fed.models.get(1)!.params();
  t.equal((await upload(fed.app, { round: 2, clientId: scripted, uploadId: 's2', numSamples: 600, samples: 600 }, fakeParams(v1, 2))).statusCode, 200);
  await waitFor(() => (window as any).fedmanClient.phase === 'done', 'the end of the federation');
  const second = await page.evaluate(() => (window as any).fedmanClient.rounds);
  t.match(second, [{ round: 1, outcome: 'accepted' }, { round: 2, outcome: 'accepted' }], 'the page trained round 2 after the reload');
  s = await statusOf(fed.app);
  t.equal(s.phase, 'done');
  t.same(s.history.map((r: any) => r.aggregated), [[0, 1], [0, 1]], 'both rounds counted the browser\'s update');
  t.equal(s.clients.length, 2, 'the reload made no new client');

  // Draw a "1" and classify it here and on the server.
  const box = (await page.locator('#pad').boundingBox())!;
  await page.mouse.move(box.x + 140, box.y + 40);
  await page.mouse.down();
  for (let k = 1; k <= 10; k++) await page.mouse.move(box.x + 140, box.y + 40 + k * 20);
  await page.mouse.up();
  await page.click('#predict-local');
  await page.waitForFunction(() => /^\d$/.test(document.getElementById('pred-local')!.textContent ?? ''), undefined, { timeout: 30_000 });
  await page.click('#predict-server');
  await page.waitForFunction(() => /^\d$/.test(document.getElementById('pred-server')!.textContent ?? ''), undefined, { timeout: 30_000 });
  const local = await page.textContent('#pred-local'), remote = await page.textContent('#pred-server');
  t.equal(local, remote, `the page and the server agree (${local})`);
  t.match(await page.textContent('#pred-local-detail'), /model version 2/);
  t.match(await page.textContent('#pred-server-detail'), /model version 2/);

  const shot = await page.locator('#chart').screenshot();
  const blue = countColor(shot, [0x1f, 0x77, 0xb4], 30);
  t.ok(blue > 100, `the loss chart is drawn (${blue} pixels of its colour)`);
  t.equal(await page.textContent('#uploads'), '2', 'uploads of both rounds');
  t.equal(await page.textContent('#round'), '2');
  if (process.env.FEDMAN_SCREENSHOTS) await page.screenshot({ path: `${process.env.FEDMAN_SCREENSHOTS}/client.png`, fullPage: true });
  t.same(errors, [], 'no page errors');
});
