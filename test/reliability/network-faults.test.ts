/**
 * Network faults between three client processes and the server, through a TCP proxy on loopback: parameter
 * downloads cut mid-body (the client resumes with Range), uploads cut mid-body (re-sent with the same uploadId),
 * acknowledgements lost after the server stored the update (the retry is recognised as a duplicate), and responses
 * stalled for a few seconds. The run completes with every update counted once and the model bitwise equal to the
 * fault-free one.
 */
import t from 'tap';
import path from 'node:path';
import { tmpDir } from '../data/tmpdir.js';
import { Rng } from '../../src/util/rng.js';
import { killAll, startServer, within } from '../helpers/fedman-process.js';
import { FULL, allExit, checkOutcome, faultFreeModel, record, startClient, writeConfig } from './harness.js';
import { FaultyProxy, type Fault } from './proxy.js';

const root = tmpDir(t, 'fedman-rel-net-');
t.teardown(killAll);
const spec = { rounds: FULL ? 16 : 4 };
const CLIENT_WAIT_MS = Number(process.env.FEDMAN_RELIABILITY_WAIT_MS ?? 240_000);
const PARAM_BYTES = 199_210 * 4;

t.test('downloads and uploads cut, acknowledgements lost, responses stalled', async (t) => {
  const reference = await faultFreeModel(spec, path.join(root, 'sim'));
  const cfg = await writeConfig(root, spec);
  const state = path.join(root, 'state');
  const server = await startServer(state, cfg);
  const rng = new Rng(7);
  const attempts = new Map<string, number>();
  // Each kind of request gets a fault on its first attempt with some probability; retries go through, so the
  // run always makes progress.
  const proxy = new FaultyProxy(Number(new URL(server.url).port), (req): Fault | null => {
    const key = `${req.method} ${req.path}`;
    if (!/^\/v1\/(params|update)/.test(req.path)) return null;
    const n = (attempts.get(key) ?? 0) + 1;
    attempts.set(key, n);
    if (req.path.startsWith('/v1/params')) {
      if (n > 3) return null;
      const u = rng.uniform();
      if (u < 0.5) return { kind: 'cut-response', afterBytes: 2000 + Math.floor(rng.uniform() * (PARAM_BYTES - 4000)) };
      if (u < 0.7) return { kind: 'stall-response', afterBytes: Math.floor(rng.uniform() * PARAM_BYTES), ms: 1500 };
      return null;
    }
    // POST /v1/update: the same path for every upload; at most three faults in a row.
    if (n % 4 === 0) return null;
    const u = rng.uniform();
    if (u < 0.35) return { kind: 'cut-request', afterBytes: 500 + Math.floor(rng.uniform() * PARAM_BYTES) };
    if (u < 0.6) return { kind: 'lose-ack' };
    return null;
  });
  const url = await proxy.listen();
  t.teardown(() => proxy.close());
  const clients = [0, 1, 2].map((i) => startClient(url, i, path.join(root, `cache${i}`)));
  await allExit(t, clients, CLIENT_WAIT_MS);
  t.equal((await within(server.proc.exit, 60_000, 'server exit')).code, 0);
  const o = await checkOutcome(t, state, spec, reference);
  const inj = proxy.injected;
  const tried = inj['cut-request'] + inj['cut-response'] + inj['lose-ack'] + inj['stall-response'];
  t.ok(inj['cut-response'] > 0 && inj['cut-request'] > 0 && inj['lose-ack'] > 0, `faults injected: ${JSON.stringify(inj)}`);
  const ok = o.counted && o.equal && !o.corrupt;
  for (const [kind, what] of [['cut-response', 'parameter download cut mid-body'], ['cut-request', 'upload cut mid-body'], ['lose-ack', 'upload acknowledgement lost'], ['stall-response', 'download stalled 1.5 s']] as const) {
    await record({ scenario: `network ${kind}`, fault: what, tried: inj[kind], survived: ok ? inj[kind] : 0, lost: o.lost, doubleCounted: o.doubleCounted, notes: `${spec.rounds} rounds, 3 client processes through a faulty TCP proxy` });
  }
  t.comment(`network faults: ${tried} injected, run ${ok ? 'intact' : 'damaged'}`);
});
