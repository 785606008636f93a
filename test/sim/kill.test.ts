/**
 * Crash safety: `fedman simulate` killed with SIGKILL after its first checkpoint, then rerun with the same --out,
 * ends with exactly the model of an uninterrupted run (worker threads and on-disk client state included; and an
 * asynchronous run on a straggler fleet, whose schedule is replayed).
 */
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { access, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { readCheckpoint, checkpointPath } from '../../src/sim/checkpoint.js';
import { simulate } from '../../src/sim/engine.js';
import { mergeConfig } from '../../src/config/index.js';
import { readReport } from '../../src/sim/report.js';
import { tmpDir } from '../data/tmpdir.js';

const tmp = tmpDir(t, 'fedman-kill-');
const runner = path.join('bin', 'fedman.js');

function start(args: string[]) {
  const child = spawn(process.execPath, [runner, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => { err += String(d); });
  const done = new Promise<number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ? null : code)));
  return { child, done, stderr: () => err };
}

const exists = (p: string) => access(p).then(() => true, () => false);

/** Runs `config` through the CLI, SIGKILLs it once its first checkpoint is on disk, reruns it to the end. */
async function killAndResume(t: Test, config: Record<string, unknown>, name: string) {
  const cfgFile = path.join(tmp, `${name}.json`);
  await writeFile(cfgFile, JSON.stringify(config));
  const out = path.join(tmp, name);

  const first = start(['simulate', '--config', cfgFile, '--out', out, '--quiet']);
  const deadline = Date.now() + 60_000;
  while (!(await exists(checkpointPath(out)))) {
    if (Date.now() > deadline) { first.child.kill('SIGKILL'); t.fail('no checkpoint within 60 s'); return null; }
    const code = await Promise.race([first.done, new Promise((r) => setTimeout(() => r('wait'), 10))]);
    if (code !== 'wait') { t.fail(`simulate exited early (${code}): ${first.stderr()}`); return null; }
  }
  first.child.kill('SIGKILL');
  t.equal(await first.done, null, 'killed by the signal');
  const partial = await readCheckpoint(out);
  t.ok(partial && partial.round >= 1 && partial.round < (config.rounds as number), `interrupted mid-run (checkpoint after round ${partial?.round})`);

  const second = start(['simulate', '--config', cfgFile, '--out', out, '--quiet']);
  t.equal(await second.done, 0, second.stderr());
  const resumed = await readCheckpoint(out);
  t.equal(resumed!.round, config.rounds);

  const reference = await simulate(mergeConfig(config, { workers: 0 }), { out: path.join(tmp, `${name}-uninterrupted`) });
  let diff = 0;
  for (let i = 0; i < reference.global.length; i++) diff = Math.max(diff, Math.abs(reference.global[i]! - resumed!.global[i]!));
  t.equal(diff, 0, 'bitwise equal global models');
  return { out, reference };
}

t.test('SIGKILL after the first checkpoint, rerun: same final model as an uninterrupted run', async (t) => {
  const config = {
    data: 'mnist', limit: 600, testLimit: 200, model: 'mlp', clients: 4, clientsPerRound: 2, partition: { scheme: 'iid' },
    rounds: 6, localEpochs: 2, algorithm: 'feddyn', man: 0.05, clientState: 'disk', workers: 2,
  };
  const r = await killAndResume(t, config, 'killed');
  if (!r) return;
  const { out, reference } = r;
  const rep = await readReport(out);
  t.same(rep.rounds.map((r) => r.round), [1, 2, 3, 4, 5, 6]);
  t.same(rep.rounds.map((r) => r.participants), reference.report.rounds.map((r) => r.participants));
  t.equal(rep.status.runs.length, 2, 'two runs recorded');
  t.ok(await exists(path.join(out, 'global.onnx')));
});

t.test('asynchronous aggregation on a straggler fleet: SIGKILL, rerun, same model and schedule', async (t) => {
  const config = {
    data: 'mnist', limit: 600, testLimit: 200, model: 'mlp', clients: 8, partition: { scheme: 'iid' }, rounds: 6, localEpochs: 1,
    algorithm: 'fedadam', man: 0.05, workers: 2, aggregation: { mode: 'async', concurrency: 4, bufferSize: 2 },
    fleet: { samplesPerSecond: { kind: 'lognormal', median: 50, sigma: 1 }, availability: { offlineFraction: 0.3, cycleSeconds: 20 } },
  };
  const r = await killAndResume(t, config, 'killed-async');
  if (!r) return;
  const rep = await readReport(r.out);
  t.same(rep.rounds.map((m) => [m.participants, m.simSeconds]), r.reference.report.rounds.map((m) => [m.participants, m.simSeconds]));
});
