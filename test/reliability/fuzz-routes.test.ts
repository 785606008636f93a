/**
 * Hostile-input fuzzing of every HTTP route of the server, property-based (fast-check), in-process (app.inject, no
 * sockets): the mlp zoo model, tokens for all three scopes, three joined clients that each registered a key, round 1
 * in progress with one update accepted.
 *
 * Each family of routes gets its own generator of hostile requests: wrong types, missing and unknown fields, huge,
 * negative and fractional numbers, NaN/Infinity (as strings and as 1e999, since JSON has no literal for them),
 * non-finite float32 values and wrong sizes in update bodies, truncated and oversized bodies, malformed
 * X-Fedman-Meta, replayed uploads, uploads for other clients/rounds/attempts or without the client's key, path
 * traversal in every path parameter, random bytes/JSON/content types, bad Range headers, malformed Open Inference
 * Protocol requests (datatypes, shapes, binary header lengths). Properties checked on every request:
 *
 *   - never a 5xx, never an unhandled rejection or uncaught exception;
 *   - every 4xx body is JSON with a non-empty string `error` (and nothing else, but for Fastify's own bad-URL
 *     answers, which app.ts would need `frameworkErrors` to reshape: counted and reported);
 *   - statuses where the request's flaw determines them (401/403 for bad tokens, 400/409/413/415 for bad uploads);
 *   - no response carries a secret (a canary file in the state directory, key digests, /etc/passwd);
 *   - a path-traversal request is never answered 2xx unless the URL normalises to a legitimately served path;
 *   - the federation state is unchanged: the state directory's files (size, mtime, inode) and the federation
 *     status (round, participants, accepted uploads, clients, history) after every request, plus a content hash of
 *     the state directory, the admin status endpoint and the accepted-uploads metric after every batch. No file is
 *     excluded: the legitimate requests mixed in (rejoins with the right key, long polls, downloads, inference,
 *     replayed uploads) write nothing; only when each client was last seen is left out of the status.
 *
 * The hostile update bodies are then shown never to have been aggregated: round 1 is completed by the remaining
 * participants and the new global model is checked bitwise against the weighted mean of the legitimate updates.
 *
 * Seeded for reproducible CI: FEDMAN_FUZZ_SEED=<n> changes the seed, FEDMAN_FUZZ_SCALE=<x> multiplies the runs.
 */
import t from 'tap';
import { record } from './harness.js';
import { pollUntil } from '../helpers/poll.js';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import type { Test } from 'tap';
import { tmpDir } from '../data/tmpdir.js';
import { ADMIN, CLIENT, TOKENS, f32, fakeParams, openApp, serverConfig, upload } from '../server/helpers.js';

const SEED = Number(process.env.FEDMAN_FUZZ_SEED ?? 20250611);
const SCALE = Number(process.env.FEDMAN_FUZZ_SCALE ?? 1);
const runs = (n: number) => Math.max(1, Math.round(n * SCALE));
t.comment(`fuzz seed ${SEED} (FEDMAN_FUZZ_SEED=${SEED} reproduces this run)`);

// --- crash detection --------------------------------------------------------------------------------------------

const unhandled: unknown[] = [];
const onUnhandled = (err: unknown) => { unhandled.push(err); };
process.on('unhandledRejection', onUnhandled);
process.on('uncaughtException', onUnhandled);
t.teardown(() => { process.off('unhandledRejection', onUnhandled); process.off('uncaughtException', onUnhandled); });

// --- the federation under attack --------------------------------------------------------------------------------

const state = tmpDir(t, 'fedman-fuzz-');
const CANARY = `canary-${createHash('sha256').update(String(SEED)).digest('hex').slice(0, 24)}`;
await fs.writeFile(path.join(state, 'canary.txt'), CANARY);
const JSON_LIMIT = 16384;
const config = serverConfig({
  clients: 3, minAvailable: 2, rounds: 3, cors: { origins: ['http://app.example'] },
  limits: { longPollSeconds: 0.05, connectedSeconds: 600, jsonBodyBytes: JSON_LIMIT },
});
const fed = await openApp(config, state);
const app = fed.app;
t.teardown(() => app.close());
const n = fed.federation.paramCount;

const NAMES = ['alice', 'bob', 'carol'];
const KEYS = ['alice-key-7f3a91c2', 'bob-key-0c55e1d9a', 'carol-key-93bb20e4'];
const withKey = (c: number) => ({ ...CLIENT, 'x-fedman-client-key': KEYS[c]! });
const sha256hex = (s: string | Uint8Array) => createHash('sha256').update(s).digest('hex');
/** encodeURIComponent that also takes lone surrogates (as the raw, invalid UTF-8 of one: hostile input too). */
const enc = (s: string) => s.replace(/[\ud800-\udbff][\udc00-\udfff]|[\ud800-\udfff]|[^]/g, (ch) => (ch.length === 1 && ch >= '\ud800' && ch <= '\udfff' ? '%ED%A0%80' : encodeURIComponent(ch)));
/** Byte strings no response may contain. */
const SECRETS = [CANARY, ...KEYS, ...KEYS.map(sha256hex), ...Object.values(TOKENS).map(sha256hex), 'root:x:0:0'].map((s) => Buffer.from(s));

async function join(c: number) {
  const r = await app.inject({ method: 'POST', url: '/v1/join', headers: CLIENT, payload: { name: NAMES[c], key: KEYS[c] } });
  if (r.statusCode !== 200) throw new Error(`join ${NAMES[c]}: ${r.statusCode} ${r.body}`);
  return r.json() as { clientId: number };
}
// Setup (plain checks: tap ends the root test once top-level assertions go idle).
function must(ok: unknown, what: string): void { if (!ok) throw new Error(`setup: ${what}`); }
must((await join(0)).clientId === 0, 'alice is client 0');
const poll = app.inject({ method: 'POST', url: '/v1/task', headers: withKey(0), payload: { clientId: 0 } });
must((await join(1)).clientId === 1, 'bob is client 1');
await poll;
await pollUntil('round 1 open', () => fed.federation.status(), (s) => s.round !== null, { ms: 30_000, everyMs: 10 });
// The federation is now full: joins of new names can only fail.
must((await join(2)).clientId === 2, 'carol is client 2');
const round1 = fed.federation.status().round!;
must(round1?.participants.length >= 1, 'round 1 started');

const v0 = await fed.models.get(0)!.params();
const legit = new Map<number, { params: Float32Array; numSamples: number; uploadId: string }>();
{
  const c = round1.participants[0]!;
  const params = fakeParams(v0, 1 + c);
  const r = await upload(app, { round: 1, clientId: c, uploadId: `legit-r1-c${c}`, numSamples: 100 }, params, withKey(c));
  must(r.statusCode === 200, `legitimate upload: ${r.body}`);
  legit.set(c, { params, numSamples: 100, uploadId: `legit-r1-c${c}` });
}
let acceptedTotal = 1;

// --- state snapshots ------------------------------------------------------------------------------------------

async function files(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(path.join(dir, rel), { withFileTypes: true }).catch(() => [])) {
    const r = path.join(rel, e.name);
    if (e.isDirectory()) out.push(...await files(dir, r)); else out.push(r);
  }
  return out.sort();
}
/** Cheap per-request fingerprint: every file's path, size, mtime and inode (atomic writes replace the inode). */
async function fingerprint(): Promise<string> {
  const parts: string[] = [];
  for (const f of await files(state)) {
    const s = await fs.stat(path.join(state, f)).catch(() => null); // a temp file renamed meanwhile
    parts.push(s ? `${f}:${s.size}:${s.mtimeMs}:${s.ino}` : `${f}:gone`);
  }
  return parts.join('\n');
}
async function contentHash(): Promise<string> {
  const h = createHash('sha256');
  for (const f of await files(state)) h.update(`${f}\0`).update(await fs.readFile(path.join(state, f))).update('\0');
  return h.digest('hex');
}
/** The federation status minus what legitimate reads change (when each client was last seen). */
function view(s: Record<string, any>): string {
  return JSON.stringify({
    phase: s.phase, paused: s.paused, stopped: s.stopped, failure: s.failure, completedRounds: s.completedRounds, round: s.round,
    clients: s.clients.map((c: { id: number; name: string }) => [c.id, c.name]), latestVersion: s.latestVersion, history: s.history,
  });
}
async function adminView(): Promise<string> {
  const r = await app.inject({ method: 'GET', url: '/v1/admin/status', headers: ADMIN });
  if (r.statusCode !== 200) throw new Error(`admin status: ${r.statusCode}`);
  return view(r.json());
}
async function acceptedMetric(): Promise<number> {
  const m = (await app.inject({ method: 'GET', url: '/metrics', headers: ADMIN })).body;
  return Number(/^fedman_uploads_accepted_total (\d+)$/m.exec(m)?.[1]);
}

let baseline = { fp: '', status: '' };
async function resetBaseline() { baseline = { fp: await fingerprint(), status: view(fed.federation.status()) }; }

// --- the request runner and the properties every response must have ----------------------------------------------

interface Case {
  method: string;
  url: string;
  headers?: Record<string, string>;
  payload?: string | Buffer;
  /** The only statuses allowed (default: any below 500). */
  expect?: readonly number[];
  /** A path parameter is hostile (traversal, NUL, absolute): 2xx only where the URL normalises to a served path. */
  hostilePath?: boolean;
  check?: (res: LightMyRequestResponse) => void;
}

