/**
 * Fleet trace files: measured or scripted per-client speeds, bandwidths and availability windows for `fleet.trace`.
 *
 *   { "format": "fedman-fleet-trace", "period": 86400,
 *     "clients": [ { "id": 0, "samplesPerSecond": 40, "downlinkMbps": 20, "uplinkMbps": 5, "online": [[0, 3600], [7200, 10800]] } ] }
 *
 * Every field of a client but `id` is optional: what a client lacks comes from the fleet's distributions, and a
 * client without `online` follows the fleet's availability model. Windows are [start, end) in seconds, sorted and
 * disjoint; with `period` (seconds, or null) they repeat every period and must lie within [0, period]; without
 * one a client is offline after its last window. Errors name the client and the field.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { FedmanError } from '../../util/errors.js';

export const TRACE_FORMAT = 'fedman-fleet-trace';

export interface TraceClient {
  samplesPerSecond?: number;
  downlinkMbps?: number;
  uplinkMbps?: number;
  online?: [number, number][];
}

export interface FleetTrace {
  period: number | null;
  clients: Map<number, TraceClient>;
  /** SHA-256 of the file's bytes (recorded in reports; a resumed run must see the same trace). */
  sha256: string;
}

const CLIENT_KEYS = new Set(['id', 'samplesPerSecond', 'downlinkMbps', 'uplinkMbps', 'online']);
const MAX_PROBLEMS = 20;

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const positive = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0;

/** Checks and reads a parsed trace for `numClients` clients; throws one FedmanError listing every problem. */
export function parseTrace(raw: unknown, numClients: number, where: string, sha256 = ''): FleetTrace {
  const problems: string[] = [];
  const add = (p: string) => { if (problems.length < MAX_PROBLEMS) problems.push(p); };
  const clients = new Map<number, TraceClient>();
  let period: number | null = null;
  if (!isObject(raw)) throw new FedmanError(`${where}: expected a JSON object`);
  for (const k of Object.keys(raw)) if (!['format', 'period', 'clients'].includes(k)) add(`unknown field '${k}'`);
  if (raw.format !== TRACE_FORMAT) add(`field 'format' must be "${TRACE_FORMAT}"`);
  if (raw.period !== undefined && raw.period !== null) {
    if (positive(raw.period)) period = raw.period; else add(`field 'period' must be a positive number of seconds or null`);
  }
  if (!Array.isArray(raw.clients)) add(`field 'clients' must be an array`);
  for (const [index, entry] of (Array.isArray(raw.clients) ? raw.clients : []).entries()) {
    if (!isObject(entry)) { add(`clients[${index}] must be an object`); continue; }
    const id = entry.id;
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= numClients) {
      add(`clients[${index}]: field 'id' must be a client id in 0..${numClients - 1}, got ${JSON.stringify(id)}`);
      continue;
    }
    const who = `client ${id}`;
    if (clients.has(id)) { add(`${who} appears twice`); continue; }
    const c: TraceClient = {};
    for (const k of Object.keys(entry)) if (!CLIENT_KEYS.has(k)) add(`${who}: unknown field '${k}'`);
    for (const k of ['samplesPerSecond', 'downlinkMbps', 'uplinkMbps'] as const) {
      if (entry[k] === undefined) continue;
      if (positive(entry[k])) c[k] = entry[k]; else add(`${who}: field '${k}' must be a positive number, got ${JSON.stringify(entry[k])}`);
    }
    if (entry.online !== undefined) {
      const w = checkWindows(entry.online, period, (p) => add(`${who}: field 'online${p}`));
      if (w) c.online = w;
    }
    clients.set(id, c);
  }
  if (problems.length) {
    const more = problems.length >= MAX_PROBLEMS ? ' (and possibly more)' : '';
    throw new FedmanError(`${where}: ${problems.join('; ')}${more}`);
  }
  return { period, clients, sha256 };
}

/** Sorted, disjoint [start, end) windows, each reported through `bad` ("[i]' …") when it is not. */
function checkWindows(v: unknown, period: number | null, bad: (p: string) => void): [number, number][] | null {
  if (!Array.isArray(v)) { bad(`' must be an array of [start, end] windows`); return null; }
  const out: [number, number][] = [];
  let ok = true;
  for (const [i, w] of v.entries()) {
    if (!Array.isArray(w) || w.length !== 2 || !w.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      bad(`[${i}]' must be [start, end] in seconds, got ${JSON.stringify(w)}`); ok = false; continue;
    }
    const [s, e] = w as [number, number];
    if (s < 0 || e <= s) { bad(`[${i}]' must have 0 ≤ start < end, got [${s}, ${e}]`); ok = false; continue; }
    if (period !== null && e > period) { bad(`[${i}]' ends at ${e}, after the period (${period})`); ok = false; continue; }
    const prev = out[out.length - 1];
    if (prev && s < prev[1]) { bad(`[${i}]' starts at ${s}, before the previous window ends (${prev[1]}); windows must be sorted and disjoint`); ok = false; continue; }
    if (prev && s === prev[1]) prev[1] = e; // touching windows are one
    else out.push([s, e]);
  }
  return ok ? out : null;
}

/** Reads and checks a trace file. */
export async function readTrace(file: string, numClients: number): Promise<FleetTrace> {
  let bytes: Buffer;
  try { bytes = await readFile(file); } catch (err) {
    throw new FedmanError(`fleet trace '${file}' cannot be read: ${(err as Error).message}`);
  }
  let raw: unknown;
  try { raw = JSON.parse(bytes.toString('utf8')); } catch (err) {
    throw new FedmanError(`fleet trace '${file}' is not valid JSON: ${(err as Error).message}`);
  }
  return parseTrace(raw, numClients, `fleet trace '${file}'`, createHash('sha256').update(bytes).digest('hex'));
}
