/**
 * The browser client's join link: `/client/#token=…` joins and trains without a click, and the token leaves the
 * address bar and never reaches the page's log. Without a token the page waits for the form, as before. A wrong
 * token shows the server's refusal and gives the form back, which then joins with the right token. The loss chart
 * of a one-round federation spans rounds 0…1 and loss from 0, not the −1…1 fitted around its one point.
 */
import t, { type Test } from 'tap';
import type { Page } from 'playwright-core';
import { tmpDir } from '../data/tmpdir.js';
import { TOKENS, serverConfig, statusOf } from '../server/helpers.js';
import { buildApp } from '../../src/server/app.js';
import { withPages } from '../../src/web/pages.js';
import { sleep } from '../helpers/poll.js';
import { chartTicks, openBrowser } from '../helpers/browser.js';

const root = tmpDir(t, 'fedman-client-link-');

async function federation(t: Test, dir: string) {
  const fed = await buildApp({ extend: withPages(), config: serverConfig({ model: 'mlp', clients: 1, rounds: 1, batchSize: 50, data: { data: 'mnist', limit: 100 } }), stateDir: `${root}/${dir}` });
  t.teardown(() => fed.app.close());
  return { app: fed.app, base: await fed.app.listen({ host: '127.0.0.1', port: 0 }) };
}

/** Waits (bounded) for a condition on the page's `window.fedmanClient`; on a timeout, says what the page logged. */
async function until(page: Page, what: string, fn: (c: Record<string, any>) => boolean): Promise<void> {
  try {
    await page.waitForFunction(`(${fn.toString()})(window.fedmanClient)`, undefined, { timeout: 60_000 });
  } catch (err) {
    throw new Error(`${what}: ${(err as Error).message}\npage log:\n${await page.textContent('#log')}`);
  }
}

const client = (page: Page) => page.evaluate(() => (window as any).fedmanClient as Record<string, any>);

t.test('a #token= link joins and trains at once', async (t) => {
  const { app, base } = await federation(t, 'link');
  const { page, errors } = await openBrowser(t);
  await page.goto(`${base}/client/#token=${TOKENS.client}`);
  t.equal(await page.evaluate(() => location.href), `${base}/client/`, 'the token is taken off the address and its history entry');
  await until(page, 'trained without a click', (c) => c.phase === 'done' || c.error);
  const c = await client(page);
  t.equal(c.error, '', 'no error');
  t.match(c.rounds, [{ round: 1, outcome: 'accepted' }], 'round 1 trained and uploaded');
  t.equal(await page.textContent('#client-id'), '0', 'the page shows the client id');
  t.equal(await page.textContent('#uploads'), '1', 'and the upload');
  t.equal(await page.textContent('#phase'), 'done');
  t.ok(await page.isDisabled('#join'), 'the Join button is spent, as after a click');
  t.match(await page.textContent('#log'), /joined as client 0/, 'the log tells the join');
  t.notMatch(await page.textContent('#log'), TOKENS.client, 'the log holds no token');
  t.same((await statusOf(app)).history[0].aggregated, [0], 'the server counted the update');
  const ticks = await chartTicks(page, '#chart');
  t.same(ticks.x, [0, 1], 'the loss chart spans the federation\'s rounds 0…1');
  t.ok(ticks.y[0] === 0 && ticks.y.at(-1)! >= c.rounds[0].loss, `and the loss from 0 up past round 1's (${ticks.y.join(', ')})`);
  if (process.env.FEDMAN_SCREENSHOTS) await page.screenshot({ path: `${process.env.FEDMAN_SCREENSHOTS}/client-link.png`, fullPage: true });
  t.same(errors, [], 'no page errors');
});

t.test('without a token the page waits for the form', async (t) => {
  const { app, base } = await federation(t, 'form');
  const { page, errors } = await openBrowser(t);
  await page.goto(`${base}/client/`);
  // Nothing to wait for but time: a join would be under way well within this.
  await sleep(1500);
  t.equal((await client(page)).phase, 'idle', 'not joining');
  t.notOk(await page.isDisabled('#join'), 'the Join button waits');
  t.equal((await statusOf(app)).clients.length, 0, 'no client joined');
  await page.fill('#token', TOKENS.client);
  await page.click('#join');
  await until(page, 'joined after the click', (c) => c.clientId !== null || c.error);
  t.equal((await client(page)).clientId, 0, 'the click joins');
  t.same(errors, [], 'no page errors');
});

t.test('a link with a wrong token shows the server\'s refusal and gives the form back', async (t) => {
  const { app, base } = await federation(t, 'wrong');
  const { page } = await openBrowser(t);
  await page.goto(`${base}/client/#token=not-the-token`);
  await until(page, 'the refusal', (c) => c.error);
  const error = await page.textContent('#error');
  t.match(error, /^could not join: \/v1\/join: 401 invalid bearer token \(check the client token\)$/, `the server's error, on the page: ${error}`);
  t.equal(await page.textContent('#phase'), 'error');
  t.notOk(await page.isDisabled('#join'), 'the Join button is back');
  t.notMatch(await page.textContent('#log'), 'not-the-token', 'the log holds no token');
  t.equal(await page.evaluate(() => location.href), `${base}/client/`, 'nor the address');
  t.equal((await statusOf(app)).clients.length, 0, 'no client joined');
  await page.fill('#token', TOKENS.client);
  await page.click('#join');
  await until(page, 'joined with the right token', (c) => c.clientId !== null);
  t.equal(await page.textContent('#error'), '', 'the error is cleared');
  t.equal((await client(page)).clientId, 0, 'joined');
});