let cases = 0;
let fiveXX = 0;
let frameworkBodies = 0;
const statusCounts = new Map<string, Map<number, number>>();
/** Every path a legitimate request gets a 2xx from (a normalised traversal may land on one of these). */
const SERVED = new Set([
  '/', '/v1', '/v1/health', '/v1/join', '/v1/task', '/v1/artifacts', ...fed.federation.artifacts.files.map((f) => `/v1/artifacts/${f.name}`), '/v1/params',
  '/v1/update', '/v1/admin/status', '/v1/admin/models', '/v1/admin/model', '/metrics', '/v2', '/v2/health/live', '/v2/health/ready',
  ...['', '/versions/0', '/versions/1'].flatMap((v) => ['', '/ready', '/infer'].map((x) => `/v2/models/${fed.models.latest()!.model}${v}${x}`)),
  '/dashboard', '/dashboard/', '/client', '/client/', '/web/pages.css', ...['ort.wasm.bundle.min.mjs', 'ort.wasm.bundle.min.mjs.map', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm'].map((f) => `/web/ort/${f}`),
]);
const FRAMEWORK_CODES = new Set(['FST_ERR_BAD_URL', 'FST_ERR_MAX_PARAM_LENGTH']);
/** FEDMAN_FUZZ_VERBOSE=1: the error messages met per family (digits and quoted values folded), to tune generators. */
const VERBOSE = !!process.env.FEDMAN_FUZZ_VERBOSE;
const messages = new Map<string, Map<string, number>>();

/** The last requests (for the failure message: a state change may surface a request late). */
const recent: string[] = [];
function fail(c: Case, res: LightMyRequestResponse | null, why: string): never {
  const body = res ? res.body.slice(0, 300) : '';
  throw new Error(`${c.method} ${c.url.slice(0, 200)}: ${why}${res ? ` (status ${res.statusCode}, body ${JSON.stringify(body)})` : ''}\nlast requests:\n${recent.join('\n')}`);
}

async function run(family: string, c: Case): Promise<LightMyRequestResponse> {
  const res = await app.inject({ method: c.method as 'GET', url: c.url, headers: c.headers ?? {}, ...(c.payload !== undefined ? { payload: c.payload } : {}) });
  cases++;
  recent.push(`${c.method} ${c.url.slice(0, 80)} ${JSON.stringify(c.headers ?? {}).slice(0, 400)} body ${typeof c.payload === 'string' ? JSON.stringify(c.payload.slice(0, 60)) : `${c.payload?.length ?? 0} bytes`} → ${res.statusCode} ${res.body.slice(0, 120)}`);
  if (recent.length > 6) recent.shift();
  let counts = statusCounts.get(family);
  if (!counts) statusCounts.set(family, counts = new Map());
  counts.set(res.statusCode, (counts.get(res.statusCode) ?? 0) + 1);
  if (res.statusCode >= 500) { fiveXX++; fail(c, res, '5xx'); }
  if (unhandled.length) fail(c, res, `unhandled rejection/exception: ${String((unhandled[0] as Error)?.stack ?? unhandled[0])}`);
  if (c.expect && !c.expect.includes(res.statusCode)) fail(c, res, `expected one of ${c.expect.join(', ')}`);
  if (res.statusCode >= 400 && c.method !== 'HEAD') {
    if (!/^application\/json/.test(String(res.headers['content-type']))) fail(c, res, `4xx content type ${res.headers['content-type']}`);
    let body: Record<string, unknown>;
    try { body = JSON.parse(res.body); } catch { fail(c, res, '4xx body is not JSON'); }
    if (typeof body !== 'object' || body === null || typeof body.error !== 'string' || !body.error.trim()) fail(c, res, "4xx body lacks a non-empty 'error' string");
    if (VERBOSE) {
      const key = `${res.statusCode} ${String(body.error).replace(/'[^']*'/g, "'…'").replace(/\d+/g, 'N').slice(0, 90)}`;
      let m = messages.get(family);
      if (!m) messages.set(family, m = new Map());
      m.set(key, (m.get(key) ?? 0) + 1);
    }
    if (Object.keys(body).length !== 1) {
      if (FRAMEWORK_CODES.has(String(body.code))) frameworkBodies++;
      else fail(c, res, '4xx body has fields besides error');
    }
  }
  for (const s of SECRETS) if (res.rawPayload.includes(s)) fail(c, res, `the response leaks '${s.toString().slice(0, 12)}…'`);
  // (A CORS preflight is answered 204 for any path: it serves nothing.)
  if (res.statusCode >= 200 && res.statusCode < 300 && c.method !== 'OPTIONS') {
    const p = new URL(c.url, 'http://x').pathname;
    if (c.hostilePath && !SERVED.has(p)) fail(c, res, `a hostile path parameter was served (normalised path ${p})`);
  }
  if (res.statusCode === 206 && c.method !== 'HEAD') {
    const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(String(res.headers['content-range']));
    if (!m || Number(m[2]) - Number(m[1]) + 1 !== res.rawPayload.length || Number(m[2]) >= Number(m[3])) fail(c, res, `bad 206: content-range ${res.headers['content-range']}, ${res.rawPayload.length} bytes`);
  }
  if (res.statusCode === 416 && !/^bytes \*\/\d+$/.test(String(res.headers['content-range']))) fail(c, res, '416 without content-range');
  c.check?.(res);
  const fp = await fingerprint();
  if (fp !== baseline.fp) fail(c, res, `the state directory changed:\n${baseline.fp}\n→\n${fp}`);
  const st = view(fed.federation.status());
  if (st !== baseline.status) fail(c, res, `the federation status changed:\n${baseline.status}\n→\n${st}`);
  return res;
}

/** Runs one family's property, then checks the whole state directory, the admin status and the upload count. */
async function family<D>(tt: Test, name: string, arb: fc.Arbitrary<D>, build: (d: D) => Case, numRuns: number): Promise<void> {
  const before = { hash: await contentHash(), admin: await adminView() };
  const c0 = cases;
  const t0 = performance.now();
  await resetBaseline();
  await fc.assert(fc.asyncProperty(arb, async (d) => { await run(name, build(d)); }), { seed: SEED, numRuns, endOnFailure: true });
  tt.equal(await contentHash(), before.hash, `${name}: the state directory's contents are unchanged`);
  tt.equal(await adminView(), before.admin, `${name}: the admin status is unchanged`);
  tt.equal(await acceptedMetric(), acceptedTotal, `${name}: no hostile update was accepted`);
  if (VERBOSE) for (const [k, v] of [...messages.get(name) ?? []].sort((a, b) => b[1] - a[1])) tt.comment(`  ${v} × ${k}`);
  tt.comment(`${name}: ${cases - c0} cases in ${((performance.now() - t0) / 1000).toFixed(1)} s; statuses ${JSON.stringify(Object.fromEntries([...statusCounts.get(name) ?? []].sort((a, b) => a[0] - b[0])))}`);
}

// --- generators -------------------------------------------------------------------------------------------------

/** A number spelled verbatim in JSON (1e999 parses to Infinity, 9007199254740993 loses precision, ...). */
class Raw { constructor(readonly text: string) {} }
/** A JSON object given as entries (so '__proto__' stays an ordinary key). */
class Obj { constructor(readonly entries: [string, unknown][]) {} }

function toJson(v: unknown): string {
  if (v instanceof Raw) return v.text;
  if (v instanceof Obj) return `{${v.entries.map(([k, x]) => `${JSON.stringify(k)}:${toJson(x)}`).join(',')}}`;
  if (Array.isArray(v)) return `[${v.map(toJson).join(',')}]`;
  if (v !== null && typeof v === 'object') return toJson(new Obj(Object.entries(v).filter(([, x]) => x !== undefined)));
  return JSON.stringify(v) ?? 'null';
}
/** JSON safe to put in a header: non-ASCII as \u escapes (only string literals hold any). */
const asciiJson = (v: unknown) => toJson(v).replace(/[^\x20-\x7e]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);

const rawNum = fc.constantFrom('1e999', '-1e999', '1e-999', '-0', '1.0', '1e300', '9007199254740993', '123456789012345678901234567890', '-9007199254740993').map((s) => new Raw(s));
const SPECIAL_NUMS = [0, -1, 0.5, -0.5, 1.5, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, 1e21];
const SPECIAL_STRINGS = ['NaN', 'Infinity', '-Infinity', '1e999', '', ' ', '0', '-1', '1.5', 'null', 'true', '[]', '{}', '\u0000', '../../etc/passwd', '%2e%2e%2f', '<script>', 'é', '\ud800'];
const junkScalar: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(), fc.double(), fc.constantFrom(...SPECIAL_NUMS), fc.constantFrom(...SPECIAL_STRINGS), fc.string({ maxLength: 12 }),
  fc.string({ unit: 'grapheme', maxLength: 6 }), fc.boolean(), fc.constant(null), rawNum,
);
const jsonKey = fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('__proto__', 'constructor', 'prototype', 'name', 'inputs', 'data', 'round'));
const { junk } = fc.letrec<{ junk: unknown }>((tie) => ({
  junk: fc.oneof({ depthSize: 'small', maxDepth: 3 },
    junkScalar,
    fc.array(tie('junk'), { maxLength: 4 }),
    fc.array(fc.tuple(jsonKey, tie('junk')), { maxLength: 4 }).map((e) => new Obj(e))),
}));
/** `a` with probability p, else undefined (a field left out). */
const present = <T>(a: fc.Arbitrary<T>, p: number) => fc.oneof({ weight: Math.round(100 * p), arbitrary: a }, { weight: Math.round(100 * (1 - p)), arbitrary: fc.constant(undefined) });
const deepJson = fc.integer({ min: 1_000, max: 300_000 }).map((d) => new Raw('['.repeat(d) + ']'.repeat(d)));
/** A JSON body: junk, deep nesting, prototype-pollution keys, truncated or oversized text, or not JSON at all. */
const junkBody: fc.Arbitrary<string | Buffer> = fc.oneof(
  { weight: 4, arbitrary: junk.map(toJson) },
  { weight: 1, arbitrary: deepJson.map(toJson) },
  { weight: 1, arbitrary: fc.constantFrom('{"__proto__":{"polluted":1},"name":"x"}', '{"constructor":{"prototype":{"polluted":1}}}', '{"a":1,"a":2}') },
  { weight: 1, arbitrary: fc.tuple(junk.map(toJson), fc.nat()).map(([s, k]) => s.slice(0, k % (s.length + 1))) },
  { weight: 1, arbitrary: fc.integer({ min: JSON_LIMIT, max: 3 * JSON_LIMIT }).map((k) => `{"name":"${'x'.repeat(k)}"}`) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 256 }).map((b) => Buffer.from(b)) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', 'null', 'NaN', '{', '}', '\u0000', '\ufeff{}') },
);
const printable = (maxLength: number) => fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength });
const contentType = fc.oneof(
  fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/octet-stream', 'APPLICATION/JSON',
    'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', 'application/jsonx', 'image/png', 'a/b/c', ';', '*/*', ''),
  printable(40),
);
/** Content types no parser of the admin routes accepts (so a POST with a body never reaches a handler). */
const unparsedContentType = fc.constantFrom('application/x-fuzz', 'image/png', 'application/xml', 'video/mp4', 'application/x-www-form-urlencoded');

