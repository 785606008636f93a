/**
 * The dashboard in headless Chromium: after a round completes (uploads injected, evaluation on MNIST), the page
 * shows the round, the participants, the latest test accuracy and loss, the client list, and draws both curves;
 * a screenshot of the accuracy chart holds the series' colour. Without the token it asks for one. Before the first
 * round (only the initial evaluation, or no data at all) the charts span rounds 0…N and non-negative values, and
 * the page tells connected clients from those needed to start a round and from those joined, paused and stopped too.
 */
import t from 'tap';
import { tmpDir } from '../data/tmpdir.js';
import { ADMIN, CLIENT, fakeParams, serverConfig, untilStatus, upload } from '../server/helpers.js';
import { buildApp } from '../../src/server/app.js';
import { withPages } from '../../src/web/pages.js';
import { chartTicks, countColor, openBrowser } from '../helpers/browser.js';

const root = tmpDir(t, 'fedman-dashboard-');

t.test('the dashboard draws the federation live', async (t) => {
  const fed = await buildApp({ extend: withPages(),
    config: serverConfig({ clients: 2, rounds: 3, evaluation: { data: 'mnist', testLimit: 300, flatness: { every: 1, samples: 100, maxIter: 5 } } }), stateDir: `${root}/a`,
  });
  t.teardown(() => fed.app.close());
  const base = await fed.app.listen({ host: '127.0.0.1', port: 0 });

  for (const name of ['alice', 'bob']) await fed.app.inject({ method: 'POST', url: '/v1/join', headers: CLIENT, payload: { name } });
  for (const c of [0, 1]) await fed.app.inject({ method: 'POST', url: '/v1/task?timeout=0', headers: CLIENT, payload: { clientId: c } });
  const global = await fed.models.get(0)!.params();
  for (const c of [0, 1]) {
    const r = await upload(fed.app, { round: 1, clientId: c, uploadId: `u${c}`, numSamples: 10 + c, samples: 20, metrics: { loss: 1.5 - c * 0.1, accuracy: 0.4 } }, fakeParams(global, c));
    t.equal(r.statusCode, 200, r.body);
  }
  // Round 2 opens just after round 1's record is written, so wait for both rather than assume the order of polls.
  const s = await untilStatus(fed.app, 'round 1 completed and round 2 open', (x) => x.completedRounds >= 1 && x.round?.round === 2, 20_000);
  t.equal(s.completedRounds, 1, 'round 1 completed');
  t.equal(s.round?.round, 2, 'round 2 started');
  const rec = s.history[0];
  t.type(rec.testAccuracy, 'number', 'the server evaluated version 1');
  t.ok(rec.topEigenvalue > 0, `and measured its top Hessian eigenvalue (${rec.topEigenvalue})`);

  const { page, errors } = await openBrowser(t);
  await page.goto(`${base}/dashboard/#token=${ADMIN.authorization.slice('Bearer '.length)}`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
  t.equal(await page.textContent('#round'), '2 / 3', 'the round in progress');
  t.equal(await page.textContent('#accuracy'), `${(100 * rec.testAccuracy).toFixed(2)}%`, 'latest test accuracy');
  t.equal(await page.textContent('#loss'), rec.testLoss.toFixed(4), 'latest test loss');
  t.equal(await page.textContent('#eigenvalue'), rec.topEigenvalue.toFixed(3), 'the eigenvalue');
  t.equal(await page.textContent('#connected'), '2 / 2');
  t.equal(await page.textContent('#clients-summary'), '2 connected · 2 needed to start a round · 2 joined of 2 slots');
  t.equal(await page.textContent('#version'), '1');
  t.same(await page.$$eval('#clients tr td:nth-child(2)', (tds) => tds.map((td) => td.textContent)), ['alice', 'bob'], 'the client list');
  t.equal(await page.$$eval('#participants .chip', (x) => x.length), s.round.participants.length, 'one chip per participant');
  t.ok(await page.$$eval('#chart-accuracy svg path, #chart-accuracy svg circle', (x) => x.length) >= 2, 'the accuracy chart has its curves');
  t.ok(await page.$$eval('#chart-loss svg path, #chart-loss svg circle', (x) => x.length) >= 2, 'the loss chart has its curves');

  const shot = await page.locator('#chart-accuracy').screenshot();
  const blue = countColor(shot, [0x1f, 0x77, 0xb4], 30);
  t.ok(blue > 100, `the test-accuracy curve is drawn (${blue} pixels of its colour)`);
  if (process.env.FEDMAN_SCREENSHOTS) await page.screenshot({ path: `${process.env.FEDMAN_SCREENSHOTS}/dashboard.png`, fullPage: true });
  t.same(errors, [], 'no page errors');

  // A fresh tab without the token: the page asks for it, and shows the status once it is given.
  const p2 = await page.context().newPage();
  await p2.evaluate(() => sessionStorage.clear()).catch(() => {});
  await p2.goto(`${base}/dashboard/`);
  await p2.waitForSelector('#login.shown', { timeout: 10_000 });
  await p2.fill('#token', ADMIN.authorization.slice('Bearer '.length));
  await p2.click('#login-form button');
  await p2.waitForSelector('body[data-ready="true"]', { timeout: 10_000 });
  t.equal(await p2.textContent('#version'), '1', 'the status after logging in');
});

t.test('before the first round: empty charts with sane axes, and connected vs needed vs joined', async (t) => {
  const { page, errors } = await openBrowser(t);
  const rounds = [0, 1, 2, 3, 4, 5];
  let fed!: Awaited<ReturnType<typeof buildApp>>;
  // With the initial evaluation the charts hold one point each (round 0); without it, none.
  for (const evaluation of [{ data: 'mnist', testLimit: 100 }, undefined]) {
    const what = evaluation ? 'with the initial evaluation' : 'without evaluation';
    fed = await buildApp({ extend: withPages(), config: serverConfig({ clients: 10, minAvailable: 3, rounds: 5, ...(evaluation ? { evaluation } : {}) }), stateDir: `${root}/${evaluation ? 'b' : 'c'}` });
    const app = fed.app;
    t.teardown(() => app.close());
    const base = await fed.app.listen({ host: '127.0.0.1', port: 0 });
    for (const name of ['alice', 'bob']) await fed.app.inject({ method: 'POST', url: '/v1/join', headers: CLIENT, payload: { name } });
    await untilStatus(fed.app, 'two clients connected', (x) => x.connected === 2 && (!evaluation || x.initialEval !== null), 20_000);

    await page.evaluate(() => sessionStorage.clear()).catch(() => {});
    await page.goto(`${base}/dashboard/#token=${ADMIN.authorization.slice('Bearer '.length)}`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
    t.equal(await page.textContent('#round'), '0 / 5', `${what}: no round yet`);
    t.equal(await page.textContent('#connected'), '2 / 3', `${what}: connected / needed`);
    t.equal(await page.textContent('#clients-summary'), '2 connected · 3 needed to start a round · 2 joined of 10 slots', what);
    t.equal(await page.textContent('#participants'), 'no round yet: waiting for 1 more client to connect', what);
    const acc = await chartTicks(page, '#chart-accuracy'), loss = await chartTicks(page, '#chart-loss');
    t.same(acc.x, rounds, `${what}: the accuracy chart spans rounds 0…5`);
    t.same(acc.y, [0, 20, 40, 60, 80, 100], `${what}: and accuracy 0–100 %`);
    t.same(loss.x, rounds, `${what}: the loss chart spans rounds 0…5`);
    t.equal(loss.y[0], 0, `${what}: loss starts at 0 (${loss.y.join(', ')})`);
    t.ok(loss.y.length >= 2 && loss.y.every((v, i) => v >= 0 && (i === 0 || v > loss.y[i - 1]!)), `${what}: non-negative increasing loss ticks (${loss.y.join(', ')})`);
    if (evaluation) {
      if (process.env.FEDMAN_SCREENSHOTS) await page.screenshot({ path: `${process.env.FEDMAN_SCREENSHOTS}/dashboard-before-round-1.png`, fullPage: true });
      t.ok(await page.$$eval('#chart-accuracy svg circle', (x) => x.length) >= 1, 'the initial accuracy is drawn');
      t.ok(loss.y.at(-1)! >= fed.federation.status().initialEval!.testLoss, 'the loss axis reaches the initial loss');
    }
  }

  // The last server (no evaluation): paused, then stopped.
  const status = (what: string, text: () => boolean) => page.waitForFunction(text, undefined, { timeout: 10_000 }).catch((err: Error) => {
    throw new Error(`${what}: ${err.message}`);
  });
  const admin = async (what: string) => (await fed.app.inject({ method: 'POST', url: `/v1/admin/${what}`, headers: ADMIN })).statusCode;
  t.equal(await admin('pause'), 200);
  await status('the paused wording', () => /paused/.test(document.getElementById('participants')!.textContent!));
  t.equal(await page.textContent('#clients-summary'), '2 connected · 3 needed to start a round once resumed · 2 joined of 10 slots');
  t.equal(await page.textContent('#participants'), 'no round yet: paused by the admin');
  t.equal(await admin('stop'), 200);
  await status('the stopped wording', () => /stopped/.test(document.getElementById('participants')!.textContent!));
  t.equal(await page.textContent('#clients-summary'), '2 connected · no more rounds · 2 joined of 10 slots');
  t.equal(await page.textContent('#connected'), '2', 'connected only: nothing is needed any more');
  t.equal(await page.textContent('#participants'), 'no round: the federation was stopped');
  t.same(errors, [], 'no page errors');
});
