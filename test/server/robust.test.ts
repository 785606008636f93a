/**
 * The federation server with the defense layer: `robust.rule: 'median'` aggregates the uploaded parameters to
 * their coordinate median, and `dp` gives the DP-FedAvg model the simulation's layer computes from the same seed,
 * with ε per round in the round history.
 */
import t, { type Test } from 'tap';
import { tmpDir } from '../data/tmpdir.js';
import type { FedmanApp } from '../../src/server/app.js';
import { fedavg, type ClientMessage } from '../../src/fl/index.js';
import { coordinateMedian, Defense, RdpAccountant } from '../../src/fl/defense/index.js';
import { CLIENT, fakeParams, openApp, serverConfig, statusOf, untilStatus, upload } from './helpers.js';

const root = tmpDir(t, 'fedman-robust-');

async function joinAndPoll(app: FedmanApp, count: number) {
  for (let c = 0; c < count; c++) await app.app.inject({ method: 'POST', url: '/v1/join', headers: CLIENT, payload: { name: `c${c}` } });
  await Promise.all(Array.from({ length: count }, (_, c) => app.app.inject({ method: 'POST', url: '/v1/task?timeout=0.3', headers: CLIENT, payload: { clientId: c } })));
}

/** Every client uploads a round's parameters; resolves once the round is complete. Returns the uploads. */
async function playRound(t: Test, fed: FedmanApp, round: number, clients: number, scale: (c: number) => number): Promise<Float32Array[]> {
  await untilStatus(fed.app, `round ${round} started`, (s) => s.round?.round === round);
  const global = await fed.models.get(round - 1)!.params();
  const ups: Float32Array[] = [];
  for (let c = 0; c < clients; c++) {
    const p = fakeParams(global, 10 * round + c);
    for (let i = 0; i < p.length; i++) p[i] = global[i]! + scale(c) * (p[i]! - global[i]!);
    ups.push(p);
    const r = await upload(fed.app, { round, clientId: c, uploadId: `r${round}-c${c}`, numSamples: 10 * (c + 1) }, p);
    t.equal(r.statusCode, 200, `upload of client ${c}, round ${round}`);
  }
  await untilStatus(fed.app, `round ${round} complete`, (s) => s.completedRounds >= round);
  return ups;
}

t.test("robust.rule 'median': the new global model is the coordinate median of the uploads", async (t) => {
  const fed = await openApp(serverConfig({ clients: 3, rounds: 1, robust: { rule: 'median' } }), `${root}/median`);
  t.teardown(() => fed.app.close());
  await joinAndPoll(fed, 3);
  // Client 2 uploads a wildly scaled update: the weighted mean would follow it, the median does not.
  const ups = await playRound(t, fed, 1, 3, (c) => (c === 2 ? 1000 : 1));
  const got = await fed.models.get(1)!.params();
  const want = Float32Array.from(coordinateMedian(ups));
  t.same(got, want, 'bitwise the coordinate median');
  const s = await statusOf(fed.app);
  t.same(s.history[0].aggregated, [0, 1, 2]);
  t.equal(s.history[0].dpEpsilon, undefined);
  t.match(s.config, { robust: { rule: 'median', normBound: null }, dp: null });
});

t.test('dp: clipped, noised mean reproducible from the seed; ε per round in the history', async (t) => {
  const dp = { clip: 0.01, noiseMultiplier: 1.2, delta: 1e-5 };
  const fed = await openApp(serverConfig({ clients: 3, rounds: 2, seed: 5, dp }), `${root}/dp`);
  t.teardown(() => fed.app.close());
  await joinAndPoll(fed, 3);
  const g0 = await fed.models.get(0)!.params();
  const ups = await playRound(t, fed, 1, 3, () => 1);
  await playRound(t, fed, 2, 3, () => 1);
  // The same layer, fed the same messages in client-id order, with the server's seed and q = 1 (participation 1).
  const layer = new Defense(fedavg(), { dp: { ...dp, samplingRate: null }, seed: 5, samplingRate: 1 }).begin(1, g0);
  ups.forEach((p, c) => layer.add({ params: { value: p, weight: 10 * (c + 1) } } satisfies ClientMessage));
  const want = Float32Array.from(layer.finish().sums.mean('params')!);
  t.same(await fed.models.get(1)!.params(), want, 'round 1: the DP-FedAvg model of the shared layer');
  const s = await statusOf(fed.app);
  const acc = new RdpAccountant(1, 1.2);
  t.same(s.history.map((h: { dpEpsilon: number }) => h.dpEpsilon), [1, 2].map((k) => acc.epsilon(k, 1e-5)), 'ε after rounds 1 and 2');
  t.ok(s.history[1].dpEpsilon > s.history[0].dpEpsilon);
});