// Path parameters: traversal in its encodings, absolute paths, NUL bytes, over-long and badly encoded values.
const TRAVERSAL = ['../', '..%2f', '..%2F', '%2e%2e%2f', '%2E%2E%2F', '%2e%2e/', '..%5c', '%2e%2e%5c', '....//', '..%252f', '%252e%252e%252f', '%c0%ae%c0%ae%2f', '..%c0%af', '.%2e/', '%2f', '%5c'];
const TARGETS = ['config.json', 'clients.json', 'server.lock', 'canary.txt', 'checkpoint.safetensors', 'etc/passwd', 'artifacts/manifest.json', 'models/v0.onnx', 'models/v0.params'];
const SUFFIXES = ['', '%00', '%00.json', '%00.onnx', '.onnx', '%20', '#x', '?x=1'];
const hostileParam: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: fc.tuple(fc.constantFrom('', 'a', '.', 'manifest.json', 'mlp'), fc.array(fc.constantFrom(...TRAVERSAL), { minLength: 1, maxLength: 5 }), fc.constantFrom(...TARGETS), fc.constantFrom(...SUFFIXES)).map(([p, ups, x, s]) => p + ups.join('') + x + s) },
  { weight: 2, arbitrary: fc.constantFrom('%2Fetc%2Fpasswd', enc(path.join(state, 'canary.txt')), enc(path.join(state, 'clients.json')), '%2F..%2F..%2Fetc%2Fpasswd', 'C:%5CWindows%5Cwin.ini', '%5C%5Cserver%5Cshare', 'file:%2F%2F%2Fetc%2Fpasswd') },
  { weight: 2, arbitrary: fc.constantFrom('%00', 'manifest.json%00', '%00manifest.json', 'a%0Ab', 'a%0D%0Ab', '%E0%A4%A', '%zz', '%', '%%32%65', '.', '..', '...', '%2e', '%2e%2e') },
  { weight: 1, arbitrary: fc.integer({ min: 90, max: 400 }).map((k) => 'a'.repeat(k)) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }).map((s) => `${enc(s)}%2f..`) },
);
/** A percent-encoded random name (not hostile by itself). */
const randomParam = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 16 }).map(enc);
const param = (valid: readonly string[]) => fc.oneof(
  { weight: 3, arbitrary: hostileParam.map((p) => ({ p, hostile: true })) },
  { weight: 1, arbitrary: randomParam.map((p) => ({ p, hostile: true })) },
  { weight: 2, arbitrary: fc.constantFrom(...valid).map((p) => ({ p, hostile: false })) },
);

const qValue: fc.Arbitrary<string> = fc.oneof(
  junkScalar.map((v) => (v instanceof Raw ? v.text : typeof v === 'string' ? v : String(JSON.stringify(v)))),
  fc.constantFrom('NaN', 'Infinity', '-Infinity', '1e999', '-1', '0.5', '0x1f', '1e3', '', ' 1', '1 ', '+1', '00', '9'.repeat(400), '[]', '{}', '%'),
  fc.nat({ max: 5 }).map(String),
);
/** A query string: known and unknown keys, repeated keys, junk values, or badly encoded. */
const query = (keys: readonly string[], valid: readonly string[] = []) => fc.oneof(
  { weight: 6, arbitrary: fc.array(fc.tuple(fc.constantFrom(...keys, 'x', '__proto__', 'constructor', 'toString', ''), qValue), { maxLength: 4 }).map((pairs) => (pairs.length ? `?${pairs.map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&')}` : '')) },
  { weight: 1, arbitrary: fc.constantFrom('?%', '?%zz=1', '?&&&', '?=', '?a[b]=1', '?timeout[]=1', `?${'x=1&'.repeat(300)}`, '?version=1&version=2', '?%00=%00') },
  ...(valid.length ? [{ weight: 3, arbitrary: fc.constantFrom(...valid) }] : []),
);

const RANGES = ['bytes=0-', 'bytes=0-0', 'bytes=-1', 'bytes=-0', 'bytes=5-3', 'bytes=0-0,5-6', 'items=0-5', 'bytes=', 'bytes=--', ' bytes = 1-2', 'bytes=-', `bytes=${'9'.repeat(400)}-`, `bytes=0-${'9'.repeat(400)}`, `bytes=-${'9'.repeat(400)}`, 'bytes=1e3-', 'bytes=0x10-', 'bytes=-1-2', 'bytes=18446744073709551616-', 'bytes=100-200'];
const range = fc.oneof(fc.constantFrom(...RANGES), fc.tuple(fc.nat(), fc.nat()).map(([a, b]) => `bytes=${a}-${b}`), fc.nat().map((a) => `bytes=${a}-`), fc.nat().map((a) => `bytes=-${a}`), printable(30));
/** Conditional and range headers of a binary download (any subset). */
const downloadHeaders = fc.record({
  range, 'if-range': fc.oneof(printable(20), fc.constant('"v0"')), 'if-none-match': fc.oneof(printable(20), fc.constantFrom('*', '"v0"', 'W/"v0"', '"nope", *')),
}, { requiredKeys: [] });
const extraHeaders = fc.record({
  origin: fc.constantFrom('http://app.example', 'http://evil.example', 'null', ''), 'x-forwarded-for': printable(20), 'accept-encoding': fc.constantFrom('gzip', 'br', 'identity', '*'),
  'content-length-x': fc.nat().map(String), 'x-fedman-client-key': printable(40), accept: printable(20),
}, { requiredKeys: [] });

// Tokens.
type Scope = 'client' | 'inference' | 'admin';
type AuthKind = 'right' | 'rightVariant' | 'admin' | 'none' | 'garbage' | 'malformed' | 'huge' | 'wrongScope';
const TOKEN_OF: Record<Scope, string> = TOKENS;
const auth = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom<AuthKind>('right', 'right', 'admin', 'rightVariant') },
  { weight: 2, arbitrary: fc.constantFrom<AuthKind>('none', 'garbage', 'malformed', 'huge', 'wrongScope') },
);
function authHeaders(kind: AuthKind, scope: Scope): Record<string, string> {
  switch (kind) {
    case 'right': return { authorization: `Bearer ${TOKEN_OF[scope]}` };
    case 'rightVariant': return { authorization: `bearer   ${TOKEN_OF[scope]}  ` };
    case 'admin': return ADMIN;
    case 'none': return {};
    case 'garbage': return { authorization: `Bearer ${TOKEN_OF[scope]}x` };
    case 'malformed': return { authorization: `Basic ${Buffer.from(`u:${TOKEN_OF[scope]}`).toString('base64')}` };
    case 'huge': return { authorization: `Bearer ${'A'.repeat(20_000)}` };
    case 'wrongScope': return { authorization: `Bearer ${scope === 'client' ? TOKENS.inference : TOKENS.client}` };
  }
}
/** Statuses an auth failure must produce (undefined: the token is good). Routing errors of hostile paths come first. */
function authExpect(kind: AuthKind, hostile: boolean): number[] | undefined {
  const routing = hostile ? [400, 404, 414] : [];
  if (kind === 'none' || kind === 'garbage' || kind === 'malformed' || kind === 'huge') return [401, ...routing];
  if (kind === 'wrongScope') return [403, ...routing];
  return undefined;
}
/** The expectation of a request: the auth failure's statuses, else the route's own (plus routing errors). */
function expectFor(kind: AuthKind, hostile: boolean, ok: readonly number[] | undefined): number[] | undefined {
  return authExpect(kind, hostile) ?? (ok ? [...ok, ...(hostile ? [400, 404, 414] : [])] : undefined);
}

