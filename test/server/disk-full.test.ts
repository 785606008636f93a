/**
 * A full disk is transient: an update that cannot be stored is answered 503 with Retry-After and counts nothing;
 * an aggregation whose checkpoint cannot be written leaves the round open (nothing in memory changed) and is
 * retried until it succeeds, giving the same model as a run that never failed.
 */
import t from 'tap';
import { tmpDir } from '../data/tmpdir.js';
import { StateDir } from '../../src/server/state.js';
import type { FedmanApp } from '../../src/server/app.js';
import { CLIENT, fakeParams, openApp, serverConfig, statusOf, untilStatus, upload } from './helpers.js';

const root = tmpDir(t, 'fedman-disk-full-');
const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });

async function runRound(fed: FedmanApp, global: Float32Array) {
  for (const c of [0, 1]) await fed.app.inject({ method: 'POST', url: '/v1/join', headers: CLIENT, payload: { name: `c${c}` } });
  for (const c of [0, 1]) await fed.app.inject({ method: 'POST', url: '/v1/task?timeout=0', headers: CLIENT, payload: { clientId: c } });
  return [0, 1].map((c) => () => upload(fed.app, { round: 1, clientId: c, uploadId: `u${c}`, numSamples: 10 + c }, fakeParams(global, c)));
}

t.test('uploads get 503 and aggregation is retried while the disk is full', async (t) => {
  const cfg = serverConfig({ clients: 2, rounds: 1 });
  const ref = await openApp(cfg, `${root}/ref`);
  const global = await ref.models.get(0)!.params();
  for (const u of await runRound(ref, global)) t.equal((await u()).statusCode, 200);
  await untilStatus(ref.app, 'the reference run finished', (s) => s.phase === 'done');
  const want = (await new StateDir(`${root}/ref`).readCheckpoint())?.global;
  await ref.app.close();
  t.ok(want, 'the reference run finished');

  const fed = await openApp(cfg, `${root}/full`);
  t.teardown(() => fed.app.close());
  const state = (fed.federation as unknown as { state: StateDir }).state;
  const [first, second] = await runRound(fed, global);
  const writeUpdate = state.writeUpdate.bind(state);
  state.writeUpdate = async () => { throw enospc(); };
  const refused = await first!();
  t.equal(refused.statusCode, 503, 'an update that cannot be stored: 503');
  t.equal(refused.headers['retry-after'], '5');
  t.match(refused.json().error, /disk is full/);
  t.same((await statusOf(fed.app)).round.accepted, [], 'nothing accepted');
  state.writeUpdate = writeUpdate;
  t.equal((await first!()).statusCode, 200, 'the retry is accepted');

  let failures = 0;
  const writeCheckpoint = state.writeCheckpoint.bind(state);
  state.writeCheckpoint = async (c) => { if (failures < 2) { failures++; throw enospc(); } return writeCheckpoint(c); };
  t.equal((await second!()).statusCode, 200);
  const during = await untilStatus(fed.app, 'the storage problem reported', (s) => s.storageProblem !== null);
  t.match(during.storageProblem, /ENOSPC/, 'the status shows the storage problem');
  t.equal(during.completedRounds, 0, 'the round is not committed');
  const done = await untilStatus(fed.app, 'the aggregation retried until there was room', (s) => s.phase === 'done');
  t.equal(done.phase, 'done', 'the aggregation succeeded once there was room');
  t.equal(failures, 2);
  t.equal(done.storageProblem, null);
  t.same(done.history[0].aggregated, [0, 1]);
  t.same((await new StateDir(`${root}/full`).readCheckpoint())!.global, want, 'the same model as the run that never failed');
});
