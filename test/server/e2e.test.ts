/**
 * End to end over loopback with real processes: `fedman serve` + three `fedman client` processes train SCAFFOLD +
 * MAN on 300 MNIST samples for 3 rounds (the server's test accuracy rises), and the final model equals the one
 * `fedman simulate` computes for the same config, bitwise. Then the same run with the server killed by SIGKILL
 * mid-round (two of three updates of round 2 accepted, the third client gone) and restarted on the same state
 * directory and port: the clients reconnect, the third client rejoins under its identity, the run finishes, and
 * the final model is again bitwise the uninterrupted one.
 */
import t from 'tap';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { tmpDir } from '../data/tmpdir.js';
import { StateDir } from '../../src/server/state.js';
import { simulate } from '../../src/sim/engine.js';
import { mergeConfig } from '../../src/config/index.js';
import { listDir } from './helpers.js';
import { adminStatus, killAll, startFedman, startServer, within, type Proc } from '../helpers/fedman-process.js';
import { pollUntil } from '../helpers/poll.js';
import { maxDiff } from '../helpers/vectors.js';

const root = tmpDir(t, 'fedman-e2e-');
const CTOK = 'e2e-client-token';
const ATOK = 'e2e-admin-token';

const SERVER = {
  name: 'e2e', model: 'mlp', algorithm: 'scaffold', man: 0.05, clients: 3, rounds: 3, roundDeadline: 300, minClients: 3,
  localEpochs: 2, batchSize: 50, lr: 0.1, lrDecay: 0.9, seed: 0,
  data: { data: 'mnist', limit: 300, testLimit: 200, partition: { scheme: 'iid' } },
  evaluation: { data: 'mnist', limit: 300, testLimit: 200 },
  tokens: { client: [CTOK], admin: [ATOK] },
  limits: { longPollSeconds: 5, connectedSeconds: 60 },
};
/** The same federation as a simulation config. */
const SIM = {
  data: 'mnist', limit: 300, testLimit: 200, model: 'mlp', algorithm: 'scaffold', man: 0.05, clients: 3, participation: 1,
  partition: { scheme: 'iid' }, rounds: 3, localEpochs: 2, batchSize: 50, lr: 0.1, lrDecay: 0.9, seed: 0, workers: 0, threads: 1,
};

t.teardown(killAll);
const start = (args: string[]) => startFedman(args);

function client(url: string, index: number, cache: string, extra: string[] = []): Proc {
  return start(['client', '--server', url, '--token', CTOK, '--client-index', String(index), '--cache', cache, '--poll', '5', '--retry-for', '120', ...extra]);
}

const cfgFile = path.join(root, 'server.json');
await writeFile(cfgFile, JSON.stringify(SERVER));
let uninterrupted: Float32Array | undefined;

t.test('server + 3 client processes: 3 rounds, accuracy rises, equals the simulation', async (t) => {
  const state = path.join(root, 'state-a');
  const { proc: server, url } = await startServer(state, cfgFile);
  const clients = [0, 1, 2].map((i) => client(url, i, path.join(root, `cache-a${i}`)));
  for (const [i, c] of clients.entries()) {
    const r = await within(c.exit, 240_000, `client ${i}`);
    t.equal(r.code, 0, `client ${i} exits 0: ${c.err()}`);
    t.match(c.err(), /done \(all 3 rounds completed; final model version 3\)/);
  }
  const s = await within(server.exit, 60_000, 'server exit');
  t.equal(s.code, 0, `server exits 0 once done (--exit-when-done): ${server.err()}`);

  const ckpt = (await new StateDir(state).readCheckpoint())!;
  t.equal(ckpt.round, 3);
  t.same(ckpt.records.map((r) => r.aggregated), [[0, 1, 2], [0, 1, 2], [0, 1, 2]]);
  const acc = [ckpt.initialEval!.testAccuracy, ...ckpt.records.map((r) => r.testAccuracy!)];
  t.ok(acc[3]! > acc[0]! + 0.1, `test accuracy rises: ${acc.map((a) => a.toFixed(3)).join(' → ')}`);
  t.ok(acc[3]! > acc[1]!, 'and keeps rising after round 1');
  t.same(await listDir(path.join(state, 'models')), ['v0.json', 'v0.onnx', 'v0.params', 'v1.json', 'v1.onnx', 'v1.params', 'v2.json', 'v2.onnx', 'v2.params', 'v3.json', 'v3.onnx', 'v3.params']);
  uninterrupted = ckpt.global;

  const sim = await simulate(mergeConfig(SIM), { out: path.join(root, 'sim') });
  t.equal(maxDiff(sim.global, ckpt.global), 0, 'bitwise equal to `fedman simulate` with the same config');
  t.same(sim.report.rounds.map((r) => r.participants), ckpt.records.map((r) => r.participants));
});

t.test('SIGKILL mid-round, restart on the same state: the run finishes with the same model', async (t) => {
  const state = path.join(root, 'state-b');
  const first = await startServer(state, cfgFile);
  const port = new URL(first.url).port;
  const c0 = client(first.url, 0, path.join(root, 'cache-b0'));
  const c1 = client(first.url, 1, path.join(root, 'cache-b1'));
  const c2 = client(first.url, 2, path.join(root, 'cache-b2'), ['--max-rounds', '1']);
  t.equal((await within(c2.exit, 240_000, 'client 2 (--max-rounds 1)')).code, 0, c2.err());
  t.match(c2.err(), /leaving after 1 round/);

  // Round 2 waits for client 2; kill the server once the other two updates are on disk.
  const st = await pollUntil('round 2 with two accepted updates', () => adminStatus(first.url, ATOK), (s) => s?.round?.round === 2 && s.round.accepted.length === 2, { ms: 120_000, everyMs: 100 });
  t.same(st?.round?.accepted, [0, 1], 'round 2 in progress with two accepted updates');
  first.proc.child.kill('SIGKILL');
  t.equal((await within(first.proc.exit, 30_000, 'killed server')).signal, 'SIGKILL');
  t.same(await listDir(path.join(state, 'updates')), ['r2-a0-c0.safetensors', 'r2-a0-c1.safetensors'], 'accepted updates are on disk');
  t.equal((await new StateDir(state).readCheckpoint())!.round, 1);

  const second = await startServer(state, cfgFile, Number(port));
  t.equal(second.url, first.url, 'same address');
  const resumed = await adminStatus(second.url, ATOK);
  t.same(resumed?.round?.accepted, [0, 1], 'the restarted server resumes round 2 with both updates');
  const c2b = client(second.url, 2, path.join(root, 'cache-b2'));
  for (const [i, c] of [c0, c1, c2b].entries()) {
    const r = await within(c.exit, 240_000, `client ${i}`);
    t.equal(r.code, 0, `client ${i}: ${c.err()}`);
  }
  t.match(c2b.err(), /client-2: rejoined federation 'e2e' as client 2/, 'the restarted client keeps its identity');
  t.notMatch(c0.err() + c1.err(), /update not counted/, 'no update was rejected');
  t.equal((await within(second.proc.exit, 60_000, 'server exit')).code, 0, second.proc.err());

  const ckpt = (await new StateDir(state).readCheckpoint())!;
  t.equal(ckpt.round, 3);
  t.same(ckpt.records.map((r) => r.aggregated), [[0, 1, 2], [0, 1, 2], [0, 1, 2]], 'every update counted exactly once');
  t.ok(uninterrupted, 'the uninterrupted run finished');
  if (uninterrupted) t.equal(maxDiff(ckpt.global, uninterrupted), 0, 'bitwise equal to the uninterrupted run');
});