const artifactNames = fed.federation.artifacts.files.map((f) => f.name);

// --- families ---------------------------------------------------------------------------------------------------

t.test('POST /v1/join: junk bodies, names, keys and indexes', async (tt) => {
  const name = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...NAMES) }, { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9._:@-]{1,20}$/) },
    { weight: 1, arbitrary: junk }, { weight: 1, arbitrary: fc.constantFrom('', 'a b', 'x'.repeat(129), '../alice', 'alice\u0000', ['alice'], 'ALICE') });
  // The right key now and then: a rejoin (200) must not change anything either.
  const key = fc.oneof({ weight: 1, arbitrary: fc.constantFrom(...KEYS) }, { weight: 3, arbitrary: fc.constantFrom(...KEYS.map((k) => `${k}!`), 'short', 'x'.repeat(257), KEYS[0]!.toUpperCase()) },
    { weight: 1, arbitrary: junk }, { weight: 1, arbitrary: printable(30) });
  const body = fc.oneof(
    { weight: 4, arbitrary: fc.record({ name: present(name, 0.9), key: present(key, 0.6), clientIndex: present(fc.oneof(junk, fc.integer({ min: -3, max: 5 }), rawNum), 0.3), extra: present(junk, 0.15) }).map((b) => toJson(b)) },
    { weight: 2, arbitrary: junkBody },
  );
  await family(tt, 'join', fc.record({ auth, body, ct: fc.oneof({ weight: 4, arbitrary: fc.constant('application/json') }, { weight: 1, arbitrary: contentType }), extra: extraHeaders }),
    (d) => ({
      method: 'POST', url: '/v1/join', headers: { ...d.extra, ...authHeaders(d.auth, 'client'), 'content-type': d.ct }, payload: d.body,
      expect: expectFor(d.auth, false, [200, 400, 403, 409, 413, 415]),
      check: (res) => { if (res.statusCode === 200 && res.json().rejoined !== true) throw new Error('a hostile join registered a client'); },
    }), runs(400));
});

t.test('POST /v1/task: junk client ids, sample counts, timeouts and keys', async (tt) => {
  const clientId = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(0, 1, 2) }, { weight: 1, arbitrary: junk }, { weight: 1, arbitrary: fc.constantFrom(-1, 0.5, 3, 2 ** 53, 1e300, '0', [1]) }, { weight: 1, arbitrary: rawNum });
  const body = fc.oneof(
    { weight: 4, arbitrary: fc.record({ clientId: present(clientId, 0.9), numSamples: present(fc.oneof(junk, fc.nat(), rawNum), 0.4), extra: present(junk, 0.15) }).map((b) => toJson(b)) },
    { weight: 1, arbitrary: junkBody },
  );
  const key = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...KEYS) }, { weight: 1, arbitrary: fc.constantFrom('', ...KEYS.map((k) => k.slice(1))) }, { weight: 1, arbitrary: printable(30) }, { weight: 1, arbitrary: fc.constant(undefined) });
  await family(tt, 'task', fc.record({ auth, body, key, q: query(['timeout'], ['', '?timeout=0', '?timeout=0.01']), ct: fc.oneof({ weight: 4, arbitrary: fc.constant('application/json') }, { weight: 1, arbitrary: contentType }) }),
    (d) => ({
      method: 'POST', url: `/v1/task${d.q}`, payload: d.body,
      headers: { ...authHeaders(d.auth, 'client'), 'content-type': d.ct, ...(d.key !== undefined ? { 'x-fedman-client-key': d.key } : {}) },
      expect: expectFor(d.auth, false, [200, 400, 403, 404, 413, 415]),
      check: (res) => { if (res.statusCode === 200 && !['train', 'wait'].includes(res.json().type)) throw new Error(`task ${res.body}`); },
    }), runs(250));
});

t.test('GET /v1/artifacts[/:file]: traversal, ranges, validators', async (tt) => {
  await family(tt, 'artifacts', fc.record({ auth, file: fc.option(param(artifactNames), { nil: undefined }), q: query(['x']), h: downloadHeaders, method: fc.constantFrom('GET', 'GET', 'HEAD') }),
    (d) => {
      const hostile = d.file?.hostile ?? false;
      return {
        method: d.method, url: `/v1/artifacts${d.file ? `/${d.file.p}` : ''}${d.q}`, headers: { ...d.h, ...authHeaders(d.auth, 'client') }, hostilePath: hostile,
        expect: expectFor(d.auth, hostile, d.file ? [200, 206, 304, 400, 404, 414, 416] : [200, 400]),
        check: (res) => {
          if (res.statusCode !== 200 || !d.file || d.method === 'HEAD') return;
          const f = fed.federation.artifacts.files.find((x) => `/v1/artifacts/${x.name}` === new URL(`http://x/v1/artifacts/${d.file!.p}`).pathname);
          if (!f || sha256hex(res.rawPayload) !== f.sha256) throw new Error('artifact bytes do not match the listed checksum');
        },
      };
    }, runs(300));
});

t.test('GET /v1/params: junk versions, ranges, validators', async (tt) => {
  await family(tt, 'params', fc.record({ auth, q: query(['version'], ['', '?version=0', '?version=1']), h: downloadHeaders, method: fc.constantFrom('GET', 'GET', 'HEAD') }),
    (d) => ({
      method: d.method, url: `/v1/params${d.q}`, headers: { ...d.h, ...authHeaders(d.auth, 'client') },
      expect: expectFor(d.auth, false, [200, 206, 304, 400, 404, 416]),
      check: (res) => { if (res.statusCode === 200 && d.method === 'GET' && res.rawPayload.length !== 4 * n) throw new Error(`params: ${res.rawPayload.length} bytes`); },
    }), runs(250));
});

t.test('GET /v1/client-inputs/:kind and /v1/client-data: traversal, junk ids, keys', async (tt) => {
  const key = fc.oneof(fc.constantFrom(...KEYS), printable(30), fc.constant(undefined));
  const q = query(['clientId', 'round', 'attempt'], ['?clientId=0&round=1', '?clientId=1&round=1&attempt=0', '?clientId=2&round=1', '?clientId=0&round=2', '?clientId=1&round=1&attempt=1']);
  await family(tt, 'client-inputs', fc.record({ auth, kind: param(['anchor', 'correction', 'h', 'dual']), q, key, h: downloadHeaders }),
    (d) => ({
      method: 'GET', url: `/v1/client-inputs/${d.kind.p}${d.q}`, headers: { ...d.h, ...authHeaders(d.auth, 'client'), ...(d.key !== undefined ? { 'x-fedman-client-key': d.key } : {}) },
      hostilePath: d.kind.hostile, expect: expectFor(d.auth, d.kind.hostile, [200, 206, 304, 400, 403, 404, 409, 416]),
    }), runs(200));
  await family(tt, 'client-data', fc.record({ auth, q: query(['clientId'], ['?clientId=0', '?clientId=1', '?clientId=3']), key, h: downloadHeaders }),
    (d) => ({
      method: 'GET', url: `/v1/client-data${d.q}`, headers: { ...d.h, ...authHeaders(d.auth, 'client'), ...(d.key !== undefined ? { 'x-fedman-client-key': d.key } : {}) },
      expect: expectFor(d.auth, false, [400, 403, 404]),
    }), runs(150));
});

// --- uploads ----------------------------------------------------------------------------------------------------

interface World {
  round: number; attempt: number; participants: number[];
  /** uploadId of each accepted update of the round in progress. */
  accepted: Map<number, string>;
  /** Completed rounds: attempt and uploadIds. */
  past: Map<number, { attempt: number; uploads: Record<string, string> }>;
}
function world(): World {
  const s = fed.federation.status();
  return {
    round: s.round!.round, attempt: s.round!.attempt, participants: s.round!.participants,
    accepted: new Map(s.round!.accepted.map((c) => [c, legit.get(c)!.uploadId])),
    past: new Map(s.history.map((r) => [r.round, { attempt: r.attempt, uploads: r.uploads }])),
  };
}

/** Non-finite float32 bit patterns: quiet and signalling NaNs of both signs, ±Infinity. */
const NON_FINITE = [0x7fc00000, 0xffc00000, 0x7f800001, 0xff800001, 0x7fffffff, 0xffffffff, 0x7f800000, 0xff800000];
type BodySpec =
  | { k: 'valid' }
  | { k: 'truncated'; len: number }
  | { k: 'oversized'; extra: number }
  | { k: 'nonFinite'; index: number; bits: number }
  | { k: 'random'; seed: number; nonFinite: boolean }
  | { k: 'text'; text: string };
