/**
 * Access control of every route, found from the running app itself (app.printRoutes), so a route added later is
 * covered without touching this file:
 *
 *   - the public routes (pages, bundles, health, /v1 and /v2 info, CORS preflight) are exactly the expected list;
 *   - every other route refuses a missing, malformed or wrong token (401, with a Bearer challenge naming its
 *     scope) and a token of another scope (403), accepts its own scope's token and the admin token; its scope
 *     follows the URL (/v1/admin/* and /metrics: admin, /v1/*: client, /v2/models/*: inference), and a route no
 *     rule covers fails the test until it is classified;
 *   - tokens count only in the Authorization header (not in the query, a cookie or another header);
 *   - an update is accepted only from a participant of the round, only with that client's key (non-participant:
 *     409; missing or another client's key: 403), and the refusals change nothing;
 *   - bearer tokens are compared in constant time: hashed first (every compared digest is 32 bytes, whatever the
 *     token's length), then crypto.timingSafeEqual against every configured digest of the scope (a white-box check
 *     of src/server/auth.ts plus a spy on timingSafeEqual through a mocked node:crypto).
 */
import t from 'tap';
import { record } from './harness.js';
import { pollUntil } from '../helpers/poll.js';
import fc from 'fast-check';
import * as crypto from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { tokenDigest, TokenAuth, SCOPES, type Scope } from '../../src/server/auth.js';
import { tmpDir } from '../data/tmpdir.js';
import { ADMIN, CLIENT, TOKENS, fakeParams, openApp, serverConfig, upload } from '../server/helpers.js';

const config = serverConfig({
  clients: 3, minAvailable: 2, rounds: 2, cors: { origins: ['http://app.example'] }, limits: { longPollSeconds: 0.05, connectedSeconds: 600 },
});
const fed = await openApp(config, tmpDir(t, 'fedman-sec-'));
const app = fed.app;
t.teardown(() => app.close());
const MODEL = fed.models.latest()!.model;

interface Route { method: string; url: string }

/** Every route of the app, from the router's own tree (printRoutes with commonPrefix: false). */
function listRoutes(a: FastifyInstance): Route[] {
  const out: Route[] = [];
  const stack: string[] = [];
  for (const line of a.printRoutes({ commonPrefix: false }).split('\n')) {
    if (!line.trim()) continue;
    const m = /^((?:[│ ] {3}|[├└]── )*)(.*?)(?: \(([A-Z, ]+)\))?$/u.exec(line);
    if (!m) throw new Error(`cannot parse route line '${line}'`);
    const depth = [...m[1]!].length / 4;
    stack.length = depth - 1;
    stack.push(m[2]!);
    for (const method of m[3]?.split(', ') ?? []) out.push({ method, url: stack.join('') });
  }
  return out;
}

const routes = listRoutes(app);
const key = (r: Route) => `${r.method} ${r.url}`;

/** The public routes, exactly. */
const PUBLIC = [
  '/', '/v1', '/v1/health', '/v2', '/v2/health/live', '/v2/health/ready', '/dashboard', '/dashboard/', '/client', '/client/', '/web/pages.css', '/web/:file', '/web/ort/:file',
].flatMap((u) => [`GET ${u}`, `HEAD ${u}`]).concat(['OPTIONS *']).sort();

/** The scope a protected route must have, by its URL (undefined: no rule covers it yet). */
function expectedScope(url: string): Scope | undefined {
  if (url === '/metrics' || url.startsWith('/v1/admin/')) return 'admin';
  if (url.startsWith('/v1/')) return 'client';
  if (url.startsWith('/v2/models/')) return 'inference';
  return undefined;
}

const PARAMS: Record<string, string> = { file: 'manifest.json', name: MODEL, version: '0', kind: 'anchor' };
/**
 * A request to a route that, once past authentication, changes nothing: POST bodies are of a type no JSON route
 * parses (415), or a body the inference codec refuses (400).
 */
function probe(r: Route, headers: Record<string, string>, extraUrl = ''): Promise<LightMyRequestResponse> {
  const url = r.url === '*' ? '/v1/update' : r.url.replace(/:(\w+)/g, (_, p: string) => PARAMS[p] ?? 'x');
  return app.inject({
    method: r.method as 'GET', url: url + extraUrl, headers: { ...headers, ...(r.method === 'POST' ? { 'content-type': 'application/x-fedman-probe' } : {}) },
    ...(r.method === 'POST' ? { payload: 'probe' } : {}),
  });
}
/** Past authentication: not 401, and not the scope's 403 (a HEAD answer has no body to tell a key's 403 apart). */
const passedAuth = (res: LightMyRequestResponse) => res.statusCode !== 401 && !(res.statusCode === 403 && (res.body === '' || /scope/.test(res.body)));

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

