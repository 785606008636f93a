/**
 * Round scheduling: participants sampled among connected clients with the seeded RNG, the deadline aggregating
 * what arrived (≥ minClients) and rejecting the latecomer with 409, extensions and restarts when too little
 * arrived, and model versions announced to listeners.
 */
import t from 'tap';
import { tmpDir } from '../data/tmpdir.js';
import { Rng } from '../../src/util/rng.js';
import { sampleParticipants, SAMPLING_STREAM } from '../../src/fl/round/index.js';
import type { FedmanApp } from '../../src/server/app.js';
import { CLIENT, fakeParams, openApp, serverConfig, statusOf, untilStatus, upload } from './helpers.js';

const root = tmpDir(t, 'fedman-rounds-');

async function joinAndPoll(app: FedmanApp, count: number, timeout: number) {
  for (let c = 0; c < count; c++) await app.app.inject({ method: 'POST', url: '/v1/join', headers: CLIENT, payload: { name: `c${c}` } });
  // The last join opens round 1 (files written and fsynced), which can outlast a short poll on a busy disk.
  await untilStatus(app.app, 'round 1 open', (x) => x.round);
  return Promise.all(Array.from({ length: count }, (_, c) => app.app.inject({ method: 'POST', url: `/v1/task?timeout=${timeout}`, headers: CLIENT, payload: { clientId: c } }).then((r) => r.json())));
}

t.test('seeded sampling; the deadline aggregates what arrived; the latecomer gets 409', async (t) => {
  const fed = await openApp(serverConfig({ clients: 3, clientsPerRound: 2, minAvailable: 3, minClients: 1, roundDeadline: 2.5, rounds: 2, seed: 7 }), `${root}/a`);
  t.teardown(() => fed.app.close());
  const versions: number[] = [];
  fed.models.onNewVersion((v) => versions.push(v.version));
  const tasks = await joinAndPoll(fed, 3, 0.3);
  const want = sampleParticipants(new Rng(7, SAMPLING_STREAM), 3, 1, 2).sort((a, b) => a - b);
  const s = await statusOf(fed.app);
  t.same(s.round.participants, want, 'the simulation\'s sampling over the connected clients');
  t.same(tasks.map((x) => x.type), [0, 1, 2].map((c) => (want.includes(c) ? 'train' : 'wait')));
  const [first, second] = want as [number, number];
  const global = await fed.models.get(0)!.params();
  t.equal((await upload(fed.app, { round: 1, clientId: first, uploadId: 'a', numSamples: 10 }, fakeParams(global, 1))).statusCode, 200);
  const done = await untilStatus(fed.app, 'deadline aggregation', (x) => x.completedRounds === 1);
  t.same(done.history[0].aggregated, [first], 'aggregated the one update that arrived');
  t.same(done.history[0].participants, want);
  const late = await upload(fed.app, { round: 1, clientId: second, uploadId: 'b', numSamples: 10 }, fakeParams(global, 2));
  t.equal(late.statusCode, 409);
  t.match(late.json().error, /late upload: round 1 is closed/);
  t.same(versions, [1], 'listeners hear of version 1 once it is durable');
  t.equal(fed.models.latest()!.version, 1);
  t.same(fed.models.list().map((v) => v.version), [0, 1]);
  t.equal((await fed.models.get(1)!.bytes()).length > 0, true);
});

t.test('too few updates: the deadline is extended, then the round restarts with a new attempt', async (t) => {
  const fed = await openApp(serverConfig({ clients: 2, minClients: 2, maxExtensions: 1, roundDeadline: 2.5, rounds: 1 }), `${root}/b`);
  t.teardown(() => fed.app.close());
  await joinAndPoll(fed, 2, 0.1);
  const global = await fed.models.get(0)!.params();
  t.equal((await upload(fed.app, { round: 1, clientId: 0, uploadId: 'a0', numSamples: 10 }, fakeParams(global, 1))).statusCode, 200);
  const ext = await untilStatus(fed.app, 'extension', (x) => x.round?.extensions === 1);
  t.same(ext.round.accepted, [0], 'the extension keeps what arrived');
  const restarted = await untilStatus(fed.app, 'restart', (x) => x.round?.attempt === 1);
  t.same(restarted.round.accepted, [], 'a new attempt starts empty');
  t.same(restarted.round.participants, [0, 1]);
  const old = await upload(fed.app, { round: 1, attempt: 0, clientId: 1, uploadId: 'b0', numSamples: 10 }, fakeParams(global, 2));
  t.equal(old.statusCode, 409);
  t.match(old.json().error, /attempt 1.*restarted/);
  const task = await fed.app.inject({ method: 'POST', url: '/v1/task?timeout=0', headers: CLIENT, payload: { clientId: 1 } });
  t.match(task.json(), { type: 'train', round: 1, attempt: 1 });
  for (const c of [0, 1]) {
    const r = await upload(fed.app, { round: 1, attempt: 1, clientId: c, uploadId: `a1-${c}`, numSamples: 10 }, fakeParams(global, 10 + c));
    t.equal(r.statusCode, 200, r.body);
  }
  const done = await untilStatus(fed.app, 'aggregation', (x) => x.phase === 'done');
  t.match(done.history[0], { round: 1, attempt: 1, aggregated: [0, 1] });
  const after = await fed.app.inject({ method: 'POST', url: '/v1/task?timeout=0', headers: CLIENT, payload: { clientId: 0 } });
  t.match(after.json(), { type: 'done', finalVersion: 1 });
});

t.test('closing the server ends open long polls at once', async (t) => {
  const fed = await openApp(serverConfig({ clients: 2, rounds: 1 }), `${root}/c`);
  await fed.app.inject({ method: 'POST', url: '/v1/join', headers: CLIENT, payload: { name: 'c0' } });
  const url = await fed.app.listen({ host: '127.0.0.1', port: 0 });
  // One short poll first, so that loading fetch and opening the connection do not count against the long poll's head start.
  const body = { method: 'POST', headers: { ...CLIENT, 'content-type': 'application/json' }, body: JSON.stringify({ clientId: 0 }) };
  t.match(await (await fetch(`${url}/v1/task?timeout=0`, body)).json(), { type: 'wait' });
  const t0 = Date.now();
  const poll = fetch(`${url}/v1/task?timeout=5`, body);
  await new Promise((r) => setTimeout(r, 500));
  await fed.app.close();
  const r = await poll;
  t.match(await r.json(), { type: 'wait', reason: /shutting down/ });
  t.ok(Date.now() - t0 < 3000, `closed without waiting for the long poll (${Date.now() - t0} ms)`);
});