type Mut =
  | { k: 'auth'; auth: AuthKind }
  | { k: 'key'; key: 'missing' | 'wrong' | 'other' | 'empty' }
  | { k: 'metaRaw'; raw: string }
  | { k: 'metaField'; field: string; value: unknown }
  | { k: 'metaDrop'; field: string }
  | { k: 'round'; delta: number }
  | { k: 'attempt'; attempt: number }
  | { k: 'client'; who: 'nonParticipant' | 'uploaded' | 'unknown'; id: number }
  | { k: 'body'; body: BodySpec }
  | { k: 'ct'; ct: string }
  | { k: 'neutral'; headers: Record<string, string>; meta: Record<string, unknown> };

const INT_JUNK = [-1, 0.5, -0.5, '1', '0', 'NaN', 'Infinity', null, true, [], {}, [1], new Raw('1e999'), new Raw('-1e999'), new Raw('1e300'), 2 ** 53, 2 ** 60, Number.MAX_VALUE];
const metaFieldJunk: fc.Arbitrary<{ field: string; value: unknown }> = fc.oneof(
  fc.tuple(fc.constantFrom('round', 'attempt', 'clientId', 'numSamples', 'steps', 'samples'), fc.constantFrom(...INT_JUNK)).map(([field, value]) => ({ field, value })),
  fc.constantFrom<unknown>('', 'a b', 'x'.repeat(129), '../x', 'a/b', 'é', '\u0000', 5, null, [], 'u%2f').map((value) => ({ field: 'uploadId', value })),
  fc.constantFrom<unknown>('str', [], 1, null, { loss: 'NaN' }, { loss: new Raw('1e999') }, { ce: new Raw('-1e999') }, { accuracy: 'x' }, { extra: 1 }, { man: null })
    .map((value) => ({ field: 'metrics', value })),
  fc.constantFrom<unknown>(-1, 'NaN', new Raw('1e999'), null, '0', -0.001).map((value) => ({ field: 'seconds', value })),
  fc.tuple(fc.constantFrom('colour', 'params', '__proto__', 'constructor', 'Round', 'client_id'), junk).map(([field, value]) => ({ field, value })),
);
const mutation: fc.Arbitrary<Mut> = fc.oneof(
  fc.constantFrom<AuthKind>('none', 'garbage', 'malformed', 'huge', 'wrongScope').map((a) => ({ k: 'auth' as const, auth: a })),
  fc.constantFrom('missing', 'wrong', 'other', 'empty').map((key) => ({ k: 'key' as const, key: key as 'missing' })),
  fc.oneof(fc.constantFrom('', '{', '{round:1}', 'null', '[]', '1', '"x"', '{"round":1,', 'NaN', '{"round":NaN}', '{"round":Infinity}', `{"round":1,"clientId":1,"uploadId":"x","numSamples":${'1'.repeat(9000)}}`),
    printable(60), junk.filter((j) => !(j instanceof Obj)).map(asciiJson)).map((raw) => ({ k: 'metaRaw' as const, raw })),
  metaFieldJunk.map((f) => ({ k: 'metaField' as const, ...f })),
  fc.constantFrom('round', 'clientId', 'uploadId', 'numSamples').map((field) => ({ k: 'metaDrop' as const, field })),
  fc.oneof(fc.integer({ min: 1, max: 5 }), fc.constantFrom(-1, 1000, 2 ** 31)).map((delta) => ({ k: 'round' as const, delta })),
  fc.oneof(fc.integer({ min: 1, max: 3 }), fc.constant(2 ** 31)).map((attempt) => ({ k: 'attempt' as const, attempt })),
  fc.oneof(fc.constantFrom('nonParticipant', 'uploaded'), fc.constant('unknown')).chain((who) => fc.integer({ min: 3, max: 1000 }).map((id) => ({ k: 'client' as const, who: who as 'unknown', id }))),
  fc.oneof(
    fc.integer({ min: 0, max: 4 * n - 1 }).map((len) => ({ k: 'truncated' as const, len })),
    fc.constantFrom(0, 1, 4 * n - 1, 4 * n - 4, 4 * n - 5).map((len) => ({ k: 'truncated' as const, len })),
    fc.oneof(fc.integer({ min: 1, max: 8 }), fc.constant(4 * n)).map((extra) => ({ k: 'oversized' as const, extra })),
    fc.tuple(fc.oneof(fc.integer({ min: 0, max: n - 1 }), fc.constantFrom(0, n - 1)), fc.constantFrom(...NON_FINITE)).map(([index, bits]) => ({ k: 'nonFinite' as const, index, bits })),
    fc.integer().map((seed) => ({ k: 'random' as const, seed, nonFinite: true })),
    fc.oneof(printable(40), junk.map(toJson)).map((text) => ({ k: 'text' as const, text })),
  ).map((body) => ({ k: 'body' as const, body: body as BodySpec })),
  contentType.map((ct) => ({ k: 'ct' as const, ct })),
);
const neutral: fc.Arbitrary<Mut> = fc.record({
  headers: fc.oneof(downloadHeaders, extraHeaders.map(({ 'x-fedman-client-key': _k, ...h }) => h)),
  meta: fc.record({ steps: fc.nat(), samples: fc.nat(), seconds: fc.double({ min: 0, max: 1e6, noNaN: true }), metrics: fc.record({ loss: fc.double({ min: -10, max: 10, noNaN: true }), accuracy: fc.double({ min: 0, max: 1, noNaN: true }) }, { requiredKeys: [] }) }, { requiredKeys: [] }),
}).map((x) => ({ k: 'neutral' as const, ...x }));

/** Statuses each flaw leads to (the first flaw the server checks decides, so any of the union). */
function mutStatuses(m: Mut): number[] {
  switch (m.k) {
    case 'auth': return m.auth === 'wrongScope' ? [403] : [401];
    case 'key': return [403];
    case 'metaRaw': case 'metaField': case 'metaDrop': return [400];
    case 'round': return [400, 409];
    case 'attempt': return [409];
    case 'client': return []; // decided in buildUpload (a fallback when there is no such client)
    case 'body': return m.body.k === 'oversized' ? [413] : m.body.k === 'text' ? [400, 413, 415] : [400];
    case 'ct': return [400, 413, 415];
    case 'neutral': return [];
  }
}
const isOctet = (ct: string) => ct.split(';')[0]!.trim().toLowerCase() === 'application/octet-stream';
const fatal = (m: Mut) => m.k !== 'neutral' && !(m.k === 'ct' && isOctet(m.ct));

const bodyCache = new Map<number, Buffer>();
function legitBody(c: number): Buffer {
  let b = bodyCache.get(c);
  if (!b) { const p = fakeParams(v0, 100 + c); bodyCache.set(c, b = Buffer.from(p.buffer, p.byteOffset, p.byteLength)); }
  return b;
}
function buildBody(spec: BodySpec, c: number): Buffer | string {
  const base = legitBody(c);
  switch (spec.k) {
    case 'valid': return base;
    case 'truncated': return base.subarray(0, spec.len);
    case 'oversized': return Buffer.concat([base, Buffer.alloc(spec.extra, 1)]);
    case 'nonFinite': { const b = Buffer.from(base); b.writeUInt32LE(spec.bits >>> 0, 4 * spec.index); return b; }
    case 'random': {
      const b = Buffer.alloc(4 * n);
      let s = (spec.seed >>> 0) || 1;
      for (let i = 0; i < n; i++) {
        s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
        b.writeUInt32LE((s & 0x7f800000) === 0x7f800000 ? (s & 0xbfffffff) >>> 0 : s, 4 * i);
      }
      if (spec.nonFinite) b.writeUInt32LE(0x7fc00001, 4 * ((spec.seed >>> 0) % n));
      return b;
    }
    case 'text': return spec.text;
  }
}

