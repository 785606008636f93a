/**
 * A state directory written by an older fedman (its config.json lacks fields added since, such as `robust`, `dp`,
 * `serving`, `limits.concurrentUploads`, `evaluation.flatness`) still resumes: missing fields mean their defaults.
 * A real difference is still refused.
 */
import t from 'tap';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { tmpDir } from '../data/tmpdir.js';
import { openApp, serverConfig } from './helpers.js';

const root = tmpDir(t, 'fedman-upgrade-');

t.test('an older state config resumes with the defaults of newer fields', async (t) => {
  const cfg = serverConfig({ clients: 2, rounds: 1 });
  const state = path.join(root, 'state');
  await (await openApp(cfg, state)).app.close();
  const file = path.join(state, 'config.json');
  const old = JSON.parse(await readFile(file, 'utf8')) as Record<string, any>;
  for (const k of ['robust', 'dp', 'serving']) delete old[k];
  delete old.limits.concurrentUploads;
  await writeFile(file, JSON.stringify(old));
  const again = await openApp(cfg, state);
  t.equal(again.federation.paramCount > 0, true, 'it opened');
  await again.app.close();
  await t.rejects(openApp(serverConfig({ clients: 2, rounds: 1, robust: { rule: 'median' } }), state), /differs in: robust/, 'a changed result field is refused');
});

t.test("a state directory whose config says 'fraction' (the old name of 'participation') resumes", async (t) => {
  const state = path.join(root, 'fraction');
  await (await openApp(serverConfig({ clients: 2, rounds: 1, participation: 0.5 }), state)).app.close();
  const file = path.join(state, 'config.json');
  const { participation, robust: _robust, ...rest } = JSON.parse(await readFile(file, 'utf8')) as Record<string, any>;
  // An old config: 'fraction', and a field missing (so its validation is the one that fills defaults).
  await writeFile(file, JSON.stringify({ ...rest, fraction: participation }));
  const again = await openApp(serverConfig({ clients: 2, rounds: 1, participation: 0.5 }), state);
  t.equal(again.federation.config.participation, 0.5);
  await again.app.close();
  await t.rejects(openApp(serverConfig({ clients: 2, rounds: 1, participation: 0.25 }), state), /differs in: participation/, 'a changed participation is refused by its new name');
});

t.test('the status serialises a round record whose numbers a diverged run made non-finite (null), as before', async (t) => {
  const { StateDir } = await import('../../src/server/state.js');
  const state = path.join(root, 'nan');
  const cfg = serverConfig({ clients: 2, rounds: 3 });
  const first = await openApp(cfg, state);
  const global = first.federation.globalParams();
  await first.app.close();
  const record = {
    round: 1, lr: 0.1, participants: [0, 1], trainLoss: NaN, trainCe: NaN, trainMan: 0, trainAccuracy: 0.1, samples: 10, steps: 1, seconds: 1,
    testLoss: NaN, testAccuracy: 0.1, attempt: 0, aggregated: [0, 1], uploads: { 0: 'a', 1: 'b' }, aggregationSeconds: 0.1, completedAt: new Date().toISOString(),
  };
  const sd = new StateDir(state);
  const ckpt = (await sd.readCheckpoint())!;
  await sd.writeCheckpoint({ ...ckpt, round: 1, global, records: [record] });
  const again = await openApp(cfg, state);
  t.teardown(() => again.app.close());
  const r = await again.app.inject({ method: 'GET', url: '/v1/admin/status', headers: { authorization: 'Bearer admin-token-1234' } });
  t.equal(r.statusCode, 200, r.body);
  const h = r.json().history[0];
  t.equal(h.testLoss, null, 'a non-finite test loss reads as null');
  t.equal(h.trainLoss, null);
  t.equal(h.trainAccuracy, 0.1);
});
