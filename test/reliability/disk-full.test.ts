/**
 * The server's disk fills up mid-run (its state directory is a small tmpfs; a filler file takes the free space at
 * random moments and is removed a few seconds later): writes fail with ENOSPC, uploads are answered 503 and
 * retried by the clients, the round state machine retries its step; once space is back the run completes with
 * every update counted once and the model bitwise equal to the fault-free one. Needs root (mount -t tmpfs).
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdir, open, rm } from 'node:fs/promises';
import path from 'node:path';
import { tmpDir } from '../data/tmpdir.js';
import { Rng } from '../../src/util/rng.js';
import { killAll, startServer, within } from '../helpers/fedman-process.js';
import { ATOK, FULL, adminStatus, allExit, pollStatus, checkOutcome, faultFreeModel, record, sleep, startClient, writeConfig } from './harness.js';

const root = tmpDir(t, 'fedman-rel-disk-');
t.teardown(killAll);
const spec = { rounds: FULL ? 10 : 4, localEpochs: 2 };
const FILLS = FULL ? 6 : 2;

/** Writes `file` until the disk is full, then gives back 200 kB: less room than one update (0.8 MB). */
async function fillUp(file: string): Promise<void> {
  const fh = await open(file, 'w');
  const chunk = new Uint8Array(1 << 20);
  let size = 0;
  try {
    for (;;) {
      try { size += (await fh.write(chunk)).bytesWritten; } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
        break;
      }
    }
    await fh.truncate(Math.max(0, size - 200_000));
  } finally { await fh.close(); }
}

t.test('disk full while persisting', async (t) => {
  const reference = await faultFreeModel(spec, path.join(root, 'sim'));
  const cfg = await writeConfig(root, spec);
  const mnt = path.join(root, 'disk');
  await mkdir(mnt, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=48m', 'tmpfs', mnt], { stdio: 'pipe' });
  } catch (err) {
    t.fail(`cannot mount a tmpfs for the disk-full scenario (needs root): ${(err as Error).message}`);
    return;
  }
  t.teardown(() => { try { execFileSync('umount', ['-l', mnt], { stdio: 'pipe' }); } catch { /* already gone */ } });
  const state = path.join(mnt, 'state');
  const server = await startServer(state, cfg);
  const clients = [0, 1, 2].map((i) => startClient(server.url, i, path.join(root, `cache${i}`)));
  const filler = path.join(mnt, 'filler');
  const rng = new Rng(5);
  let fills = 0, refused = 0, stalledSteps = 0;
  const seen: string[] = [];
  while (fills < FILLS) {
    // The first fill lands while uploads are still due (so some meet a full disk even when rounds take 0.1 s); the
    // others at a random moment of a round, often during aggregation and persistence.
    const uploadsDue = (x: Record<string, any> | null) => fills > 0 || (x?.round?.accepted?.length ?? 0) < (x?.round?.participants?.length ?? 0);
    const s = await pollStatus(server.url, 'a round under way', (x) => (x?.phase === 'training' && uploadsDue(x)) || x?.phase === 'done', 60_000);
    if (s?.phase === 'done') break;
    if (fills > 0) await sleep(rng.uniform() * 300);
    await fillUp(filler);
    fills++;
    seen.push(`${s?.phase}@r${s?.round?.round ?? s?.completedRounds}`);
    for (let k = 0; k < 30; k++) {
      await sleep(100);
      if ((await adminStatus(server.url))?.storageProblem) stalledSteps++;
    }
    const m = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${ATOK}` } })).text();
    refused = Number(/fedman_uploads_rejected_total\{reason="disk-full"\} (\d+)/.exec(m)?.[1] ?? 0);
    await rm(filler, { force: true });
  }
  t.equal(fills, FILLS, `disk filled ${fills} times (${seen.join(', ')})`);
  t.ok(refused > 0, `uploads refused while the disk was full: ${refused}`);
  await allExit(t, clients);
  t.equal((await within(server.proc.exit, 60_000, 'server exit')).code, 0);
  const o = await checkOutcome(t, state, spec, reference);
  await record({
    scenario: 'disk full', fault: 'state directory (tmpfs) filled to < 0.2 MB free for 3 s at random moments',
    tried: fills, survived: o.counted && o.equal && !o.corrupt ? fills : 0, lost: o.lost, doubleCounted: o.doubleCounted,
    notes: `${spec.rounds} rounds; ${refused} uploads answered 503 while full; status showed the storage problem in ${stalledSteps} polls; filled during ${seen.join(', ')}`,
  });
});