type UploadCase = { mode: 'mutated' | 'replay' | 'pastReplay'; client: number; muts: Mut[] };
function uploadArb(w: World): fc.Arbitrary<UploadCase> {
  const pending = w.participants.filter((c) => !w.accepted.has(c));
  const base = pending.length ? pending : w.participants;
  const mutated = fc.record({
    mode: fc.constant('mutated' as const), client: fc.constantFrom(...base),
    muts: fc.tuple(fc.array(mutation, { minLength: 1, maxLength: 3 }), fc.array(neutral, { maxLength: 1 })).map(([a, b]) => [...a, ...b]),
  }).filter((u) => u.muts.some(fatal));
  const arbs: fc.Arbitrary<UploadCase>[] = [mutated, mutated, mutated];
  if (w.accepted.size) {
    arbs.push(fc.record({ mode: fc.constant('replay' as const), client: fc.constantFrom(...w.accepted.keys()), muts: fc.array(fc.oneof(mutation, neutral), { maxLength: 2 }) }));
  }
  const prev = w.past.get(w.round - 1);
  if (prev) {
    const pc = Object.keys(prev.uploads).map(Number);
    if (pc.length) arbs.push(fc.record({ mode: fc.constant('pastReplay' as const), client: fc.constantFrom(...pc), muts: fc.array(neutral, { maxLength: 1 }) }));
  }
  return fc.oneof(...arbs);
}
function buildUpload(u: UploadCase, w: World): Case {
  let client = u.client;
  const past = u.mode === 'pastReplay' ? w.past.get(w.round - 1)! : undefined;
  let uploadId = u.mode === 'replay' ? w.accepted.get(client)! : past ? past.uploads[String(client)]! : `fz-${client}-${cases}`;
  // Entries, not an object: a '__proto__' field must stay a field.
  const meta = new Map<string, unknown>([['round', past ? w.round - 1 : w.round], ['attempt', past ? past.attempt : w.attempt], ['clientId', client], ['uploadId', uploadId], ['numSamples', 50]]);
  const headers: Record<string, string> = { ...withKey(client), 'content-type': 'application/octet-stream' };
  let metaHeader: string | undefined;
  let body: Buffer | string = legitBody(client);
  const allowed = new Set<number>();
  // Neutral changes first: a flaw applied after them stays a flaw.
  for (const m of [...u.muts].sort((a, b) => Number(b.k === 'neutral') - Number(a.k === 'neutral'))) {
    for (const s of mutStatuses(m)) allowed.add(s);
    switch (m.k) {
      case 'auth': delete headers.authorization; Object.assign(headers, authHeaders(m.auth, 'client')); break;
      case 'key':
        if (m.key === 'missing') delete headers['x-fedman-client-key'];
        else headers['x-fedman-client-key'] = m.key === 'wrong' ? `${KEYS[client] ?? 'k'}x` : m.key === 'other' ? KEYS[(client + 1) % 3]! : '';
        break;
      case 'metaRaw': metaHeader = m.raw; break;
      case 'metaField': meta.set(m.field, m.value); break;
      case 'metaDrop': meta.delete(m.field); break;
      case 'round': meta.set('round', Math.max(0, w.round + m.delta)); break;
      case 'attempt': meta.set('attempt', w.attempt + m.attempt); break;
      case 'client': {
        const others = [0, 1, 2].filter((c) => !w.participants.includes(c));
        if (m.who === 'nonParticipant' && others.length) { client = others[m.id % others.length]!; allowed.add(409); }
        else if (m.who === 'uploaded' && w.accepted.size) { client = [...w.accepted.keys()][m.id % w.accepted.size]!; uploadId = `fz-again-${cases}`; allowed.add(409); }
        else { client = m.id; allowed.add(404); }
        meta.set('clientId', client).set('uploadId', uploadId);
        if (client < 3) headers['x-fedman-client-key'] = KEYS[client]!;
        break;
      }
      case 'body': body = buildBody(m.body, client); break;
      case 'ct': if (m.ct) headers['content-type'] = m.ct; else delete headers['content-type']; break;
      case 'neutral': Object.assign(headers, m.headers); for (const [k, v] of Object.entries(m.meta)) meta.set(k, v); break;
    }
  }
  headers['x-fedman-meta'] = metaHeader ?? asciiJson(new Obj([...meta]));
  const replay = u.mode !== 'mutated';
  // Content-type mutations can cancel out (JSON, then octet-stream again): a mutated upload must stay hostile.
  if (!replay && u.muts.every((m) => m.k === 'neutral' || m.k === 'ct') && isOctet(headers['content-type'] ?? '')) {
    headers['content-type'] = 'text/plain';
    allowed.add(415);
  }
  if (replay) allowed.add(200);
  return {
    method: 'POST', url: '/v1/update', headers, payload: body,
    expect: [...allowed],
    check: (res) => {
      if (res.statusCode === 200 && !(replay && res.json().duplicate === true)) throw new Error(`a hostile upload was accepted: ${res.body}`);
      if (replay && u.muts.every((m) => !fatal(m)) && res.statusCode !== 200 && !(res.statusCode === 415 && u.muts.some((m) => m.k === 'ct'))) {
        throw new Error(`a replay was refused: ${res.statusCode} ${res.body}`);
      }
    },
  };
}

t.test('POST /v1/update, round 1: hostile bodies, metadata, keys, clients, rounds, replays', async (tt) => {
  const w = world();
  tt.same([...w.accepted.keys()], [...legit.keys()]);
  await family(tt, 'update-r1', uploadArb(w), (u) => buildUpload(u, w), runs(600));
});

// --- admin, metrics -----------------------------------------------------------------------------------------------

t.test('admin routes: junk queries and ranges; mutations only without a valid token or with an unparsable body', async (tt) => {
  const get = fc.record({
    kind: fc.constant('get' as const), auth,
    url: fc.oneof(
      fc.constant('/v1/admin/status'), fc.constant('/v1/admin/models'),
      query(['version', 'format'], ['?version=0', '?format=params', '?version=0&format=params', '?format=onnx', '?version=9']).map((q) => `/v1/admin/model${q}`),
    ),
    h: downloadHeaders, method: fc.constantFrom('GET', 'HEAD'),
  });
  const noAuth = fc.constantFrom<AuthKind>('none', 'garbage', 'malformed', 'huge', 'wrongScope');
  const post = fc.oneof(
    fc.record({ kind: fc.constant('post' as const), auth: noAuth, path: fc.constantFrom('pause', 'resume', 'stop'), body: fc.option(junkBody, { nil: undefined }), ct: contentType }),
    fc.record({ kind: fc.constant('post' as const), auth: fc.constantFrom<AuthKind>('admin'), path: fc.constantFrom('pause', 'resume', 'stop'), body: fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => Buffer.from(b)), printable(30).map((s) => `x${s}`)), ct: unparsedContentType }),
    fc.record({ kind: fc.constant('post' as const), auth: fc.constantFrom<AuthKind>('admin'), path: fc.constantFrom('pause', 'resume', 'stop'), body: fc.constantFrom('{', '{"a":', 'nul', '[1,]', '{"__proto__":{"x":1}}'), ct: fc.constant('application/json') }),
  );
  await family(tt, 'admin', fc.oneof(get, post), (d) => {
    if (d.kind === 'get') {
      return { method: d.method, url: d.url, headers: { ...d.h, ...authHeaders(d.auth, 'admin') }, expect: expectFor(d.auth, false, [200, 206, 304, 400, 404, 416]) };
    }
    return {
      method: 'POST', url: `/v1/admin/${d.path}`, headers: { ...authHeaders(d.auth, 'admin'), ...(d.ct ? { 'content-type': d.ct } : {}) },
      ...(d.body !== undefined ? { payload: d.body } : {}),
      expect: authExpect(d.auth, false) ?? [400, 415],
    };
  }, runs(300));
  await family(tt, 'metrics', fc.record({ auth, method: fc.constantFrom('GET', 'HEAD'), q: query(['x']) }), (d) => ({
    method: d.method, url: `/metrics${d.q}`, headers: authHeaders(d.auth, 'admin'), expect: expectFor(d.auth, false, [200]),
  }), runs(60));
});

// --- Open Inference Protocol ----------------------------------------------------------------------------------

const MODEL = fed.models.latest()!.model;
t.test('/v2 metadata and readiness: junk model names and versions', async (tt) => {
  const name = param([MODEL]);
  const version = fc.oneof(param(['0', '1']), fc.constantFrom('-1', '00', '0x0', '1e0', '99999999999999999999', '0.0', ' 0').map((p) => ({ p: enc(p), hostile: false })));
  await family(tt, 'oip-metadata', fc.record({
    auth, name, version: fc.option(version, { nil: undefined }), tail: fc.constantFrom('', '/ready'), method: fc.constantFrom('GET', 'HEAD'), bare: fc.constantFrom(0, 0, 0, 1, 2, 3),
  }), (d) => {
    if (d.bare) {
      const url = ['', '/v2', '/v2/health/live', '/v2/health/ready'][d.bare]!;
      return { method: d.method, url, headers: authHeaders(d.auth, 'inference'), expect: [200] };
    }
    const hostile = d.name.hostile || (d.version?.hostile ?? false);
    return {
      method: d.method, url: `/v2/models/${d.name.p}${d.version ? `/versions/${d.version.p}` : ''}${d.tail}`, headers: authHeaders(d.auth, 'inference'),
      hostilePath: hostile, expect: expectFor(d.auth, hostile, [200, 400, 404]),
    };
  }, runs(250));
});

