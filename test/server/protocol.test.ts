/**
 * The federation protocol in-process (Fastify inject, no sockets): auth scopes, schemas and their field-naming
 * 4xx errors, join idempotency, long-polled tasks, artifacts/params with ETag and ranges, upload validation that
 * leaves the state unchanged, idempotent uploads, aggregation (checked against a direct weighted mean), late
 * uploads, admin controls, CORS, metrics.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { tmpDir } from '../data/tmpdir.js';
import { ADMIN, CLIENT, TOKENS, f32, fakeParams, listDir, openApp, serverConfig, statusOf, updatesDir, upload } from './helpers.js';
import { pollUntil } from '../helpers/poll.js';

const state = tmpDir(t, 'fedman-proto-');
const config = serverConfig({ clients: 3, minAvailable: 2, rounds: 2, cors: { origins: ['http://app.example'] } });
const fed = await openApp(config, state);
const app = fed.app;
t.teardown(() => app.close());
const n = fed.federation.paramCount;

t.test('public routes, 404 and JSON errors', async (t) => {
  const h = await app.inject({ method: 'GET', url: '/v1/health' });
  t.equal(h.statusCode, 200);
  t.same(h.json(), { ok: true, phase: 'idle' });
  const nf = await app.inject({ method: 'GET', url: '/v1/nope' });
  t.equal(nf.statusCode, 404);
  t.match(nf.json(), { error: /no route GET \/v1\/nope/ });
});

t.test('bearer tokens and scopes', async (t) => {
  const none = await app.inject({ method: 'POST', url: '/v1/join', payload: { name: 'x' } });
  t.equal(none.statusCode, 401);
  t.match(none.json().error, /needs a 'client' bearer token/);
  t.match(none.headers['www-authenticate'], /^Bearer /);
  const wrong = await app.inject({ method: 'POST', url: '/v1/join', headers: { authorization: 'Bearer nope-nope' }, payload: { name: 'x' } });
  t.equal(wrong.statusCode, 401);
  t.same(wrong.json(), { error: 'invalid bearer token' });
  const malformed = await app.inject({ method: 'POST', url: '/v1/join', headers: { authorization: 'Basic abc' }, payload: { name: 'x' } });
  t.equal(malformed.statusCode, 401);
  const scope = await app.inject({ method: 'POST', url: '/v1/join', headers: { authorization: `Bearer ${TOKENS.inference}` }, payload: { name: 'x' } });
  t.equal(scope.statusCode, 403);
  t.match(scope.json().error, /not valid for the 'client' scope/);
  const adminAsClient = await app.inject({ method: 'GET', url: '/v1/artifacts', headers: ADMIN });
  t.equal(adminAsClient.statusCode, 200, 'an admin token works for every scope');
  const clientAsAdmin = await app.inject({ method: 'GET', url: '/v1/admin/status', headers: CLIENT });
  t.equal(clientAsAdmin.statusCode, 403);
  const metrics = await app.inject({ method: 'GET', url: '/metrics' });
  t.equal(metrics.statusCode, 401, '/metrics needs the admin scope by default');
  t.same(await listDir(path.join(state)).then((l) => l.includes('clients.json')), false, 'nothing was registered');
});

t.test('schema errors name the field', async (t) => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ method: 'POST', url: '/v1/join', payload: { name: 'bad name!' } }, /field 'body\.name' must match pattern/],
    [{ method: 'POST', url: '/v1/join', payload: { name: 'a', extra: 1 } }, /unknown field 'body\.extra'/],
    [{ method: 'POST', url: '/v1/join', payload: {} }, /field 'body\.name' is required/],
    [{ method: 'POST', url: '/v1/join', payload: { name: 'a', clientIndex: -1 } }, /field 'body\.clientIndex' must be >= 0/],
    [{ method: 'POST', url: '/v1/join', payload: { name: 'a', clientIndex: 3 } }, /field 'body\.clientIndex' must be < 3/],
    [{ method: 'POST', url: '/v1/task?timeout=99', payload: { clientId: 0 } }, /field 'querystring\.timeout' must be <= 5/],
    [{ method: 'POST', url: '/v1/task', payload: { clientId: 'zero' } }, /field 'body\.clientId' must be integer/],
    [{ method: 'GET', url: '/v1/params?version=-1' }, /field 'querystring\.version' must be >= 0/],
    [{ method: 'GET', url: '/v1/params?colour=red' }, /unknown field 'querystring\.colour'/],
    [{ method: 'GET', url: '/v1/client-inputs/anchor?round=1' }, /field 'querystring\.clientId' is required/],
  ];
  for (const [req, re] of cases) {
    const r = await app.inject({ ...req, headers: CLIENT } as never);
    t.equal(r.statusCode, 400, `${req.method} ${req.url}: ${r.body}`);
    t.match(r.json().error, re);
  }
  const badJson = await app.inject({ method: 'POST', url: '/v1/join', headers: { ...CLIENT, 'content-type': 'application/json' }, payload: '{"name": ' });
  t.equal(badJson.statusCode, 400);
  t.type(badJson.json().error, 'string');
  const wrongType = await app.inject({ method: 'POST', url: '/v1/join', headers: { ...CLIENT, 'content-type': 'text/csv' }, payload: 'name,a' });
  t.equal(wrongType.statusCode, 415);
  t.type(wrongType.json().error, 'string');
  const tooBig = await app.inject({ method: 'POST', url: '/v1/join', headers: { ...CLIENT, 'content-type': 'application/json' }, payload: JSON.stringify({ name: 'a', key: 'k'.repeat(2_000_000) }) });
  t.equal(tooBig.statusCode, 413);
  t.match(tooBig.json().error, /too large/);
  t.same(await listDir(state).then((l) => l.includes('clients.json')), false, 'no client registered by bad requests');
});

let art: { id: string; files: { name: string; size: number; sha256: string }[] };

t.test('join is idempotent per name (and key)', async (t) => {
  const a = await app.inject({ method: 'POST', url: '/v1/join', headers: CLIENT, payload: { name: 'alice', key: 'alice-secret-1' } });
  t.equal(a.statusCode, 200, a.body);
  const ja = a.json();
  t.equal(ja.clientId, 0);
  t.equal(ja.rejoined, false);
  t.equal(ja.federation.paramCount, n);
  t.equal(ja.data, null);
  art = ja.artifacts;
  const again = (await app.inject({ method: 'POST', url: '/v1/join', headers: CLIENT, payload: { name: 'alice', key: 'alice-secret-1' } })).json();
  t.equal(again.clientId, 0);
  t.equal(again.rejoined, true);
  const thief = await app.inject({ method: 'POST', url: '/v1/join', headers: CLIENT, payload: { name: 'alice', key: 'not-alices-key' } });
  t.equal(thief.statusCode, 403);
  const taken = await app.inject({ method: 'POST', url: '/v1/join', headers: CLIENT, payload: { name: 'mallory', clientIndex: 0 } });
  t.equal(taken.statusCode, 409);
  t.match(taken.json().error, /already taken by 'alice'/);
  const noKey = await app.inject({ method: 'POST', url: '/v1/task?timeout=0', headers: CLIENT, payload: { clientId: 0 } });
  t.equal(noKey.statusCode, 403, 'a client that registered a key must send it');
  const unknown = await app.inject({ method: 'POST', url: '/v1/task?timeout=0', headers: CLIENT, payload: { clientId: 2 } });
  t.equal(unknown.statusCode, 404);
});

const KEY0 = { ...CLIENT, 'x-fedman-client-key': 'alice-secret-1' };

t.test('artifacts: listed, downloadable, checksummed, cached by ETag', async (t) => {
  const list = await app.inject({ method: 'GET', url: '/v1/artifacts', headers: CLIENT });
  t.same(list.json(), art);
  t.same(art.files.map((f) => f.name).sort(), ['eval.onnx', 'eval.webgpu.onnx', 'forward.onnx', 'manifest.json', 'train_step.onnx', 'train_step.webgpu.onnx']);
  const m = art.files.find((f) => f.name === 'manifest.json')!;
  const r = await app.inject({ method: 'GET', url: '/v1/artifacts/manifest.json', headers: CLIENT });
  t.equal(r.statusCode, 200);
  t.equal(createHash('sha256').update(r.rawPayload).digest('hex'), m.sha256);
  t.equal(r.headers.etag, `"${m.sha256}"`);
  const cached = await app.inject({ method: 'GET', url: '/v1/artifacts/manifest.json', headers: { ...CLIENT, 'if-none-match': `"${m.sha256}"` } });
  t.equal(cached.statusCode, 304);
  t.equal(cached.rawPayload.length, 0);
  const missing = await app.inject({ method: 'GET', url: '/v1/artifacts/secret.txt', headers: CLIENT });
  t.equal(missing.statusCode, 404);
  const traversal = await app.inject({ method: 'GET', url: '/v1/artifacts/..%2Fconfig.json', headers: CLIENT });
  t.equal(traversal.statusCode, 400);
  t.match(traversal.json().error, /params\.file/);
});

t.test('params: ETag = version, ranges for resume', async (t) => {
  const full = await app.inject({ method: 'GET', url: '/v1/params?version=0', headers: CLIENT });
  t.equal(full.statusCode, 200);
  t.equal(full.headers.etag, '"v0"');
  t.equal(full.headers['accept-ranges'], 'bytes');
  t.equal(full.rawPayload.length, 4 * n);
  const v0 = f32(full.rawPayload);
  t.same(v0, await fed.models.get(0)!.params(), 'the initial model');
  t.same(f32((await app.inject({ method: 'GET', url: '/v1/params', headers: CLIENT })).rawPayload), v0, 'default: the current global model');
  const part = await app.inject({ method: 'GET', url: '/v1/params?version=0', headers: { ...CLIENT, range: 'bytes=100-', 'if-range': '"v0"' } });
  t.equal(part.statusCode, 206);
  t.equal(part.headers['content-range'], `bytes 100-${4 * n - 1}/${4 * n}`);
  t.same(Buffer.concat([full.rawPayload.subarray(0, 100), part.rawPayload]), full.rawPayload, 'resumed download reassembles the vector');
  const suffix = await app.inject({ method: 'GET', url: '/v1/params?version=0', headers: { ...CLIENT, range: 'bytes=-8' } });
  t.equal(suffix.statusCode, 206);
  t.equal(suffix.rawPayload.length, 8);
  const stale = await app.inject({ method: 'GET', url: '/v1/params?version=0', headers: { ...CLIENT, range: 'bytes=100-', 'if-range': '"v9"' } });
  t.equal(stale.statusCode, 200, 'If-Range mismatch: the whole vector');
  const bad = await app.inject({ method: 'GET', url: '/v1/params?version=0', headers: { ...CLIENT, range: `bytes=${4 * n}-` } });
  t.equal(bad.statusCode, 416);
  t.equal(bad.headers['content-range'], `bytes */${4 * n}`);
  t.type(bad.json().error, 'string');
  const nm = await app.inject({ method: 'GET', url: '/v1/params?version=0', headers: { ...CLIENT, 'if-none-match': '"v0"' } });
  t.equal(nm.statusCode, 304);
  const none = await app.inject({ method: 'GET', url: '/v1/params?version=7', headers: CLIENT });
  t.equal(none.statusCode, 404);
});

t.test('long-poll: waits for enough clients, returns as soon as a round starts', async (t) => {
  const alone = await app.inject({ method: 'POST', url: '/v1/task?timeout=0.2', headers: KEY0, payload: { clientId: 0, numSamples: 100 } });
  t.equal(alone.statusCode, 200);
  t.match(alone.json(), { type: 'wait', reason: /1 connected, 2 needed/ });
  t.equal(alone.headers['retry-after'], '1');
  const t0 = Date.now();
  const poll = app.inject({ method: 'POST', url: '/v1/task?timeout=5', headers: KEY0, payload: { clientId: 0, numSamples: 100 } });
  await new Promise((r) => setTimeout(r, 200));
  const bob = await app.inject({ method: 'POST', url: '/v1/join', headers: CLIENT, payload: { name: 'bob' } });
  t.equal(bob.json().clientId, 1);
  const task = (await poll).json();
  t.ok(Date.now() - t0 < 4000, `returned before the timeout (${Date.now() - t0} ms)`);
  t.match(task, { type: 'train', round: 1, attempt: 0, paramsVersion: 0, config: { lr: 0.1, epochs: 1, batchSize: 50, clientInputs: [] } });
  t.same(Object.keys(task.config.hypers).sort(), ['clip_norm', 'lr', 'man_zeta', 'momentum', 'weight_decay']);
  t.type(task.config.shuffleSeed, 'number');
  const carol = await app.inject({ method: 'POST', url: '/v1/join', headers: CLIENT, payload: { name: 'carol' } });
  t.equal(carol.json().clientId, 2);
  const s = await statusOf(app);
  t.same(s.round.participants, [0, 1], 'sampled among the two clients connected when the round started');
  const c = await app.inject({ method: 'POST', url: '/v1/task?timeout=0', headers: CLIENT, payload: { clientId: 2 } });
  t.match(c.json(), { type: 'wait', reason: /not a participant of round 1/ });
  const fedavgInputs = await app.inject({ method: 'GET', url: '/v1/client-inputs/anchor?clientId=0&round=1', headers: KEY0 });
  t.equal(fedavgInputs.statusCode, 404, 'FedAvg artifacts have no client inputs');
});

const v0 = () => fed.models.get(0)!.params();
let up0: Float32Array, up1: Float32Array;

t.test('bad uploads get the right 4xx and change nothing', async (t) => {
  const before = { status: await statusOf(app), files: await listDir(updatesDir(state)) };
  t.same(before.status.round.accepted, []);
  up0 = fakeParams(await v0(), 1);
  const meta = { round: 1, attempt: 0, clientId: 0, uploadId: 'u-0-1', numSamples: 100, steps: 2, samples: 100, metrics: { loss: 1, ce: 1, man: 0, accuracy: 0.5 }, seconds: 0.1 };
  const nan = Float32Array.from(up0); nan[17] = NaN;
  const inf = Float32Array.from(up0); inf[5] = -Infinity;
  const cases: [string, Parameters<typeof upload>, number, RegExp][] = [
    ['no token', [app, meta, up0, {}], 401, /bearer token/],
    ['wrong scope', [app, meta, up0, { authorization: `Bearer ${TOKENS.inference}` }], 403, /scope/],
    ['no key', [app, meta, up0, CLIENT], 403, /X-Fedman-Client-Key/],
    ['wrong key', [app, meta, up0, { ...CLIENT, 'x-fedman-client-key': 'guess-guess' }], 403, /wrong key/],
    ['no meta', [app, undefined, up0, KEY0], 400, /field 'headers\.x-fedman-meta' is required/],
    ['meta not JSON', [app, '{round:1', up0, KEY0], 400, /not valid JSON/],
    ['meta lacks uploadId', [app, { ...meta, uploadId: undefined } as never, up0, KEY0], 400, /field 'X-Fedman-Meta\.uploadId' is required/],
    ['meta bad type', [app, { ...meta, round: 'one' } as never, up0, KEY0], 400, /field 'X-Fedman-Meta\.round' must be integer/],
    ['meta unknown field', [app, { ...meta, colour: 'red' } as never, up0, KEY0], 400, /unknown field 'X-Fedman-Meta\.colour'/],
    ['short body', [app, meta, up0.subarray(1), KEY0], 400, new RegExp(`expected ${n} float32 values`)],
    ['empty body', [app, meta, new Uint8Array(0), KEY0], 400, /has 0 bytes/],
    ['NaN', [app, meta, nan, KEY0], 400, /parameter 17 is NaN/],
    ['Infinity', [app, meta, inf, KEY0], 400, /parameter 5 is -Infinity/],
    ['future round', [app, { ...meta, round: 2 }, up0, KEY0], 409, /round 2 has not started/],
    ['wrong attempt', [app, { ...meta, attempt: 1 }, up0, KEY0], 409, /attempt/],
    ['not a participant', [app, { ...meta, clientId: 2 }, up0, CLIENT], 409, /client 2 is not a participant of round 1/],
    ['unknown client', [app, { ...meta, clientId: 9 }, up0, CLIENT], 404, /unknown client 9/],
  ];
  for (const [what, args, status, re] of cases) {
    const r = await upload(...args);
    t.equal(r.statusCode, status, `${what}: ${r.body}`);
    t.match(r.json().error, re, what);
  }
  const big = new Float32Array(n + 1);
  const r413 = await upload(app, meta, big, KEY0);
  t.equal(r413.statusCode, 413, 'oversized body');
  t.match(r413.json().error, /too large/);
  const json = await app.inject({ method: 'POST', url: '/v1/update', headers: { ...KEY0, 'x-fedman-meta': JSON.stringify(meta), 'content-type': 'application/json' }, payload: '{"params": [1, 2]}' });
  t.equal(json.statusCode, 415, 'JSON body');
  const after = { status: await statusOf(app), files: await listDir(updatesDir(state)) };
  t.same(after.status.round, before.status.round, 'round state unchanged');
  t.same(after.files, before.files, 'no update files written');
  t.same(after.status.history, []);
  const m = (await app.inject({ method: 'GET', url: '/metrics', headers: ADMIN })).body;
  t.match(m, /fedman_uploads_rejected_total\{reason="size"\} 2/);
  t.match(m, /fedman_uploads_rejected_total\{reason="non-finite"\} 2/);
  t.match(m, /fedman_uploads_rejected_total\{reason="participant"\} 1/);
  t.match(m, /fedman_uploads_accepted_total 0/);
});

t.test('uploads are idempotent by uploadId; the round aggregates in id order; late uploads get 409', async (t) => {
  const meta0 = { round: 1, clientId: 0, uploadId: 'u-0-1', numSamples: 100, steps: 2, samples: 100, metrics: { loss: 1, ce: 1, man: 0, accuracy: 0.5 } };
  const ok = await upload(app, meta0, up0, KEY0);
  t.equal(ok.statusCode, 200, ok.body);
  t.same(ok.json(), { accepted: true, duplicate: false, round: 1, received: 1, expected: 2 });
  t.same(await listDir(updatesDir(state)), ['r1-a0-c0.safetensors'], 'durable before the acknowledgement');
  const dup = await upload(app, meta0, up0, KEY0);
  t.same(dup.json(), { accepted: true, duplicate: true, round: 1, received: 1, expected: 2 }, 'a retry counts once');
  const other = await upload(app, { ...meta0, uploadId: 'u-0-other' }, fakeParams(await v0(), 9), KEY0);
  t.equal(other.statusCode, 409);
  t.match(other.json().error, /already uploaded round 1/);
  t.same((await statusOf(app)).round.accepted, [0]);

  // Client 1 trains on 300 samples: the sample-weighted mean is checked directly.
  const poll = await app.inject({ method: 'POST', url: '/v1/task?timeout=0', headers: CLIENT, payload: { clientId: 1, numSamples: 300 } });
  t.equal(poll.json().type, 'train');
  up1 = fakeParams(await v0(), 2);
  const ok1 = await upload(app, { round: 1, clientId: 1, uploadId: 'u-1-1', numSamples: 300, steps: 6, samples: 300 }, up1, CLIENT);
  t.equal(ok1.statusCode, 200, ok1.body);
  // Aggregation runs right after the last upload, and the round's updates are removed just after completedRounds
  // counts it; wait for both.
  await pollUntil('round 1 counted and its updates removed', async () => ({ completed: (await statusOf(app)).completedRounds, updates: await listDir(updatesDir(state)) }),
    (x) => x.completed >= 1 && x.updates.length === 0, { ms: 30_000 });
  const s = await statusOf(app);
  t.equal(s.completedRounds, 1);
  t.same(s.history[0].aggregated, [0, 1]);
  t.same(s.history[0].uploads, { 0: 'u-0-1', 1: 'u-1-1' });
  t.equal(s.latestVersion, 1);
  const v1 = f32((await app.inject({ method: 'GET', url: '/v1/params?version=1', headers: CLIENT })).rawPayload);
  let maxErr = 0;
  for (let i = 0; i < n; i++) {
    const want = Math.fround((100 * up0[i]! + 300 * up1[i]!) / 400);
    maxErr = Math.max(maxErr, Math.abs(v1[i]! - want));
  }
  t.equal(maxErr, 0, 'FedAvg: the sample-weighted mean, bitwise');
  t.same(await listDir(updatesDir(state)), [], 'accepted updates are dropped once the round is committed');
  const onnx = await readFile(path.join(state, 'models', 'v1.onnx'));
  t.ok(onnx.length > 4 * n, 'round 1 exported as an ONNX model version');

  const late = await upload(app, { ...meta0, uploadId: 'u-0-late' }, up0, KEY0);
  t.equal(late.statusCode, 409);
  t.match(late.json().error, /late upload: round 1 is closed/);
  const retry = await upload(app, meta0, up0, KEY0);
  t.equal(retry.statusCode, 200, 'the retry of an upload that was counted is still acknowledged');
  t.equal(retry.json().duplicate, true);
});

t.test('admin: pause/resume, model versions, export, stop', async (t) => {
  const p = await app.inject({ method: 'POST', url: '/v1/admin/pause', headers: ADMIN });
  t.same(p.json(), { phase: (await statusOf(app)).phase, paused: true, stopped: false, completedRounds: 1 });
  const w = await app.inject({ method: 'POST', url: '/v1/task?timeout=0', headers: KEY0, payload: { clientId: 0 } });
  t.match(w.json(), { type: 'wait', reason: /paused/ });
  t.same(JSON.parse(await readFile(path.join(state, 'control.json'), 'utf8')), { paused: true, stopped: false }, 'pause is persisted');
  await app.inject({ method: 'POST', url: '/v1/admin/resume', headers: ADMIN });
  const task = await app.inject({ method: 'POST', url: '/v1/task?timeout=5', headers: KEY0, payload: { clientId: 0 } });
  t.match(task.json(), { type: 'train', round: 2, paramsVersion: 1 });
  const versions = (await app.inject({ method: 'GET', url: '/v1/admin/models', headers: ADMIN })).json().versions;
  t.same(versions.map((v: { version: number }) => v.version), [0, 1]);
  const model = await app.inject({ method: 'GET', url: '/v1/admin/model?version=1', headers: ADMIN });
  t.equal(model.statusCode, 200);
  t.match(model.headers['content-disposition'], /attachment; filename="mlp-v1\.onnx"/);
  t.same(model.rawPayload, await readFile(path.join(state, 'models', 'v1.onnx')));
  const params = await app.inject({ method: 'GET', url: '/v1/admin/model?version=1&format=params', headers: ADMIN });
  t.equal(params.rawPayload.length, 4 * n);
  const bad = await app.inject({ method: 'GET', url: '/v1/admin/model?format=pt', headers: ADMIN });
  t.equal(bad.statusCode, 400);
  t.match(bad.json().error, /querystring\.format/);
  const stop = await app.inject({ method: 'POST', url: '/v1/admin/stop', headers: ADMIN });
  t.match(stop.json(), { phase: 'done', stopped: true });
  const done = await app.inject({ method: 'POST', url: '/v1/task?timeout=0', headers: KEY0, payload: { clientId: 0 } });
  t.match(done.json(), { type: 'done', finalVersion: 1, reason: /stopped/ });
  const after = await upload(app, { round: 2, clientId: 0, uploadId: 'u-0-2', numSamples: 100 }, up0, KEY0);
  t.equal(after.statusCode, 409);
  t.match(after.json().error, /stopped/);
});

t.test('CORS for browser clients', async (t) => {
  const pre = await app.inject({ method: 'OPTIONS', url: '/v1/update', headers: { origin: 'http://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, x-fedman-meta' } });
  t.equal(pre.statusCode, 204);
  t.equal(pre.headers['access-control-allow-origin'], 'http://app.example');
  t.match(pre.headers['access-control-allow-headers'], /x-fedman-meta/);
  t.match(pre.headers['access-control-allow-methods'], /POST/);
  const simple = await app.inject({ method: 'GET', url: '/v1/params?version=0', headers: { ...CLIENT, origin: 'http://app.example' } });
  t.equal(simple.headers['access-control-allow-origin'], 'http://app.example');
  t.match(simple.headers['access-control-expose-headers'], /etag/);
  const denied = await app.inject({ method: 'GET', url: '/v1/health', headers: { origin: 'http://evil.example' } });
  t.equal(denied.headers['access-control-allow-origin'], undefined);
  const denyPre = await app.inject({ method: 'OPTIONS', url: '/v1/update', headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' } });
  t.equal(denyPre.headers['access-control-allow-origin'], undefined);
});

t.test('metrics', async (t) => {
  const m = await app.inject({ method: 'GET', url: '/metrics', headers: ADMIN });
  t.equal(m.statusCode, 200);
  t.match(m.headers['content-type'], /text\/plain/);
  for (const name of ['fedman_rounds_completed 1', 'fedman_connected_clients 3', 'fedman_joined_clients 3', 'fedman_uploads_accepted_total 2', 'fedman_aggregation_seconds_count 1', 'fedman_inference_latency_seconds']) {
    t.match(m.body, name);
  }
  t.match(m.body, /fedman_http_requests_total\{method="POST",route="\/v1\/update",code="409"\}/);
});