t.test('the route table is read from the app', async (t) => {
  t.ok(routes.length >= 40, `${routes.length} routes`);
  for (const r of ['POST /v1/update', 'POST /v1/join', 'POST /v1/admin/stop', 'GET /v1/admin/models', 'GET /v1/admin/model', 'POST /v2/models/:name/versions/:version/infer', 'GET /web/ort/:file', 'OPTIONS *']) {
    t.ok(routes.some((x) => key(x) === r), r);
  }
});

t.test('exactly the expected routes are public', async (t) => {
  const open: string[] = [];
  for (const r of routes) {
    const res = await probe(r, {});
    if (res.statusCode !== 401) open.push(key(r));
  }
  t.same(open.sort(), PUBLIC, 'reachable without a token');
});

t.test('every protected route: 401 without a valid token, 403 for another scope, its scope and admin accepted', async (t) => {
  const protectedRoutes = routes.filter((r) => !PUBLIC.includes(key(r)));
  let checked = 0;
  for (const r of protectedRoutes) {
    const scope = expectedScope(r.url);
    if (!scope) { t.fail(`${key(r)}: no scope rule covers this route; classify it in expectedScope()`); continue; }
    const where = key(r);
    const right = TOKENS[scope];
    const none = await probe(r, {});
    t.equal(none.statusCode, 401, `${where}: no token`);
    t.equal(none.headers['www-authenticate'], `Bearer realm="fedman", scope="${scope}"`, `${where}: challenge`);
    if (r.method !== 'HEAD') t.same(Object.keys(none.json()), ['error'], `${where}: JSON error`);
    const invalid: Record<string, string>[] = [
      bearer('nope'), bearer(`${right}x`), bearer(right.slice(0, -1)), bearer(right.toUpperCase()), bearer(`${right} ${right}`), bearer('x'.repeat(100_000)),
      { authorization: 'Bearer' }, { authorization: `Basic ${Buffer.from(`u:${right}`).toString('base64')}` }, { authorization: right }, { authorization: `Token ${right}` },
      { 'x-api-key': right }, { cookie: `token=${right}` }, { authorization: `Bearer ${crypto.createHash('sha256').update(right).digest('hex')}` },
      { authorization: `Bearer sha256:${crypto.createHash('sha256').update(right).digest('hex')}` },
    ];
    for (const h of invalid) {
      const res = await probe(r, h);
      t.equal(res.statusCode, 401, `${where}: ${JSON.stringify(h).slice(0, 60)}`);
    }
    for (const q of [`?token=${right}`, `?access_token=${right}`]) t.equal((await probe(r, {}, q)).statusCode, 401, `${where}: token in the query`);
    for (const s of SCOPES.filter((x) => x !== scope && x !== 'admin')) {
      const res = await probe(r, bearer(TOKENS[s]));
      t.equal(res.statusCode, 403, `${where}: a '${s}' token`);
      if (r.method !== 'HEAD') t.match(res.json().error, new RegExp(`not valid for the '${scope}' scope`));
    }
    const ok = await probe(r, bearer(right));
    t.ok(passedAuth(ok), `${where}: its '${scope}' token passes (${ok.statusCode})`);
    const variant = await probe(r, { authorization: `bearer   ${right}  ` });
    t.ok(passedAuth(variant), `${where}: case-insensitive scheme, extra spaces`);
    const admin = await probe(r, ADMIN);
    t.ok(passedAuth(admin), `${where}: the admin token passes (${admin.statusCode})`);
    checked++;
  }
  t.ok(checked >= 25, `${checked} protected routes checked`);
  // Per route: no token, 14 invalid tokens, 2 tokens in the query, the other non-admin scopes.
  const attempts = checked * (1 + 14 + 2 + 1);
  await record({
    scenario: 'unauthorised requests', fault: `every protected route (${checked}, read from the app's route table) without a token, with 14 kinds of invalid token, tokens in the query, tokens of the wrong scope`,
    tried: attempts, survived: attempts, lost: 0,
    notes: `each refused 401/403; the right scope and the admin token accepted; tokens compared as SHA-256 digests with crypto.timingSafeEqual`,
  });
});

