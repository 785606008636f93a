/**
 * Durability and exactness in-process: a SCAFFOLD + MAN federation driven with synthetic updates ends with the
 * same model (bitwise) whether uploads arrive in id order or not and whether the server is closed and reopened
 * on its state directory mid-round and between rounds; client-term inputs (anchor, correction) and per-client
 * state survive restarts; a reopened server keeps its accepted uploads and recognises their retries.
 */
import t from 'tap';
import { tmpDir } from '../data/tmpdir.js';
import { buildApp, type FedmanApp } from '../../src/server/app.js';
import { StateDir } from '../../src/server/state.js';
import { CLIENT, f32, fakeParams, listDir, openApp, serverConfig, statusOf, untilStatus, updatesDir, upload } from './helpers.js';

const root = tmpDir(t, 'fedman-restart-');
const config = serverConfig({ algorithm: 'scaffold', man: 0.05, clients: 3, rounds: 2, lr: 0.1, lrDecay: 0.5 });

function waitRound(app: FedmanApp, completed: number) {
  return untilStatus(app.app, `round ${completed} completed`, (s) => s.completedRounds >= completed, 30_000);
}

/**
 * Runs the federation with uploads in `order`; `reopen(round, k)` says whether to close and reopen the server
 * after the k-th upload of `round` (k = 0: before the first). Returns the final model and the round-2 inputs.
 */
async function run(dir: string, order: number[], reopen: (round: number, k: number) => boolean) {
  let fed = await openApp(config, dir);
  for (let c = 0; c < 3; c++) {
    const j = await fed.app.inject({ method: 'POST', url: '/v1/join', headers: CLIENT, payload: { name: `c${c}`, clientIndex: c } });
    if (j.statusCode !== 200) throw new Error(j.body);
  }
  const inputs: Record<string, Float32Array> = {};
  for (let round = 1; round <= 2; round++) {
    for (let k = 0; k < 3; k++) {
      if (reopen(round, k)) {
        const before = await statusOf(fed.app);
        await fed.app.close();
        fed = await openApp(config, dir);
        const after = await statusOf(fed.app);
        t.same(after.completedRounds, before.completedRounds, 'same completed rounds after reopening');
        if (before.round) t.same({ ...after.round, deadline: 0 }, { ...before.round, deadline: 0 }, 'same round, participants and accepted updates after reopening');
      }
      if (k === 0) {
        // Clients long-poll concurrently; the round starts once all three are connected.
        const tasks = await Promise.all([0, 1, 2].map((c) => fed.app.inject({ method: 'POST', url: '/v1/task?timeout=5', headers: CLIENT, payload: { clientId: c, numSamples: 100 } })));
        for (const [c, task] of tasks.entries()) {
          const body = task.json();
          if (body.type !== 'train') throw new Error(`client ${c}, round ${round}: ${task.body}`);
          t.equal(body.round, round);
          t.equal(body.config.hypers.prox_mu, 0, 'SCAFFOLD: prox_mu = 0');
          t.equal(body.config.lr, 0.1 * 0.5 ** (round - 1));
          t.same(body.config.clientInputs, ['anchor', 'correction']);
        }
      }
      const global = f32((await fed.app.inject({ method: 'GET', url: `/v1/params?version=${round - 1}`, headers: CLIENT })).rawPayload);
      const c = order[k]!;
      for (const kind of ['anchor', 'correction']) {
        const r = await fed.app.inject({ method: 'GET', url: `/v1/client-inputs/${kind}?clientId=${c}&round=${round}`, headers: CLIENT });
        t.equal(r.statusCode, 200, `GET client-inputs/${kind}`);
        const v = f32(r.rawPayload);
        if (kind === 'anchor') t.same(v, global, 'anchor = the global model');
        if (kind === 'correction' && round === 1) t.ok(v.every((x) => x === 0), 'round 1 correction = 0');
        if (round === 2) inputs[`${kind}-${c}`] = v;
      }
      const meta = { round, clientId: c, uploadId: `up-${round}-${c}`, numSamples: 100 * (c + 1), steps: 2 + c, samples: 100 * (c + 1) };
      const u = await upload(fed.app, meta, fakeParams(global, round * 10 + c));
      t.equal(u.statusCode, 200, u.body);
      t.equal(u.json().duplicate, false);
    }
    await waitRound(fed, round);
  }
  const s = await statusOf(fed.app);
  const final = await fed.models.latest()!.params();
  await fed.app.close();
  return { final, inputs, status: s };
}

let reference: Float32Array | undefined;

t.test('restarts and arrival order do not change the model', async (t) => {
  const a = await run(`${root}/a`, [0, 1, 2], () => false);
  reference = a.final;
  t.equal(a.status.completedRounds, 2);
  t.equal(a.status.phase, 'done');
  t.ok(a.inputs['correction-1']!.some((x) => x !== 0), 'round 2 correction is non-zero');
  const b = await run(`${root}/b`, [2, 0, 1], (round, k) => (round === 1 && (k === 1 || k === 2)) || (round === 2 && (k === 0 || k === 2)));
  t.same(b.inputs, a.inputs, 'same client-term inputs in round 2 (client state survived)');
  let diff = 0;
  for (let i = 0; i < a.final.length; i++) diff = Math.max(diff, Math.abs(a.final[i]! - b.final[i]!));
  t.equal(diff, 0, 'bitwise equal final models');
  t.same(b.status.history.map((r: { aggregated: number[] }) => r.aggregated), [[0, 1, 2], [0, 1, 2]]);
});

