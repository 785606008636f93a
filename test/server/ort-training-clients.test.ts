/**
 * Clients on ONNX Runtime's own training API in a fedman federation: `engine: 'ort-training'` joins get ORT's
 * training files (GET /v1/artifacts?format=ort-training) and train them with ORT 1.19's TrainingSession. A FedAvg +
 * MAN federation with one such client and two fedman-engine clients ends within 1e-5 of the all-fedman run; a
 * federation whose local training ORT's API cannot run refuses the join, saying why.
 */
import t from 'tap';
import type { Test } from 'tap';
import path from 'node:path';
import { tmpDir } from '../data/tmpdir.js';
import { buildApp, type FedmanApp } from '../../src/server/app.js';
import { withPages } from '../../src/web/pages.js';
import { runClient } from '../../src/client/client.js';
import { StateDir } from '../../src/server/state.js';
import { CLIENT, serverConfig, TOKENS } from './helpers.js';

const root = tmpDir(t, 'fedman-ort-clients-');
const FEDERATION = {
  algorithm: 'fedavg', man: 0.15, clients: 3, rounds: 2, localEpochs: 1, batchSize: 16, lr: 0.05, weightDecay: 1e-3, clipNorm: 5, seed: 2,
  data: { data: 'mnist', limit: 96, testLimit: 32, partition: { scheme: 'iid' } },
};

async function serve(t: Test, name: string, over: Record<string, unknown> = {}): Promise<{ fed: FedmanApp; url: string; state: string }> {
  const state = path.join(root, `state-${name}`);
  const fed = await buildApp({ extend: withPages(), config: serverConfig({ ...FEDERATION, ...over }), stateDir: state });
  t.teardown(() => fed.app.close());
  return { fed, url: await fed.app.listen({ host: '127.0.0.1', port: 0 }), state };
}

const client = (url: string, name: string, clientIndex: number, simulate: number, engine?: 'ort-training') =>
  runClient({ server: url, token: TOKENS.client, clientIndex, simulate, engine, cacheDir: path.join(root, `cache-${name}`), pollSeconds: 1 });

t.test('one ORT-engine client and two fedman-engine clients train the all-fedman model (1e-5)', async (t) => {
  const all = await serve(t, 'fedman');
  const a = await client(all.url, 'a', 0, 3);
  t.same(a.clients.map((c) => c.finished), ['done', 'done', 'done']);
  const reference = (await new StateDir(all.state).readCheckpoint())!.global;

  const mixed = await serve(t, 'mixed');
  const list = await mixed.fed.app.inject({ method: 'GET', url: '/v1/artifacts?format=ort-training', headers: CLIENT });
  t.equal(list.statusCode, 200, list.body);
  t.same(list.json().files.map((f: { name: string }) => f.name).sort(),
    ['manifest.json', 'ort-training/checkpoint', 'ort-training/eval_model.onnx', 'ort-training/optimizer_model.onnx', 'ort-training/training_model.onnx']);
  const [fedmanClients, ortClient] = await Promise.all([client(mixed.url, 'b', 0, 2), client(mixed.url, 'c', 2, 1, 'ort-training')]);
  t.same([...fedmanClients.clients, ...ortClient.clients].map((c) => c.rounds.map((r) => r.outcome)), Array(3).fill(['accepted', 'accepted']));
  t.ok(ortClient.artifactsDir.includes(list.json().id), 'the ORT client downloaded the ORT training files');
  const ckpt = (await new StateDir(mixed.state).readCheckpoint())!;
  t.equal(ckpt.round, 2);
  let num = 0, den = 0;
  for (let i = 0; i < reference.length; i++) { num = Math.max(num, Math.abs(reference[i]! - ckpt.global[i]!)); den = Math.max(den, Math.abs(reference[i]!)); }
  t.ok(num / den < 1e-5, `global model within 1e-5 of the all-fedman run (${(num / den).toExponential(2)})`);
});

t.test('a federation ORT cannot train refuses ORT-engine joins and names the reason', async (t) => {
  for (const [name, over, why] of [
    ['fedprox', { algorithm: 'fedprox' }, /fedprox adds client terms/],
    ['momentum', { momentum: 0.9 }, /SGD momentum 0.9/],
    ['decay', { lrDecay: 0.9 }, /learning-rate schedule/],
  ] as const) {
    const s = await serve(t, `refuse-${name}`, over);
    const join = await s.fed.app.inject({ method: 'POST', url: '/v1/join', headers: CLIENT, payload: { name: 'ort-app', engine: 'ort-training' } });
    t.equal(join.statusCode, 409, `${name}: join refused`);
    t.match(join.json().error, why, `${name}: ${join.json().error}`);
    const files = await s.fed.app.inject({ method: 'GET', url: '/v1/artifacts?format=ort-training', headers: CLIENT });
    t.equal(files.statusCode, 409);
    const plain = await s.fed.app.inject({ method: 'POST', url: '/v1/join', headers: CLIENT, payload: { name: 'fedman-client' } });
    t.equal(plain.statusCode, 200, `${name}: fedman-engine clients still join`);
  }
});