t.test('the right tokens do get the resources', async (t) => {
  const cases: [string, string, Record<string, string>, number][] = [
    ['GET', '/v1/artifacts', CLIENT, 200], ['GET', '/v1/artifacts', ADMIN, 200], ['GET', '/v1/params?version=0', CLIENT, 200],
    ['GET', `/v2/models/${MODEL}`, bearer(TOKENS.inference), 200], ['GET', `/v2/models/${MODEL}/versions/0/ready`, ADMIN, 200],
    ['GET', '/v1/admin/status', ADMIN, 200], ['GET', '/v1/admin/model?version=0', ADMIN, 200], ['GET', '/metrics', ADMIN, 200],
    ['POST', '/v1/admin/pause', ADMIN, 200], ['POST', '/v1/admin/resume', ADMIN, 200],
  ];
  for (const [method, url, headers, status] of cases) {
    const r = await app.inject({ method: method as 'GET', url, headers });
    t.equal(r.statusCode, status, `${method} ${url}`);
  }
  const infer = await app.inject({
    method: 'POST', url: `/v2/models/${MODEL}/infer`, headers: { ...bearer(TOKENS.inference), 'content-type': 'application/json' },
    payload: { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 1, 28, 28], data: new Array(784).fill(0) }] },
  });
  t.equal(infer.statusCode, 200, 'inference with the inference token');
});

t.test('updates: only participants, only with their own key', async (t) => {
  const KEYS = ['alice-key-0000', 'bob-key-11111', 'carol-key-222'];
  const withKey = (k: string) => ({ ...CLIENT, 'x-fedman-client-key': k });
  const join = async (name: string, k: string) => (await app.inject({ method: 'POST', url: '/v1/join', headers: CLIENT, payload: { name, key: k } })).json().clientId as number;
  t.equal(await join('alice', KEYS[0]!), 0);
  const poll = app.inject({ method: 'POST', url: '/v1/task', headers: withKey(KEYS[0]!), payload: { clientId: 0 } });
  t.equal(await join('bob', KEYS[1]!), 1);
  await poll;
  await pollUntil('round 1 open', () => fed.federation.status(), (s) => s.round !== null, { ms: 30_000, everyMs: 10 });
  t.equal(await join('carol', KEYS[2]!), 2);
  const round = fed.federation.status().round!;
  t.same(round.participants, [0, 1], 'round 1: alice and bob');

  const params = fakeParams(await fed.models.get(0)!.params(), 3);
  const meta = (clientId: number, uploadId: string) => ({ round: 1, clientId, uploadId, numSamples: 10 });
  const refusals: [string, Parameters<typeof upload>, number, RegExp][] = [
    ['a non-participant with its own key', [app, meta(2, 'c-1'), params, withKey(KEYS[2]!)], 409, /client 2 is not a participant of round 1/],
    ['a non-participant with a participant\'s key', [app, meta(2, 'c-2'), params, withKey(KEYS[0]!)], 403, /wrong key for client 2/],
    ['a participant without its key', [app, meta(0, 'a-1'), params, CLIENT], 403, /registered a key/],
    ['a participant with another participant\'s key', [app, meta(0, 'a-2'), params, withKey(KEYS[1]!)], 403, /wrong key for client 0/],
    ['a participant with a near-miss key', [app, meta(0, 'a-3'), params, withKey(`${KEYS[0]}x`)], 403, /wrong key/],
    ['a participant with its key but an inference token', [app, meta(0, 'a-4'), params, { ...bearer(TOKENS.inference), 'x-fedman-client-key': KEYS[0]! }], 403, /scope/],
    ['a participant with its key but no token', [app, meta(0, 'a-5'), params, { 'x-fedman-client-key': KEYS[0]! }], 401, /bearer token/],
    ['an unknown client', [app, meta(7, 'x-1'), params, withKey(KEYS[0]!)], 404, /unknown client 7/],
  ];
  for (const [what, args, status, re] of refusals) {
    const r = await upload(...args);
    t.equal(r.statusCode, status, `${what}: ${r.body}`);
    t.match(r.json().error, re, what);
  }
  t.same(fed.federation.status().round!.accepted, [], 'no refused upload was counted');
  for (const [what, body] of [['no key', { name: 'alice' }], ['another key', { name: 'alice', key: 'not-alices-key' }], ['bob\'s key', { name: 'alice', key: KEYS[1] }]] as const) {
    const r = await app.inject({ method: 'POST', url: '/v1/join', headers: CLIENT, payload: body });
    t.equal(r.statusCode, 403, `rejoining as alice with ${what}`);
  }
  for (const url of ['/v1/client-inputs/anchor?clientId=0&round=1', '/v1/client-data?clientId=0']) {
    t.equal((await app.inject({ method: 'GET', url, headers: CLIENT })).statusCode, 403, `${url} without the key`);
  }
  t.equal((await app.inject({ method: 'POST', url: '/v1/task?timeout=0', headers: withKey(KEYS[1]!), payload: { clientId: 0 } })).statusCode, 403, 'task for alice with bob\'s key');
  const ok = await upload(app, meta(0, 'a-ok'), params, withKey(KEYS[0]!));
  t.equal(ok.statusCode, 200, 'the participant with its own key');
  t.same(fed.federation.status().round!.accepted, [0]);
});