t.test('a reopened server keeps accepted uploads and recognises retries', async (t) => {
  const dir = `${root}/c`;
  let fed = await openApp(config, dir);
  for (let c = 0; c < 3; c++) await fed.app.inject({ method: 'POST', url: '/v1/join', headers: CLIENT, payload: { name: `c${c}` } });
  await Promise.all([0, 1, 2].map((c) => fed.app.inject({ method: 'POST', url: '/v1/task?timeout=5', headers: CLIENT, payload: { clientId: c } })));
  const s0 = await statusOf(fed.app);
  t.same(s0.round.participants, [0, 1, 2]);
  const global = await fed.models.get(0)!.params();
  const meta = { round: 1, clientId: 1, uploadId: 'keep-me', numSamples: 10 };
  t.equal((await upload(fed.app, meta, fakeParams(global, 5))).statusCode, 200);
  await fed.app.close();
  t.same(await listDir(updatesDir(dir)), ['r1-a0-c1.safetensors']);

  await t.rejects(buildApp({ config: serverConfig({ algorithm: 'fedavg', man: 0.05, clients: 3, rounds: 2, lr: 0.1, lrDecay: 0.5 }), stateDir: dir }), /different config \(differs in: algorithm, algorithmOptions\)/);
  fed = await openApp(serverConfig({ algorithm: 'scaffold', man: 0.05, clients: 3, rounds: 5, lr: 0.1, lrDecay: 0.5, roundDeadline: 60 }), dir);
  await t.rejects(openApp(config, dir), /already open in this process/, 'one server per state directory');
  const s1 = await statusOf(fed.app);
  t.same(s1.round.accepted, [1], 'the accepted update survived');
  t.equal(s1.rounds, 5, 'rounds may be extended on restart');
  const retry = await upload(fed.app, meta, fakeParams(global, 5));
  t.equal(retry.statusCode, 200);
  t.equal(retry.json().duplicate, true, 'the retry after the restart counts once');
  const again = await upload(fed.app, { ...meta, uploadId: 'another' }, fakeParams(global, 6));
  t.equal(again.statusCode, 409);
  await fed.app.close();
});

t.test('a crash inside the aggregation, before its checkpoint, is repaired on restart', async (t) => {
  const dir = `${root}/d`;
  // Fail the commit point of round 2 (the 3rd checkpoint: rounds 0, 1, 2) as a crash would.
  const original = StateDir.prototype.writeCheckpoint;
  let calls = 0;
  StateDir.prototype.writeCheckpoint = async function (this: StateDir, c) {
    if (++calls === 3) throw new Error('simulated crash before the checkpoint');
    return original.call(this, c);
  };
  t.teardown(() => { StateDir.prototype.writeCheckpoint = original; });
  let fed = await openApp(config, dir);
  for (let c = 0; c < 3; c++) await fed.app.inject({ method: 'POST', url: '/v1/join', headers: CLIENT, payload: { name: `c${c}`, clientIndex: c } });
  for (let round = 1; round <= 2; round++) {
    await Promise.all([0, 1, 2].map((c) => fed.app.inject({ method: 'POST', url: '/v1/task?timeout=5', headers: CLIENT, payload: { clientId: c } })));
    const global = f32((await fed.app.inject({ method: 'GET', url: `/v1/params?version=${round - 1}`, headers: CLIENT })).rawPayload);
    for (const c of [0, 1, 2]) {
      const u = await upload(fed.app, { round, clientId: c, uploadId: `up-${round}-${c}`, numSamples: 100 * (c + 1), steps: 2 + c, samples: 100 * (c + 1) }, fakeParams(global, round * 10 + c));
      t.equal(u.statusCode, 200, u.body);
    }
    if (round === 1) await waitRound(fed, 1);
  }
  const s = await untilStatus(fed.app, 'the simulated crash reported', (x) => x.failure, 30_000);
  t.match(s.failure, /simulated crash/);
  t.ok((await listDir(`${dir}/models`)).includes('v2.params'), 'the uncommitted round left a model version behind');
  t.ok((await listDir(`${dir}/client-state`)).some((f) => f.endsWith('.r2.f32')), 'and round-2 client state');
  await fed.app.close();
  StateDir.prototype.writeCheckpoint = original;
  fed = await openApp(config, dir);
  await waitRound(fed, 2);
  const final = await fed.models.latest()!.params();
  await fed.app.close();
  t.ok(reference, 'reference run available');
  let diff = 0;
  for (let i = 0; i < final.length; i++) diff = Math.max(diff, Math.abs(final[i]! - reference![i]!));
  t.equal(diff, 0, 'bitwise equal to the uninterrupted run');
});