const DATATYPES = ['FP32', 'FP64', 'INT64', 'UINT64', 'INT32', 'UINT32', 'INT16', 'UINT16', 'INT8', 'UINT8', 'BOOL', 'FP16', 'BYTES', 'BF16'];
const ELEM = 784;
interface InferSpec {
  auth: AuthKind; url: string; binary: boolean; batch: number; contentType: string;
  inputs: 'one' | 'dup' | 'empty' | 'notArray' | 'missing' | 'extra' | 'notObject';
  name: unknown; datatype: unknown; shape: unknown; data: 'ok' | 'count' | 'junkElem' | 'nested' | 'overNested' | 'deep' | 'nanStrings' | 'notArray' | 'absent';
  junkElem: unknown; inputParams: unknown; top: Record<string, unknown>;
  header: 'exact' | 'absent' | 'short' | 'long' | 'junk' | 'beyond'; headerJunk: string; tailDelta: number; sizeDelta: number;
}
const inferArb: fc.Arbitrary<InferSpec> = fc.record({
  auth,
  url: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(`/v2/models/${MODEL}/infer`, `/v2/models/${MODEL}/versions/0/infer`) },
    { weight: 1, arbitrary: fc.constantFrom(`/v2/models/${MODEL}/versions/7/infer`, `/v2/models/${MODEL}/versions/-1/infer`, '/v2/models/other/infer', `/v2/models/${MODEL}/versions/..%2f..%2f0/infer`, `/v2/models/..%2f${MODEL}/infer`) }),
  binary: fc.boolean(),
  batch: fc.integer({ min: 0, max: 3 }),
  contentType: fc.oneof({ weight: 3, arbitrary: fc.constantFrom('application/json', 'application/octet-stream') }, { weight: 1, arbitrary: contentType }),
  inputs: fc.oneof({ weight: 6, arbitrary: fc.constant('one' as const) }, { weight: 1, arbitrary: fc.constantFrom<InferSpec['inputs']>('dup', 'empty', 'notArray', 'missing', 'extra', 'notObject') }),
  name: fc.oneof({ weight: 6, arbitrary: fc.constant('input') }, { weight: 1, arbitrary: junk }, { weight: 1, arbitrary: fc.constantFrom('logits', 'constructor', '__proto__', 'toString', '') }),
  datatype: fc.oneof({ weight: 5, arbitrary: fc.constant('FP32') }, { weight: 2, arbitrary: fc.constantFrom(...DATATYPES, 'fp32', 'constructor', 'toString', '__proto__', 'hasOwnProperty') }, { weight: 1, arbitrary: junk }),
  shape: fc.oneof({ weight: 5, arbitrary: fc.constant('ok') },
    { weight: 2, arbitrary: fc.constantFrom<unknown>([1, 784], [1, 1, 28], [-1, 1, 28, 28], [1, 1, 28, 28, 1], [], [1.5, 1, 28, 28], ['1', 1, 28, 28], [2 ** 31, 1, 28, 28], [1e308, 1, 28, 28], [2 ** 53 + 2, 1, 28, 28], [1, 1, 784, 1], null, 'x', [[1], 1, 28, 28], [new Raw('1e999'), 1, 28, 28]) },
    { weight: 1, arbitrary: junk }),
  data: fc.oneof({ weight: 8, arbitrary: fc.constant('ok' as const) }, { weight: 3, arbitrary: fc.constantFrom<InferSpec['data']>('count', 'junkElem', 'nested', 'overNested', 'deep', 'nanStrings', 'notArray', 'absent') }),
  junkElem: junk,
  inputParams: fc.oneof({ weight: 10, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: junk }, { weight: 1, arbitrary: fc.constantFrom<unknown>({ binary_data_size: -1 }, { binary_data_size: 1.5 }, { binary_data_size: '3136' }, { binary_data_size: 1e308 }, { binary_data_size: new Raw('1e999') }, { binary_data_size: 0 }) }),
  top: fc.oneof(
    { weight: 4, arbitrary: fc.constant({}) },
    { weight: 3, arbitrary: fc.record({
      id: fc.string({ maxLength: 10 }), parameters: fc.record({ binary_data_output: fc.boolean() }),
      outputs: fc.array(fc.record({ name: fc.constant('logits'), parameters: fc.record({ binary_data: fc.boolean() }) }, { requiredKeys: ['name'] }), { maxLength: 1 }),
    }, { requiredKeys: [] }) },
    { weight: 2, arbitrary: fc.record({
      id: fc.oneof(fc.string({ maxLength: 10 }), junk), parameters: fc.oneof(junk, fc.record({ binary_data_output: fc.oneof(fc.boolean(), junk) })),
      outputs: fc.oneof(junk, fc.array(fc.record({ name: fc.oneof(fc.constant('logits'), junk), parameters: fc.oneof(junk, fc.record({ binary_data: fc.oneof(fc.boolean(), junk) })) }, { requiredKeys: ['name'] }), { maxLength: 3 })),
    }, { requiredKeys: [] }) },
  ),
  header: fc.oneof({ weight: 4, arbitrary: fc.constant('exact' as const) }, { weight: 3, arbitrary: fc.constantFrom<InferSpec['header']>('absent', 'short', 'long', 'junk', 'beyond') }),
  headerJunk: fc.oneof(fc.constantFrom('-1', '1e3', ' 12 ', '0x10', '', 'NaN', '18446744073709551616', '1.5', '+5', '٣'), printable(12)),
  tailDelta: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -9, max: 9 }) }),
  sizeDelta: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -8, max: 8 }) }),
});
function buildInfer(s: InferSpec): Case {
  const shape = s.shape === 'ok' ? [s.batch, 1, 28, 28] : s.shape;
  const count = s.batch * ELEM;
  const values = Array.from({ length: count }, (_, i) => Math.sin(i) * 0.5 + 0.5);
  const input: Record<string, unknown> = { name: s.name, datatype: s.datatype, shape };
  const tails: Buffer[] = [];
  if (s.binary && s.data !== 'absent') {
    const bytes = Buffer.from(Float32Array.from(values).buffer);
    const size = bytes.length + s.sizeDelta;
    input.parameters = s.inputParams ?? { binary_data_size: Math.max(0, size) };
    tails.push(s.tailDelta >= 0 ? Buffer.concat([bytes, Buffer.alloc(s.tailDelta, 7)]) : bytes.subarray(0, Math.max(0, bytes.length + s.tailDelta)));
  } else {
    if (s.inputParams !== undefined) input.parameters = s.inputParams;
    switch (s.data) {
      case 'ok': input.data = values; break;
      case 'count': input.data = count ? values.slice(0, count - 1) : [0.5]; break;
      case 'junkElem': input.data = count ? values.map((v, i) => (i === count >> 1 ? s.junkElem : v)) : [s.junkElem]; break;
      case 'nested': input.data = Array.from({ length: s.batch }, (_, b) => [[values.slice(b * ELEM, (b + 1) * ELEM)]]); break;
      case 'overNested': input.data = [[[[[values]]]]]; break;
      case 'deep': input.data = new Raw(`${'['.repeat(50_000)}${']'.repeat(50_000)}`); break;
      case 'nanStrings': input.data = values.map((v, i) => (i % 3 === 0 ? ['NaN', 'Infinity', '-Infinity'][i % 9 / 3]! : v)); break;
      case 'notArray': input.data = s.junkElem; break;
      case 'absent': break;
    }
  }
  const inputs = s.inputs === 'one' ? [input] : s.inputs === 'dup' ? [input, input] : s.inputs === 'empty' ? [] : s.inputs === 'extra' ? [input, { ...input, name: 'extra' }]
    : s.inputs === 'notObject' ? [s.junkElem] : s.inputs === 'notArray' ? s.junkElem : undefined;
  const json = Buffer.from(toJson({ ...s.top, ...(inputs !== undefined ? { inputs } : {}) }));
  const headers: Record<string, string> = { ...authHeaders(s.auth, 'inference'), 'content-type': s.contentType };
  if (!s.contentType) delete headers['content-type'];
  const binaryBody = s.binary && tails.length > 0;
  if (binaryBody || s.header !== 'exact') {
    const h = { exact: String(json.length), absent: undefined, short: String(Math.max(0, json.length - 1 - (s.sizeDelta & 7))), long: String(json.length + 1 + (s.sizeDelta & 7)), junk: s.headerJunk, beyond: String(json.length + 10 ** 9) }[s.header];
    if (h !== undefined) headers['inference-header-content-length'] = h;
  }
  return {
    method: 'POST', url: s.url, headers, payload: Buffer.concat([json, ...tails]),
    expect: expectFor(s.auth, s.url.includes('..'), [200, 400, 404, 413, 415]),
    check: (res) => {
      if (res.statusCode !== 200) return;
      const hl = res.headers['inference-header-content-length'];
      const head = hl === undefined ? res.rawPayload : res.rawPayload.subarray(0, Number(hl));
      const out = JSON.parse(head.toString('utf8'));
      if (!Array.isArray(out.outputs)) throw new Error(`infer 200 without outputs: ${res.body.slice(0, 200)}`);
    },
  };
}

t.test('POST /v2/models/:name/infer: malformed JSON and binary requests', async (tt) => {
  await family(tt, 'oip-infer', inferArb, buildInfer, runs(600));
  await family(tt, 'oip-infer-bodies', fc.record({ auth, body: junkBody, ct: contentType, hl: fc.option(printable(12), { nil: undefined }) }), (d) => ({
    method: 'POST', url: `/v2/models/${MODEL}/infer`, payload: d.body,
    headers: { ...authHeaders(d.auth, 'inference'), ...(d.ct ? { 'content-type': d.ct } : {}), ...(d.hl !== undefined ? { 'inference-header-content-length': d.hl } : {}) },
    expect: expectFor(d.auth, false, [400, 413, 415]),
  }), runs(200));
  await resetBaseline();
  const big = await run('oip-infer-bodies', {
    method: 'POST', url: `/v2/models/${MODEL}/infer`, headers: { ...authHeaders('right', 'inference'), 'content-type': 'application/octet-stream' },
    payload: Buffer.alloc(64 * 1024 * 1024 + 1, 0x5b), expect: [413],
  });
  tt.match(big.json().error, /too large/, 'an inference body over 64 MiB: 413');
});

// --- pages ----------------------------------------------------------------------------------------------------

