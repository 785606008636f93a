/** The server config (defaults, errors naming fields, restart compatibility) and token authentication. */
import t from 'tap';
import { createHash } from 'node:crypto';
import { validateConfig, validateServerConfig, serverConfigDiffs, minAvailableOf, redactedConfig } from '../../src/config/index.js';
import { TokenAuth } from '../../src/server/auth.js';

t.test('defaults', async (t) => {
  const c = validateServerConfig({});
  t.match(c, {
    name: 'fedman', model: 'mlp', algorithm: 'fedavg', algorithmOptions: { weighting: 'samples' }, man: 0, clients: 10, clientsPerRound: null, participation: 1,
    minAvailable: null, minClients: 1, rounds: 10, roundDeadline: 600, maxExtensions: 2, data: null, evaluation: null,
    tokens: { client: [], inference: [], admin: [] }, cors: { origins: [] }, limits: { jsonBodyBytes: 1048576, longPollSeconds: 30, connectedSeconds: 90, concurrentUploads: 16 },
    serving: { enabled: true, threads: 1, batching: null },
  });
  t.equal(minAvailableOf(c), 10, 'all clients by default');
  t.equal(minAvailableOf(validateServerConfig({ clientsPerRound: 4 })), 4);
  const d = validateServerConfig({ data: { data: 'mnist' }, evaluation: { data: 'mnist', testLimit: 100 } });
  t.same(d.data, { data: 'mnist', limit: null, testLimit: null, normalize: false, partition: { scheme: 'iid' } });
  t.same(d.evaluation, { data: 'mnist', limit: null, testLimit: 100, normalize: false, batchSize: 500, every: 1, flatness: null });
  t.same(validateServerConfig({ algorithm: 'feddyn', algorithmOptions: { alpha: 0.1 } }).algorithmOptions, { alpha: 0.1, weighting: 'uniform' });
});

t.test("'participation' is one name in both configs; a server config's old 'fraction' still means it", async (t) => {
  t.equal(validateServerConfig({ participation: 0.25 }).participation, 0.25);
  const old = validateServerConfig({ fraction: 0.5 });
  t.equal(old.participation, 0.5, 'fraction read as participation');
  t.notOk('fraction' in old, 'the validated config has one name');
  t.throws(() => validateServerConfig({ fraction: 0.5, participation: 0.5 }), /field 'fraction' is the old name of 'participation'/);
  t.throws(() => validateServerConfig({ fraction: 0 }), /field 'participation' must be > 0/);
});

t.test('errors name the field', async (t) => {
  const cases: [unknown, RegExp][] = [
    [[], /expected a JSON object/],
    [{ rounds: 0 }, /field 'rounds' must be >= 1/],
    [{ colour: 'red' }, /unknown field 'colour'/],
    [{ tokens: { client: 'abc' } }, /field 'tokens\.client' must be array/],
    [{ tokens: { root: ['x'] } }, /unknown field 'tokens\.root'/],
    [{ tokens: { admin: ['sha256:abc'] } }, /malformed 'sha256:' token/],
    [{ data: { data: 'mnist', partition: { scheme: 'dirichlet' } } }, /field 'data\.partition\.alpha' is required/],
    [{ evaluation: { limit: 10 } }, /field 'evaluation\.data' is required/],
    [{ clients: 3, clientsPerRound: 4 }, /'clientsPerRound' \(4\) exceeds 'clients' \(3\)/],
    [{ clients: 3, minClients: 4 }, /'minClients' \(4\) exceeds 'clients' \(3\)/],
    [{ limits: { longPollSeconds: 60, connectedSeconds: 30 } }, /'limits\.connectedSeconds' \(30\) must exceed/],
    [{ cors: { origins: ['example.org'] } }, /field 'cors\.origins' has 'example\.org'/],
    [{ algorithm: 'fedsgd' }, /unknown algorithm 'fedsgd'/],
    [{ algorithm: 'fedprox', algorithmOptions: { beta: 1 } }, /fedprox: unknown option 'beta'/],
    [{ manLayers: 'some' }, /field 'manLayers' must be 'auto', 'none' or a non-empty list/],
  ];
  for (const [raw, re] of cases) t.throws(() => validateServerConfig(raw), re, JSON.stringify(raw));
});

t.test('restart compatibility', async (t) => {
  const a = validateServerConfig({ rounds: 5, algorithm: 'scaffold' });
  t.same(serverConfigDiffs(a, validateServerConfig({ rounds: 50, algorithm: 'scaffold', roundDeadline: 5, tokens: { client: ['x'] }, cors: { origins: ['*'] } })), []);
  t.same(serverConfigDiffs(a, validateServerConfig({ rounds: 5, algorithm: 'scaffold', lr: 0.5, seed: 3 })), ['lr', 'seed']);
  t.same(redactedConfig(validateServerConfig({ tokens: { client: ['secret-1', 'secret-2'] } })).tokens, { client: 2, inference: 0, admin: 0 });
});

t.test('tokens: scopes, admin everywhere, digests, environment, open scopes', async (t) => {
  const digest = createHash('sha256').update('hashed-secret').digest('hex');
  const auth = new TokenAuth({ client: ['client-secret', `sha256:${digest}`], admin: ['env:FEDMAN_TEST_ADMIN'] }, { FEDMAN_TEST_ADMIN: 'admin-secret' });
  const b = (s: string) => `Bearer ${s}`;
  t.equal(auth.check(b('client-secret'), 'client'), 'ok');
  t.equal(auth.check(b('hashed-secret'), 'client'), 'ok', "'sha256:' tokens hold the digest only");
  t.equal(auth.check(b('admin-secret'), 'client'), 'ok', 'admin tokens work for every scope');
  t.equal(auth.check(b('admin-secret'), 'admin'), 'ok');
  t.equal(auth.check(b('client-secret'), 'admin'), 'forbidden');
  t.equal(auth.check(b('nope'), 'client'), 'invalid');
  t.equal(auth.check(undefined, 'client'), 'missing');
  t.equal(auth.check('Token client-secret', 'client'), 'invalid');
  t.equal(auth.check(undefined, 'inference'), 'ok', 'a scope without tokens is open');
  t.same(auth.openScopes(), ['inference']);
  t.throws(() => new TokenAuth({ admin: ['env:FEDMAN_NOT_SET_ANYWHERE'] }, {}), /FEDMAN_NOT_SET_ANYWHERE is not set/);
});

t.test('a partition is spelled as an object or as the command line spells it, in both configs', async (t) => {
  const d = validateServerConfig({ data: { data: 'mnist', partition: 'dirichlet-equal:0.3' } });
  t.same(d.data?.partition, { scheme: 'dirichlet-equal', alpha: 0.3 }, 'server: string → object');
  t.same(validateServerConfig({ data: { data: 'mnist', partition: { scheme: 'classes', classesPerClient: 2 } } }).data?.partition, { scheme: 'classes', classesPerClient: 2 });
  t.same(validateConfig({ partition: 'shards:200,shardsPerClient=3' }).partition, { scheme: 'shards', numShards: 200, shardsPerClient: 3 }, 'simulation: string → object');
  t.same(validateConfig({ partition: 'iid' }).partition, { scheme: 'iid' });
  t.throws(() => validateServerConfig({ data: { data: 'mnist', partition: 'dirichlet-equal:x' } }), /server config: field 'data\.partition' 'dirichlet-equal:x': alpha must be a positive number/);
  t.throws(() => validateConfig({ partition: 'nope:1' }), /config: field 'partition' 'nope:1': unknown scheme 'nope'/);
});
