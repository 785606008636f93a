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