t.test('pages and browser bundles: traversal in /web/:file and /web/ort/:file', async (tt) => {
  const ORT_SMALL = ['ort.wasm.bundle.min.mjs', 'ort-wasm-simd-threaded.mjs'];
  await family(tt, 'web', fc.record({
    which: fc.constantFrom('page', 'web', 'ort', 'ort', 'wasm'),
    page: fc.constantFrom('/', '/dashboard', '/dashboard/', '/client', '/client/', '/dashboard//', '/client/index.html', '/dashboard/%2e%2e/'),
    // Valid bundle names are left out: building a bundle takes esbuild seconds.
    web: fc.oneof(hostileParam, randomParam, fc.constantFrom('x.js', 'nope.js.map', 'fedman.JS', 'client.js%00', '..%2fclient.js')).map((p) => ({ p, hostile: true })),
    ort: param(ORT_SMALL),
    h: downloadHeaders, auth, method: fc.constantFrom('GET', 'HEAD'),
  }), (d): Case => {
    const headers: Record<string, string> = { ...d.h, ...authHeaders(d.auth, 'client') };
    if (d.which === 'page') return { method: d.method, url: d.page, headers: {}, expect: [200, 302, 404] };
    // (3xx: '/web/..' is '/' once the URL is normalised, redirected to the dashboard.)
    if (d.which === 'web') return { method: d.method, url: `/web/${d.web.p}`, headers, hostilePath: true, expect: [302, 400, 404, 414] };
    if (d.which === 'wasm') return { method: d.method, url: '/web/ort/ort-wasm-simd-threaded.wasm', headers: { range: 'bytes=0-15' }, expect: [206] };
    return { method: d.method, url: `/web/ort/${d.ort.p}`, headers, hostilePath: d.ort.hostile, expect: d.ort.hostile ? [302, 400, 404, 414] : [200, 206, 304, 416] };
  }, runs(250));
});

// --- anything at all ------------------------------------------------------------------------------------------

t.test('chaos: random methods, routes, headers, bodies', async (tt) => {
  const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'SEARCH', 'PROPFIND'];
  const TEMPLATES = ['/', '/v1', '/v1/health', '/v1/join', '/v1/task', '/v1/artifacts', '/v1/artifacts/:p', '/v1/params', '/v1/client-inputs/:p', '/v1/client-data', '/v1/update',
    '/v1/admin/status', '/v1/admin/models', '/v1/admin/model', '/v1/admin/:p', '/metrics', '/v2', '/v2/health/:p', '/v2/models/:p', '/v2/models/:p/versions/:p/infer',
    '/v2/models/:p/infer', '/web/:p', '/web/ort/:p', '/dashboard/', '/client/', '/:p', '/v1/:p/:p', '//v1//join', '/v1/join/', '/V1/JOIN', '/v1/update;x', '/v1/update%00'];
  await family(tt, 'chaos', fc.record({
    method: fc.constantFrom(...METHODS), template: fc.constantFrom(...TEMPLATES), params: fc.array(fc.oneof(hostileParam, randomParam, fc.constantFrom('mlp', '0', 'pause', 'stop', 'manifest.json')), { minLength: 3, maxLength: 3 }),
    q: query(['version', 'timeout', 'clientId', 'round', 'format']), auth: fc.constantFrom<AuthKind>('right', 'none', 'garbage', 'wrongScope', 'malformed'),
    scope: fc.constantFrom<Scope>('client', 'inference'), body: fc.option(junkBody, { nil: undefined }), ct: fc.option(contentType, { nil: undefined }),
    extra: extraHeaders, meta: fc.option(fc.oneof(printable(80), junk.map(asciiJson)), { nil: undefined }),
    cors: fc.option(fc.record({ 'access-control-request-method': fc.constantFrom('POST', 'GET', 'DELETE', 'X'), 'access-control-request-headers': printable(30) }), { nil: undefined }),
  }), (d) => {
    let k = 0;
    const url = d.template.replace(/:p/g, () => d.params[k++]!) + d.q;
    const headers: Record<string, string> = { ...d.extra, ...d.cors, ...authHeaders(d.auth, d.scope), ...(d.ct ? { 'content-type': d.ct } : {}), ...(d.meta !== undefined ? { 'x-fedman-meta': d.meta } : {}) };
    // Neither token reaches the admin mutations; no random key matches a client's (all three registered one).
    return { method: d.method, url, headers, hostilePath: d.template.includes(':p'), ...(d.body !== undefined && !['GET', 'HEAD'].includes(d.method) ? { payload: d.body } : {}) };
  }, runs(700));
});

// --- the hostile updates were never aggregated; round 2 and replays of round 1 --------------------------------------

t.test('extreme but finite metadata cannot poison the aggregate', async (tt) => {
  await resetBaseline();
  const w = world();
  const c = w.participants.find((x) => !w.accepted.has(x));
  if (c === undefined) { tt.pass('every participant uploaded already'); return; }
  const huge = new Float32Array(n).fill(3e38);
  for (const [i, numSamples] of [1e300, 2 ** 53, Number.MAX_VALUE].entries()) {
    const r = await run('extreme', { method: 'POST', url: '/v1/update', headers: { ...withKey(c), 'content-type': 'application/octet-stream', 'x-fedman-meta': JSON.stringify({ round: w.round, clientId: c, uploadId: `huge-${i}`, numSamples }) }, payload: Buffer.from(huge.buffer), expect: [400] });
    tt.match(r.json().error, /numSamples/, `numSamples ${numSamples}: ${r.json().error}`);
  }
  for (const raw of ['{"round":1,"clientId":C,"uploadId":"inf","numSamples":1e999}', '{"round":1,"clientId":C,"uploadId":"inf","numSamples":5,"seconds":1e999}', '{"round":1,"clientId":C,"uploadId":"inf","numSamples":5,"steps":-1e999}']) {
    await run('extreme', { method: 'POST', url: '/v1/update', headers: { ...withKey(c), 'content-type': 'application/octet-stream', 'x-fedman-meta': raw.replace('C', String(c)) }, payload: legitBody(c), expect: [400] });
  }
});

t.test('round 1 completes with exactly the legitimate updates (bitwise weighted mean)', async (tt) => {
  const w = world();
  for (const c of w.participants.filter((x) => !w.accepted.has(x))) {
    const params = fakeParams(v0, 1 + c);
    const numSamples = 100 + 100 * c;
    const r = await upload(app, { round: 1, clientId: c, uploadId: `legit-r1-c${c}`, numSamples }, params, withKey(c));
    tt.equal(r.statusCode, 200, r.body);
    legit.set(c, { params, numSamples, uploadId: `legit-r1-c${c}` });
    acceptedTotal++;
  }
  const s = await pollUntil('round 1 aggregated', () => fed.federation.status(), (x) => x.completedRounds >= 1, { ms: 30_000 });
  tt.equal(s.completedRounds, 1);
  tt.equal(s.failure, null);
  tt.same(s.history[0]!.aggregated, [...legit.keys()].sort((a, b) => a - b));
  const v1 = f32((await app.inject({ method: 'GET', url: '/v1/params?version=1', headers: CLIENT })).rawPayload);
  const ids = [...legit.keys()].sort((a, b) => a - b);
  const total = ids.reduce((a, c) => a + legit.get(c)!.numSamples, 0);
  let mismatches = 0;
  for (let i = 0; i < n; i++) {
    let acc = 0;
    for (const c of ids) acc += legit.get(c)!.numSamples * legit.get(c)!.params[i]!;
    if (v1[i] !== Math.fround(acc / total)) mismatches++;
  }
  tt.equal(mismatches, 0, 'the global model is the weighted mean of the legitimate updates, bitwise: nothing hostile was aggregated');
  await pollUntil('round 2 started', () => fed.federation.status(), (x) => x.round?.round === 2, { ms: 30_000 });
  tt.equal(fed.federation.status().round?.round, 2, 'round 2 started');
});

t.test('POST /v1/update, round 2: late uploads, replays of round 1, hostile uploads', async (tt) => {
  const w = world();
  tt.equal(w.round, 2);
  await family(tt, 'update-r2', uploadArb(w), (u) => buildUpload(u, w), runs(250));
});

t.test('summary', async (tt) => {
  const h = await app.inject({ method: 'GET', url: '/v1/health' });
  tt.equal(h.statusCode, 200, 'the server still answers');
  tt.equal(unhandled.length, 0, 'no unhandled rejection or uncaught exception');
  tt.equal(fiveXX, 0, 'no 5xx');
  tt.equal(fed.federation.status().failure, null, 'the federation did not fail');
  if (frameworkBodies) tt.comment(`${frameworkBodies} 4xx bodies came from Fastify's router (bad URL encoding / over-long parameter): {error, code, message, statusCode}`);
  tt.comment(`fuzz: ${cases} cases, ${fiveXX} 5xx`);
  await record({
    scenario: 'hostile requests', fault: 'property-based requests against every route (fast-check): wrong types, missing fields, huge numbers, NaN/Inf, wrong sizes, truncated/oversized bodies, replays, other clients/rounds, path traversal',
    tried: cases, survived: fiveXX === 0 && unhandled.length === 0 ? cases : cases - fiveXX, lost: 0,
    notes: `0 state changes by rejected requests (state-directory hash, status, metrics checked per batch); ${fiveXX} 5xx; seed ${SEED}`,
  });
});
