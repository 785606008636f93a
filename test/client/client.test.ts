/**
 * The client library against an in-process server on loopback: resumed parameter downloads (Range), artifacts
 * fetched once, retries with backoff (same request re-sent) and giving up, the data a client trains on, and
 * `--simulate K` (K virtual clients sharing one Trainer) training the same model as `fedman simulate`.
 */
import t from 'tap';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, rm, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { tmpDir } from '../data/tmpdir.js';
import { buildApp } from '../../src/server/app.js';
import { withPages } from '../../src/web/pages.js';
import { FedHttp } from '../../src/client/http.js';
import { downloadParams, ensureArtifacts, type DownloadStats } from '../../src/client/cache.js';
import { loadClientData } from '../../src/data/client-data.js';
import { runClient } from '../../src/client/client.js';
import { parseShard } from '../../src/cli/commands/client.js';
import { loadDataset } from '../../src/data/registry.js';
import { partition } from '../../src/data/partition/index.js';
import { simulate } from '../../src/sim/engine.js';
import { mergeConfig } from '../../src/config/index.js';
import { StateDir } from '../../src/server/state.js';
import { serverConfig, TOKENS } from '../server/helpers.js';

const root = tmpDir(t, 'fedman-client-');

t.test('parameter downloads resume with Range; artifacts are fetched once', async (t) => {
  const fed = await buildApp({ extend: withPages(), config: serverConfig({ clients: 2 }), stateDir: path.join(root, 'state-dl') });
  t.teardown(() => fed.app.close());
  const url = await fed.app.listen({ host: '127.0.0.1', port: 0 });
  const h = new FedHttp(url, { token: TOKENS.client, retryForMs: 5000 });
  const n = fed.federation.paramCount;
  const full = await fed.models.get(0)!.params();

  const cache = path.join(root, 'cache-dl');
  await mkdir(path.join(cache, 'params'), { recursive: true });
  const have = 123_457;
  await writeFile(path.join(cache, 'params', 'v0.f32.part'), new Uint8Array(full.buffer, 0, have));
  const stats: DownloadStats = { resumedFrom: 0, bytes: 0, requests: 0 };
  const got = await downloadParams(h, 0, cache, n, stats);
  t.equal(stats.resumedFrom, have, 'resumed after the bytes already there');
  t.equal(stats.bytes, 4 * n - have, 'only the missing bytes were transferred');
  t.same(got, full);
  const again: DownloadStats = { resumedFrom: 0, bytes: 0, requests: 0 };
  t.same(await downloadParams(h, 0, cache, n, again), full);
  t.equal(again.requests, 0, 'served from the cache the second time');

  await writeFile(path.join(cache, 'params', 'v0.f32'), new Uint8Array(10)); // wrong size: downloaded again
  await writeFile(path.join(cache, 'params', 'v0.f32.part'), new Uint8Array(4 * n + 8)); // longer than the vector: restarted
  const restarted: DownloadStats = { resumedFrom: 0, bytes: 0, requests: 0 };
  t.same(await downloadParams(h, 0, cache, n, restarted), full);
  t.equal(restarted.bytes, 4 * n);

  // A complete-looking piece that is not the version (e.g. left by a broken transfer): the digest check catches it.
  await rm(path.join(cache, 'params', 'v0.f32'));
  const wrong = Float32Array.from(full, (v, i) => (i === 1234 ? v + 1 : v));
  await writeFile(path.join(cache, 'params', 'v0.f32.part'), new Uint8Array(wrong.buffer));
  const checked: DownloadStats = { resumedFrom: 0, bytes: 0, requests: 0 };
  t.same(await downloadParams(h, 0, cache, n, checked), full, 'a corrupt download is thrown away');
  t.equal(checked.corrupt, 1);
  t.equal(checked.bytes, 4 * n, 'and fetched again whole');

  const info = { id: fed.federation.artifacts.id, files: fed.federation.artifacts.files };
  const count = async () => {
    const m = await fed.metrics.httpRequests.get();
    return m.values.filter((v) => v.labels.route === '/v1/artifacts/:file').reduce((a, v) => a + v.value, 0);
  };
  const dir = await ensureArtifacts(h, info, cache);
  t.equal(await count(), 6, 'six files downloaded (manifest, train step, eval, forward, and the WebGPU train step and eval)');
  t.equal(await ensureArtifacts(h, info, cache), dir);
  t.equal(await count(), 6, 'no download the second time');
  t.same(JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')).paramCount, n);
  const bad = { ...info, id: 'x', files: info.files.map((f) => (f.name === 'eval.onnx' ? { ...f, sha256: '0'.repeat(64) } : f)) };
  await t.rejects(ensureArtifacts(h, bad, cache), /failed its checksum/);

  await t.rejects(new FedHttp(url, { token: 'wrong-token' }).json('POST', '/v1/join', { name: 'x' }), { name: 'ProtocolError', status: 401 });
});

t.test('retries with backoff re-send the same request; an unreachable server is given up on', async (t) => {
  const seen: string[] = [];
  let fails = 2;
  const srv = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += String(d); });
    req.on('end', () => {
      seen.push(`${req.headers['x-fedman-meta']}|${body}`);
      if (fails-- > 0) { res.statusCode = 503; res.end('busy'); return; }
      res.setHeader('content-type', 'application/json');
      res.end('{"ok":true}');
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.teardown(() => srv.close());
  const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  const h = new FedHttp(url, { baseDelayMs: 20, retryForMs: 5000 });
  const r = await h.json<{ ok: boolean }>('POST', '/v1/update', { x: 1 }, { headers: { 'x-fedman-meta': '{"uploadId":"u1"}' } });
  t.same(r, { ok: true });
  t.same(seen, Array(3).fill('{"uploadId":"u1"}|{"x":1}'), 'the same request three times');

  // Nothing listens on a closed port: network errors until the retry window ends.
  const dead = http.createServer();
  await new Promise<void>((res) => dead.listen(0, '127.0.0.1', res));
  const port = (dead.address() as AddressInfo).port;
  await new Promise<void>((res) => dead.close(() => res()));
  const t0 = Date.now();
  await t.rejects(new FedHttp(`http://127.0.0.1:${port}`, { baseDelayMs: 20, maxDelayMs: 100, retryForMs: 400 }).json('GET', '/v1/health'), /could not be reached/);
  t.ok(Date.now() - t0 < 3000, 'gave up after the retry window');

  // A server that comes up while the client retries.
  const late = http.createServer((_req, res) => { res.setHeader('content-type', 'application/json'); res.end('{"ok":true}'); });
  setTimeout(() => late.listen(port, '127.0.0.1'), 300);
  t.teardown(() => late.close());
  t.same(await new FedHttp(`http://127.0.0.1:${port}`, { baseDelayMs: 50, maxDelayMs: 200, retryForMs: 10_000 }).json('GET', '/v1/health'), { ok: true });
});

t.test('the samples a client trains on', async (t) => {
  const spec = { data: 'mnist', limit: 300, testLimit: 100, normalize: false, partition: { scheme: 'dirichlet-equal', alpha: 0.5 }, numClients: 3, seed: 4 };
  const d = await loadClientData({ clientIndex: 1 }, spec, 2);
  const data = await loadDataset('mnist', { limit: 300, testLimit: 100 });
  const p = partition({ scheme: 'dirichlet-equal', alpha: 0.5, numClients: 3, seed: 4 }, data.train.y, data.train.numClasses);
  t.same(d.indices.map((x) => Array.from(x)), [p.clients[1], p.clients[2]], 'the federation partition, as the simulation draws it');
  t.equal(d.train.n, 300);
  const shard = await loadClientData({ data: 'mnist', limit: 90, shard: { index: 2, count: 3 } }, null);
  t.equal(shard.indices[0]!.length, 30);
  const all = await loadClientData({ data: 'mnist', limit: 50 }, null);
  t.equal(all.indices[0]!.length, 50);
  await t.rejects(loadClientData({ clientIndex: 0 }, null), /no data/);
  await t.rejects(loadClientData({ data: 'mnist', limit: 50, clientIndex: 0 }, null), /publish a data spec/);
  await t.rejects(loadClientData({ clientIndex: 2 }, spec, 2), /exceeds the federation's 3 clients/);
  t.same(parseShard('1/4'), { index: 1, count: 4 });
  t.throws(() => parseShard('4/4'), /need 0 <= i < n/);
  t.throws(() => parseShard('a/b'), /expects i\/n/);
});

t.test('--simulate 3: virtual clients in one process train the simulation\'s model', async (t) => {
  const config = serverConfig({
    algorithm: 'feddyn', man: 0.05, clients: 3, rounds: 2, localEpochs: 1, batchSize: 50, lr: 0.1, lrDecay: 0.9, seed: 1,
    data: { data: 'mnist', limit: 300, testLimit: 100, partition: { scheme: 'iid' } },
  });
  const state = path.join(root, 'state-sim');
  const fed = await buildApp({ extend: withPages(), config, stateDir: state });
  t.teardown(() => fed.app.close());
  const url = await fed.app.listen({ host: '127.0.0.1', port: 0 });
  const lines: string[] = [];
  const summary = await runClient({ server: url, token: TOKENS.client, clientIndex: 0, simulate: 3, cacheDir: path.join(root, 'cache-sim'), pollSeconds: 2, log: (l) => lines.push(l) });
  t.same(summary.clients.map((c) => c.clientId), [0, 1, 2]);
  t.same(summary.clients.map((c) => c.rounds.map((r) => r.outcome)), Array(3).fill(['accepted', 'accepted']), lines.join('\n'));
  t.same(summary.clients.map((c) => c.finished), ['done', 'done', 'done']);
  const ckpt = (await new StateDir(state).readCheckpoint())!;
  const sim = await simulate(mergeConfig({
    data: 'mnist', limit: 300, testLimit: 100, model: 'mlp', algorithm: 'feddyn', man: 0.05, clients: 3, participation: 1, partition: { scheme: 'iid' },
    rounds: 2, localEpochs: 1, batchSize: 50, lr: 0.1, lrDecay: 0.9, seed: 1, workers: 0, threads: 1,
  }), { out: path.join(root, 'sim') });
  let diff = 0;
  for (let i = 0; i < sim.global.length; i++) diff = Math.max(diff, Math.abs(sim.global[i]! - ckpt.global[i]!));
  t.equal(diff, 0, 'bitwise equal to `fedman simulate`');

  // A restarted client (same cache) keeps its identities.
  const rerun = await runClient({ server: url, token: TOKENS.client, clientIndex: 0, simulate: 3, cacheDir: path.join(root, 'cache-sim'), pollSeconds: 1, log: (l) => lines.push(l) });
  t.same(rerun.clients.map((c) => c.rounds.length), [0, 0, 0], 'nothing left to do');
  t.match(lines.join('\n'), /client-0: rejoined federation/);
  await t.rejects(runClient({ server: url, token: TOKENS.client, clientIndex: 0, cacheDir: path.join(root, 'other-cache'), pollSeconds: 1 }), /registered with another key/, 'another cache cannot take the identity');
});
