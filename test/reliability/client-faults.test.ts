/**
 * Clients killed with SIGKILL and restarted on the same cache (so they rejoin under their identity): at random
 * moments of the run, and in the middle of an upload (the upload's body is held by the proxy while the client is
 * killed, so the server sees it cut short). The run completes with every update counted once and the model
 * bitwise equal to the fault-free one.
 */
import t from 'tap';
import path from 'node:path';
import { tmpDir } from '../data/tmpdir.js';
import { Rng } from '../../src/util/rng.js';
import { killAll, startServer, within, type Proc } from '../helpers/fedman-process.js';
import { FULL, adminStatus, allExit, checkOutcome, faultFreeModel, pollStatus, record, roundLengthMs, sleep, startClient, writeConfig } from './harness.js';
import { pollUntil } from '../helpers/poll.js';
import { FaultyProxy } from './proxy.js';

const root = tmpDir(t, 'fedman-rel-clients-');
t.teardown(killAll);
// Random kills start once two rounds have completed (the first is stretched by the mid-upload kills), one per round.
const spec = { rounds: 12, localEpochs: 4 };
const RANDOM_KILLS = FULL ? 10 : 3;
const UPLOAD_KILLS = FULL ? 5 : 2;

t.test('clients killed at random moments and mid-upload', async (t) => {
  const reference = await faultFreeModel(spec, path.join(root, 'sim'));
  const cfg = await writeConfig(root, spec);
  const state = path.join(root, 'state');
  const server = await startServer(state, cfg);
  const cache = (i: number) => path.join(root, `cache${i}`);
  const procs: Proc[] = [];
  let uploadKills = 0;
  let killing: Promise<void> | null = null;
  // Client 0 talks through the proxy; its first uploads stall half-way and it is killed meanwhile.
  const proxy = new FaultyProxy(Number(new URL(server.url).port), (req) => (
    req.path === '/v1/update' && uploadKills < UPLOAD_KILLS ? { kind: 'stall-request', afterBytes: 200_000, ms: 3000 } : null
  ), () => {
    uploadKills++;
    killing = (async () => {
      procs[0]!.child.kill('SIGKILL');
      await within(procs[0]!.exit, 30_000, 'killed client 0');
      procs[0] = startClient(proxyUrl, 0, cache(0));
    })();
  });
  const proxyUrl = await proxy.listen();
  t.teardown(() => proxy.close());
  procs.push(startClient(proxyUrl, 0, cache(0)), startClient(server.url, 1, cache(1)), startClient(server.url, 2, cache(2)));

  const rng = new Rng(11);
  const phases: string[] = [];
  let randomKills = 0, lastKillRound = 0;
  while (randomKills < RANDOM_KILLS) {
    // Kill during a round, one kill per round (a round waits for the restarted client, so kills spread over rounds),
    // at a random moment up to one round's length in (at most 0.6 s).
    let s = await pollStatus(server.url, `a round after round ${lastKillRound} under way`,
      (x) => x?.phase === 'done' || (x?.phase === 'training' && (x?.round?.round ?? 0) > lastKillRound && roundLengthMs(x, 600, 'shortest') !== null));
    if (s?.phase === 'done') break;
    await sleep(rng.uniform() * (roundLengthMs(s, 600, 'shortest') ?? 600));
    s = await adminStatus(server.url);
    if (s?.phase === 'done') break;
    const k = 1 + (randomKills % 2);
    phases.push(`client ${k} in ${s?.phase}@r${s?.round?.round ?? '-'}${s?.round?.accepted?.includes(k) ? ' (uploaded)' : ''}`);
    lastKillRound = s?.round?.round ?? lastKillRound;
    procs[k]!.child.kill('SIGKILL');
    await within(procs[k]!.exit, 30_000, `killed client ${k}`);
    procs[k] = startClient(server.url, k, cache(k));
    randomKills++;
  }
  t.equal(randomKills, RANDOM_KILLS, `random kills: ${phases.join(', ')}`);
  await pollUntil('the mid-upload kills', () => uploadKills, (n) => n >= UPLOAD_KILLS, { ms: 240_000, everyMs: 100 });
  await killing;
  t.equal(uploadKills, UPLOAD_KILLS, 'clients killed mid-upload');
  await allExit(t, procs);
  t.equal((await within(server.proc.exit, 60_000, 'server exit')).code, 0);
  const o = await checkOutcome(t, state, spec, reference);
  const ok = o.counted && o.equal && !o.corrupt;
  await record({ scenario: 'client SIGKILL', fault: 'client process killed at a random moment, restarted on its cache', tried: randomKills, survived: ok ? randomKills : 0, lost: o.lost, doubleCounted: o.doubleCounted, notes: `${spec.rounds} rounds; ${phases.join(', ')}` });
  await record({ scenario: 'client SIGKILL mid-upload', fault: 'client killed while its upload body was half sent', tried: uploadKills, survived: ok ? uploadKills : 0, lost: o.lost, doubleCounted: o.doubleCounted, notes: `${spec.rounds} rounds` });
});
