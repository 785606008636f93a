/**
 * The server is killed with SIGKILL at random moments of rounds (0 to one fault-free round's length after a round is
 * under way, at most 1.5 s, so during training, uploads, aggregation and persistence alike) many times in one run and restarted on the same state
 * directory and port each time; three client processes keep going through retries. The run completes with every
 * update counted once and the final model bitwise equal to the fault-free one.
 */
import t from 'tap';
import path from 'node:path';
import { tmpDir } from '../data/tmpdir.js';
import { Rng } from '../../src/util/rng.js';
import { killAll, startServer, within } from '../helpers/fedman-process.js';
import { FULL, adminStatus, allExit, checkOutcome, faultFreeModel, pollStatus, record, roundLengthMs, sleep, startClient, writeConfig } from './harness.js';

const root = tmpDir(t, 'fedman-rel-kills-');
t.teardown(killAll);
const KILLS = FULL ? 20 : 4;
// Kills start once a round's length is known (after 2 rounds); 12 rounds leave room for the last kills even when
// several restarts land in one round and the rest of the run is quick.
const spec = { rounds: FULL ? 30 : 12, localEpochs: 2 };

t.test(`SIGKILL of the server ${KILLS} times in one run`, async (t) => {
  const reference = await faultFreeModel(spec, path.join(root, 'sim'));
  const cfg = await writeConfig(root, spec);
  const state = path.join(root, 'state');
  let server = await startServer(state, cfg);
  const port = Number(new URL(server.url).port);
  const clients = [0, 1, 2].map((i) => startClient(server.url, i, path.join(root, `cache${i}`)));
  const rng = new Rng(2024);
  const phases: string[] = [];
  let kills = 0;
  while (kills < KILLS) {
    // A random moment inside a round: once the server is in a round (clients reconnected) and a round's length is
    // known, wait up to that length, so kills land in training, uploads, aggregation and persistence.
    let s = await pollStatus(server.url, 'a round under way',
      (x) => x?.phase === 'done' || ((x?.phase === 'training' || x?.phase === 'aggregating') && roundLengthMs(x, 1500, 'median') !== null));
    if (s?.phase === 'done') break;
    await sleep(rng.uniform() * (roundLengthMs(s, 1500, 'median') ?? 1500));
    s = await adminStatus(server.url);
    if (s?.phase === 'done') break;
    phases.push(`${s?.phase ?? '?'}@r${s?.round?.round ?? s?.completedRounds ?? '?'}(${s?.round?.accepted?.length ?? 0} up)`);
    server.proc.child.kill('SIGKILL');
    await within(server.proc.exit, 30_000, 'killed server');
    kills++;
    server = await startServer(state, cfg, port);
  }
  t.equal(kills, KILLS, `killed ${kills} times before the run ended (at ${phases.join(', ')})`);
  await allExit(t, clients);
  t.equal((await within(server.proc.exit, 60_000, 'server exit')).code, 0);
  const o = await checkOutcome(t, state, spec, reference);
  await record({
    scenario: 'server SIGKILL', fault: `server killed with SIGKILL at a random moment of a round (0 to one measured round length, at most 1.5 s, after the round is under way), restarted on the same state`,
    tried: kills, survived: o.counted && o.equal && !o.corrupt ? kills : 0, lost: o.lost, doubleCounted: o.doubleCounted,
    notes: `${spec.rounds} rounds, 3 client processes; killed during: ${phases.join(', ')}`,
  });
});
