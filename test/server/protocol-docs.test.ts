/**
 * docs/protocol.md stays true: its endpoint table lists exactly the app's routes with their scopes, request parts,
 * request fields and response fields; its message tables list each protocol schema's fields with their types; its
 * config table names every server config field.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as protocol from '../../src/protocol/index.js';
import { buildApp, type RouteInfo } from '../../src/server/app.js';
import { withPages } from '../../src/web/pages.js';
import { validateServerConfig } from '../../src/config/index.js';
import { fieldNames, typeOf } from '../helpers/schema-doc.js';

const doc = readFileSync('docs/protocol.md', 'utf8');

/** The rows of the first table after `heading` (cells trimmed, `\|` kept as `|` inside cells). */
function tableAfter(heading: string): string[][] {
  const lines = doc.split('\n');
  const start = lines.findIndex((l) => l.trim() === heading);
  if (start < 0) throw new Error(`no heading '${heading}' in docs/protocol.md`);
  const rows: string[][] = [];
  let i = start + 1;
  while (i < lines.length && !lines[i]!.startsWith('|')) i++;
  for (; i < lines.length && lines[i]!.startsWith('|'); i++) {
    const cells = lines[i]!.replace(/\\\|/g, '\u0000').split('|').slice(1, -1).map((c) => c.replace(/\u0000/g, '|').trim());
    rows.push(cells);
  }
  return rows.slice(2);
}

const unquote = (s: string) => s.replace(/^`|`$/g, '');
/** `{a, b?, type: "train"}` → ['a', 'b?', 'type: "train"']. */
const fieldsIn = (group: string) => group.slice(1, -1).split(',').map((f) => f.trim()).filter(Boolean);
/** Every backticked `{…}` group of a cell. */
const groupsIn = (cell: string) => [...cell.matchAll(/`(\{[^`]*\})`/g)].map((m) => m[1]!);

const PART: Record<string, string> = { query: 'querystring', params: 'params', body: 'body', headers: 'headers' };

t.test('code fences pair up and the tables sit outside them', async (t) => {
  t.equal((doc.match(/^```/gm) ?? []).length % 2, 0, 'every fence is closed');
  for (const heading of ['## Configuration (`server.json`)', '## Endpoints', '## Messages']) {
    const before = doc.slice(0, doc.indexOf(`\n${heading}\n`));
    t.equal((before.match(/^```/gm) ?? []).length % 2, 0, `'${heading}' is outside any code block`);
  }
});

t.test('the endpoint table lists every route with its scope, request and response', async (t) => {
  const state = await mkdtemp(path.join(os.tmpdir(), 'fedman-docs-'));
  const fed = await buildApp({ extend: withPages(), config: validateServerConfig({ model: 'mlp', clients: 2, cors: { origins: ['*'] } }), stateDir: state });
  t.teardown(async () => { await fed.app.close(); await rm(state, { recursive: true, force: true }); });
  const rows = tableAfter('## Endpoints');
  const documented = new Map(rows.map((r) => [`${r[0]} ${unquote(r[1]!)}`, r]));
  const routes = new Map<string, RouteInfo>(fed.routes.map((r) => [`${r.method} ${r.url}`, r]));
  t.same([...documented.keys()].sort(), [...routes.keys()].sort(), 'the same routes');

  for (const [key, route] of routes) {
    const row = documented.get(key);
    if (!row) continue;
    const [, , scope, request, response] = row as [string, string, string, string, string];
    t.equal(scope, route.scope ?? '—', `${key}: scope`);
    const schema = (route.schema ?? {}) as Record<string, any>;
    // Request parts: `query {…}`, `params {…}`, `body {…}`, `headers {…}`.
    const parts = new Map([...request.matchAll(/\b(query|params|body|headers) `(\{[^`]*\})`/g)].map((m) => [PART[m[1]!]!, fieldsIn(m[2]!)]));
    const schemaParts = ['querystring', 'params', 'body', 'headers'].filter((p) => schema[p]);
    t.same([...parts.keys()].sort(), schemaParts.sort(), `${key}: request parts`);
    for (const p of schemaParts) {
      // Header names are what Node hands over; the docs spell them as sent.
      t.same(parts.get(p)?.map((f) => f.toLowerCase()), fieldNames(schema[p]).map((f) => f.toLowerCase()), `${key}: ${p} fields`);
    }
    // Response: an object's fields, or the branches of a union, or bytes / text / redirect.
    const ok = schema.response?.[200] as Record<string, any> | undefined;
    if (ok?.anyOf) {
      const branches = groupsIn(response).map(fieldsIn);
      t.equal(branches.length, ok.anyOf.length, `${key}: one documented object per branch`);
      (ok.anyOf as Record<string, any>[]).forEach((b, i) => {
        const names = Object.keys(b.properties).map((k) => (b.properties[k].const !== undefined ? `${k}: ${JSON.stringify(b.properties[k].const)}` : k));
        t.same(branches[i], names, `${key}: branch ${i}`);
      });
    } else if (ok?.properties) {
      t.same(fieldsIn(groupsIn(response)[0] ?? '{}'), Object.keys(ok.properties), `${key}: response fields`);
    } else if (ok?.type === 'string') {
      t.match(response, ok.description?.startsWith('raw bytes') ? /^bytes/ : /^text/, `${key}: ${ok.description?.startsWith('raw bytes') ? 'binary' : 'text'} response`);
    } else {
      t.equal(groupsIn(response).length, 0, `${key}: no object response documented for a route without one`);
    }
  }
});

t.test('each message table lists its schema\'s fields and types', async (t) => {
  const headings = [...doc.matchAll(/^#### `(\w+)`$/gm)].map((m) => m[1]!);
  t.ok(headings.length >= 15, `${headings.length} messages documented`);
  for (const name of headings) {
    const schema = (protocol as Record<string, unknown>)[name] as Record<string, any> | undefined;
    t.ok(schema?.properties, `${name} is a message of src/protocol`);
    if (!schema?.properties) continue;
    const rows = tableAfter(`#### \`${name}\``);
    t.same(rows.map((r) => unquote(r[0]!)), fieldNames(schema), `${name}: fields`);
    const types = Object.values(schema.properties as Record<string, any>).map(typeOf);
    t.same(rows.map((r) => r[1]), types, `${name}: types`);
  }
});

t.test('the config table names every server config field', async (t) => {
  const firstCells = tableAfter('## Configuration (`server.json`)').map((r) => r[0]!);
  for (const field of Object.keys(validateServerConfig({}))) {
    t.ok(firstCells.some((c) => [...c.matchAll(/`([^`]+)`/g)].some((m) => m[1] === field)), `field '${field}' documented`);
  }
});
