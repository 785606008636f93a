/**
 * Load on one server on this 2-core machine: `fedman client --simulate K` (K = 1,000 in the full suite) virtual
 * clients in one process long-polling, downloading, training and uploading over several rounds of 100
 * participants, then autocannon against the server's inference endpoint (JSON and binary). Measures requests,
 * errors (target 0: no 5xx, no failed client, no refused upload), latency percentiles and peak memory.
 */
import t from 'tap';
import { createRequire } from 'node:module';
import path from 'node:path';
import { tmpDir } from '../data/tmpdir.js';
import { encodeBinaryRequest } from '../../src/server/inference/codec.js';
import { killAll, peakRssMiB, startFedman, startServer, within } from '../helpers/fedman-process.js';
import { ATOK, CTOK, FULL, record, writeConfig } from './harness.js';

const root = tmpDir(t, 'fedman-rel-load-');
t.teardown(killAll);
const K = FULL ? 1000 : 150;
const ROUNDS = FULL ? 4 : 2;
const PER_ROUND = FULL ? 100 : 30;
const ITOK = 'rel-inference-token';

async function metricsOf(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${ATOK}` } })).text();
}
const sumOf = (text: string, re: RegExp) => [...text.matchAll(re)].reduce((a, m) => a + Number(m[1]), 0);

t.test(`${K} virtual clients, ${ROUNDS} rounds of ${PER_ROUND}, then inference under autocannon`, async (t) => {
  const cfg = await writeConfig(root, { rounds: ROUNDS, clients: K }, {
    clientsPerRound: PER_ROUND, minClients: PER_ROUND, batchSize: 10, data: { data: 'mnist', limit: 10 * K, testLimit: 100, partition: { scheme: 'iid' } },
    tokens: { client: [CTOK], admin: [ATOK], inference: [ITOK] }, limits: { longPollSeconds: 10, connectedSeconds: 600 },
  });
  const server = await startServer(path.join(root, 'state'), cfg, 0, []);
  const t0 = performance.now();
  const clients = startFedman(['client', '--server', server.url, '--token', CTOK, '--client-index', '0', '--simulate', String(K), '--cache', path.join(root, 'cache'), '--poll', '10', '--retry-for', '120', '--quiet', '--json']);
  let peakClient = 0;
  const sampler = setInterval(() => { peakClient = Math.max(peakClient, peakRssMiB(clients.child.pid!)); }, 200);
  const exit = await within(clients.exit, 600_000, 'the virtual clients').finally(() => clearInterval(sampler));
  const seconds = (performance.now() - t0) / 1000;
  t.equal(exit.code, 0, `the client process exits 0${exit.code ? `: ${clients.err().slice(-2000)}` : ''}`);
  const summary = JSON.parse(clients.out()) as { clients: { rounds: { outcome: string }[] }[] };
  const outcomes = summary.clients.flatMap((c) => c.rounds.map((r) => r.outcome));
  t.equal(outcomes.length, ROUNDS * PER_ROUND, 'every participant trained');
  t.same([...new Set(outcomes)], ['accepted'], 'every upload accepted');
  const m = await metricsOf(server.url);
  const requests = sumOf(m, /^fedman_http_requests_total\{[^}]*\} (\d+)/gm);
  const errors5xx = sumOf(m, /^fedman_http_requests_total\{[^}]*code="5\d\d"[^}]*\} (\d+)/gm);
  t.equal(errors5xx, 0, 'no 5xx answers');
  const serverPeak = peakRssMiB(server.proc.child.pid!);
  await record({
    scenario: `load ${K} virtual clients`, fault: `fedman client --simulate ${K}: ${ROUNDS} rounds of ${PER_ROUND} participants (long-polls, downloads, uploads)`,
    tried: requests, survived: requests - errors5xx, lost: 0,
    notes: `${seconds.toFixed(1)} s, ${(requests / seconds).toFixed(0)} requests/s served, ${errors5xx} 5xx, peak RSS server ${serverPeak.toFixed(0)} MiB, client process ${peakClient.toFixed(0)} MiB`,
  });

  // Inference on the final model under autocannon.
  const autocannon = createRequire(import.meta.url)('autocannon');
  const x = new Float32Array(784).map((_, i) => (Math.sin(i) + 1) / 2);
  const meta = await (await fetch(`${server.url}/v2/models/mlp`, { headers: { authorization: `Bearer ${ITOK}` } })).json() as { inputs: { name: string; shape: number[] }[] };
  const input = meta.inputs[0]!;
  const shape = [1, ...input.shape.slice(1)];
  const bin = encodeBinaryRequest({ inputs: [{ name: input.name, datatype: 'FP32', shape, data: x }], binaryOutput: true });
  const bodies = {
    json: { body: JSON.stringify({ inputs: [{ name: input.name, datatype: 'FP32', shape, data: Array.from(x) }] }), headers: { 'content-type': 'application/json' } },
    binary: { body: bin.body, headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(bin.headerLength) } },
  };
  for (const [kind, b] of Object.entries(bodies)) {
    const r = await autocannon({
      url: `${server.url}/v2/models/mlp/infer`, method: 'POST', body: b.body, headers: { ...b.headers, authorization: `Bearer ${ITOK}` },
      connections: 16, duration: FULL ? 10 : 2,
    });
    const errors = r.errors + r.non2xx + r.timeouts;
    t.equal(errors, 0, `inference ${kind}: ${r.requests.total} requests, ${errors} errors, p99 ${r.latency.p99} ms`);
    await record({
      scenario: `load inference ${kind}`, fault: `autocannon, 16 connections, ${FULL ? 10 : 2} s, batch 1 (mlp)`,
      tried: r.requests.total, survived: r.requests.total - errors, lost: 0,
      notes: `${(r.requests.total / r.duration).toFixed(0)} requests/s, p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, ${errors} errors, server peak RSS ${peakRssMiB(server.proc.child.pid!).toFixed(0)} MiB`,
    });
  }
  server.proc.child.kill('SIGTERM');
  await within(server.proc.exit, 30_000, 'server exit');
});
