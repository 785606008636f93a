/**
 * The browser client respects the federation server's CORS: a page served by one origin (`?server=` pointing at
 * another) joins and trains when that server lists the page's origin in `cors.origins`, and is refused (an error
 * on the page, no client joined) when it does not.
 */
import t from 'tap';
import { tmpDir } from '../data/tmpdir.js';
import { TOKENS, serverConfig, statusOf } from '../server/helpers.js';
import { buildApp } from '../../src/server/app.js';
import { withPages } from '../../src/web/pages.js';
import { openBrowser } from '../helpers/browser.js';

const root = tmpDir(t, 'fedman-client-cors-');

t.test('cross-origin federation server: allowed by CORS, then not', async (t) => {
  const host = await buildApp({ extend: withPages(), config: serverConfig({ clients: 1, rounds: 1 }), stateDir: `${root}/host` });
  t.teardown(() => host.app.close());
  const pageOrigin = await host.app.listen({ host: '127.0.0.1', port: 0 });
  const federation = (origins: string[], dir: string) => buildApp({ extend: withPages(),
    config: serverConfig({ model: 'mlp', clients: 1, rounds: 1, batchSize: 50, data: { data: 'mnist', limit: 100 }, cors: { origins } }),
    stateDir: `${root}/${dir}`,
  });

  const allowed = await federation([pageOrigin], 'allowed');
  t.teardown(() => allowed.app.close());
  const allowedUrl = (await allowed.app.listen({ host: '127.0.0.1', port: 0 })).replace('127.0.0.1', 'localhost');
  const { page, errors } = await openBrowser(t);
  await page.goto(`${pageOrigin}/client/?server=${encodeURIComponent(allowedUrl)}#token=${TOKENS.client}`);
  await page.waitForFunction(() => (window as any).fedmanClient.phase === 'done' || (window as any).fedmanClient.error, undefined, { timeout: 60_000 });
  t.equal(await page.evaluate(() => (window as any).fedmanClient.error), '', 'no error');
  t.match(await page.evaluate(() => (window as any).fedmanClient.rounds), [{ round: 1, outcome: 'accepted' }], 'trained and uploaded across origins');
  t.equal((await statusOf(allowed.app)).history[0].aggregated.length, 1);
  t.same(errors, []);

  const refused = await federation(['http://elsewhere.example'], 'refused');
  t.teardown(() => refused.app.close());
  const refusedUrl = (await refused.app.listen({ host: '127.0.0.1', port: 0 })).replace('127.0.0.1', 'localhost');
  await page.evaluate(() => localStorage.clear());
  await page.goto(`${pageOrigin}/client/?server=${encodeURIComponent(refusedUrl)}#token=${TOKENS.client}`);
  await page.waitForFunction(() => (window as any).fedmanClient.warning, undefined, { timeout: 60_000 });
  const warning = await page.evaluate(() => (window as any).fedmanClient.warning as string);
  t.match(warning, /\/v1\/join: .*retrying/, `the page reports that it cannot get through: ${warning}`);
  t.equal(await page.textContent('#error'), warning, 'shown on the page');
  t.equal((await statusOf(refused.app)).clients.length, 0, 'no client joined the server that does not allow the origin');
});
