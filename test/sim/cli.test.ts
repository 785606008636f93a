/** `fedman simulate` / `fedman compare` as a user meets them (through bin/fedman.js). */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { simulate } from '../../src/sim/engine.js';
import { mergeConfig } from '../../src/config/index.js';
import { tmpDir } from '../data/tmpdir.js';

const tmp = tmpDir(t, 'fedman-simcli-');

function fedman(...args: string[]) {
  const r = spawnSync(process.execPath, [path.join('bin', 'fedman.js'), ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

t.test('config mistakes: one line naming the field, no stack trace, exit 1', async (t) => {
  const bad = path.join(tmp, 'bad.json');
  await writeFile(bad, JSON.stringify({ rounds: 0, partition: { scheme: 'dirichlet' } }));
  const r = fedman('simulate', '--config', bad, '--out', path.join(tmp, 'x'));
  t.equal(r.code, 1);
  t.match(r.err, /^fedman: error: config '.*bad\.json': .*field 'rounds' must be >= 1/);
  t.match(r.err, /field 'partition\.alpha' is required/);
  t.notMatch(r.err, /\n\s+at /);
  const flag = fedman('simulate', '--out', path.join(tmp, 'y'), '--rounds', 'many');
  t.equal(flag.code, 2);
  t.match(flag.err, /--rounds expects a number/);
  const algo = fedman('simulate', '--out', path.join(tmp, 'z'), '--algorithm', 'feddyn', '--algo-opt', 'alpha=-1', '--limit', '100');
  t.equal(algo.code, 1);
  t.match(algo.err, /feddyn: option 'alpha' must be > 0/);
});

t.test('--print-config shows every default with the overrides applied', async (t) => {
  const r = fedman('simulate', '--out', path.join(tmp, 'p'), '--print-config', '--algorithm', 'feddyn', '--man', '0.1', '--no-shuffle', '--partition', 'iid');
  t.equal(r.code, 0, r.err);
  const c = JSON.parse(r.out);
  t.match(c, { algorithm: 'feddyn', algorithmOptions: { alpha: 0.01 }, man: 0.1, shuffle: false, partition: { scheme: 'iid' }, rounds: 500, clients: 100, lr: 0.1 });
});

t.test('compare: table and combined accuracy plot', async (t) => {
  const base = { limit: 300, testLimit: 200, clients: 3, participation: 1, partition: { scheme: 'iid' }, rounds: 2, localEpochs: 1, workers: 0 };
  const a = path.join(tmp, 'fedavg'), b = path.join(tmp, 'fedavg-man');
  await simulate(mergeConfig(base), { out: a });
  await simulate(mergeConfig(base, { man: 0.1, name: 'FedAvg+MAN' }), { out: b });
  const svg = path.join(tmp, 'cmp.svg');
  const r = fedman('compare', a, b, '--svg', svg);
  t.equal(r.code, 0, r.err);
  const lines = r.out.trim().split('\n');
  t.match(lines[0], /run\s+algorithm\s+ζ\s+rounds\s+final acc\s+best acc \(round\)\s+final loss\s+s\/round/);
  t.match(lines[2], /^fedavg\s+fedavg\s+0\s+2\s+\d+\.\d\d%/);
  t.match(lines[3], /^FedAvg\+MAN\s+fedavg\s+0\.1\s+2/);
  const plot = await readFile(svg, 'utf8');
  t.match(plot, /<title>fedavg<\/title>[\s\S]*<title>FedAvg\+MAN<\/title>/);
  const j = fedman('compare', a, '--json', '--no-svg');
  t.equal(JSON.parse(j.out)[0].rounds, 2);
  const missing = fedman('compare', path.join(tmp, 'nope'), '--no-svg');
  t.equal(missing.code, 1);
  t.match(missing.err, /has no report\.json/);
});