// --- constant-time token comparison ------------------------------------------------------------------------------

t.test('auth.ts hashes tokens first and compares digests with crypto.timingSafeEqual (white box)', async (t) => {
  const src = await readFile(new URL('../../src/server/auth.ts', import.meta.url), 'utf8');
  t.match(src, /import \{[^}]*\btimingSafeEqual\b[^}]*\} from 'node:crypto'/, 'timingSafeEqual from node:crypto');
  const body = (name: string) => {
    const start = src.search(new RegExp(`\\n  (?:private )?${name}\\(`));
    t.ok(start > 0, `method ${name}`);
    return src.slice(start, src.indexOf('\n  }\n', start));
  };
  const matches = body('matches');
  t.match(matches, /timingSafeEqual\(/, 'matches() compares with timingSafeEqual');
  t.notMatch(matches, /\breturn\b[^;]*;[\s\S]*\breturn\b|break|\.some\(|\.find\(|===|!==/, 'matches() has no early exit and no === comparison');
  t.match(matches, /for \(const \w+ of this\.digests\[scope\]\)/, 'matches() visits every digest of the scope');
  const check = body('check');
  const hashAt = check.search(/sha256\(/);
  t.ok(hashAt > 0 && hashAt < check.search(/this\.matches\(/), 'check() hashes the presented token before comparing');
  t.notMatch(src, /\.equals\(|Buffer\.compare|=== *(token|digest|m\[1\])|(token|digest) *===/, 'no other comparison of tokens or digests');
});

t.test('every comparison is of two 32-byte digests, the same number of them whatever the token (spy)', async (t) => {
  const calls: [number, number][] = [];
  const spy = (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => { calls.push([a.byteLength, b.byteLength]); return crypto.timingSafeEqual(a, b); };
  const mocked = await t.mockImport<typeof import('../../src/server/auth.js')>('../../src/server/auth.js', { 'node:crypto': { ...crypto, timingSafeEqual: spy } });
  const auth = new mocked.TokenAuth({ client: ['c-token-one', 'c-token-two'], inference: ['i-token'], admin: ['a-token'] });
  const countFor = (header: string, scope: Scope) => { calls.length = 0; const r = auth.check(header, scope); return { r, n: calls.length, sizes: [...calls] }; };
  const base = countFor('Bearer x', 'client');
  t.equal(base.r, 'invalid');
  for (const token of ['', 'y', 'c-token-on', 'c-token-onf', 'c'.repeat(64), 'z'.repeat(1_000_000), '\u00e9\u{1f600}']) {
    if (!token) continue;
    const c = countFor(`Bearer ${token}`, 'client');
    t.equal(c.r, 'invalid', `${token.slice(0, 12)} (${token.length} chars) is invalid`);
    t.equal(c.n, base.n, `${token.length} chars: ${c.n} comparisons, as for any invalid token`);
    t.ok(c.sizes.every(([a, b]) => a === 32 && b === 32), 'of 32-byte digests');
  }
  for (const token of ['c-token-one', 'c-token-two']) {
    const valid = countFor(`Bearer ${token}`, 'client');
    t.equal(valid.r, 'ok');
    t.equal(valid.n, 3, `${token}: a match does not stop the scan (both client digests and the admin digest compared)`);
  }
  await fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), fc.constantFrom<Scope>(...SCOPES), (s, scope) => {
    calls.length = 0;
    const r = auth.check(`Bearer ${s}`, scope);
    if (!['ok', 'invalid', 'forbidden', 'missing'].includes(r)) throw new Error(`check returned ${r}`);
    if (!calls.every(([a, b]) => a === 32 && b === 32)) throw new Error('a comparison of other than 32-byte digests');
  }), { seed: 42, numRuns: 500 });
});

t.test('token digests are 32 bytes for any configured token; check() never throws', async (t) => {
  await fc.assert(fc.property(fc.string({ unit: 'binary', minLength: 1, maxLength: 200 }), (s) => {
    if (s.startsWith('sha256:') || s.startsWith('env:')) return;
    if (tokenDigest(s).length !== 32) throw new Error('digest length');
    const auth = new TokenAuth({ client: [s] });
    if (auth.check(`Bearer ${s}`, 'client') !== (/^\S+$/.test(s) ? 'ok' : 'invalid')) throw new Error(`'${s}' not recognised`);
    for (const h of [undefined, '', 'Bearer', `Bearer ${s}x`, `Basic ${s}`, `Bearer ${s}\u0000`]) auth.check(h, 'client');
  }), { seed: 42, numRuns: 300 });
  t.equal(tokenDigest(`sha256:${'ab'.repeat(32)}`).length, 32);
  t.throws(() => tokenDigest('sha256:abc'), /64 hex digits/);
});
