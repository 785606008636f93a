/**
 * The simulation config's `fleet` block: heterogeneous clients on a virtual clock. Each client has a compute speed
 * (training samples per second), a downlink and an uplink bandwidth (Mbit/s) and on/off availability, drawn from
 * seeded distributions or read from a trace file (src/sim/fleet/trace.ts), so that synchronous rounds and
 * asynchronous versions can be compared at equal simulated wall-clock time. null: no clock (today's simulation).
 */
import { Type, type Static } from 'typebox';
import { Nullable } from '../util/schema.js';

const positive = Type.Number({ exclusiveMinimum: 0 });

/** A per-client quantity: one value for every client, or a seeded distribution. */
function distribution(dflt: number) {
  return Type.Union([
    positive,
    Type.Object({ kind: Type.Literal('lognormal'), median: positive, sigma: Type.Number({ minimum: 0 }) }, { additionalProperties: false }),
    Type.Object({ kind: Type.Literal('uniform'), min: positive, max: positive }, { additionalProperties: false }),
  ], { default: dflt });
}
export type Distribution = Static<ReturnType<typeof distribution>>;

export const DISTRIBUTION_HINT = 'a positive number, {"kind": "lognormal", "median", "sigma"} or {"kind": "uniform", "min", "max"}';

/** An alternating on/off process per client: exponential periods, offline a fraction f of the time on average. */
const Availability = Type.Object({
  /** Long-run fraction of the time a client is offline (0.3: 30% of clients offline at any moment). */
  offlineFraction: Type.Number({ minimum: 0, exclusiveMaximum: 1 }),
  /** Mean length of one on + off cycle (seconds): on periods average (1 − f)·T, off periods f·T. */
  cycleSeconds: Type.Number({ exclusiveMinimum: 0, default: 3600 }),
}, { additionalProperties: false });

export const FleetConfig = Type.Object({
  /** Local training speed: samples per second. */
  samplesPerSecond: distribution(100),
  /** Model download bandwidth (Mbit/s). */
  downlinkMbps: distribution(20),
  /** Update upload bandwidth (Mbit/s). */
  uplinkMbps: distribution(5),
  /** On/off availability (null: always online). */
  availability: Nullable(Availability, { default: null }),
  /** A trace file (JSON) whose per-client values replace the distributions' (null: none). */
  trace: Nullable(Type.String({ minLength: 1 }), { default: null }),
  /** Sync rounds: aggregate what arrived within this many simulated seconds, dropping later uploads (null: wait for all). */
  roundDeadline: Nullable(positive, { default: null }),
}, { additionalProperties: false });
export type FleetConfig = Static<typeof FleetConfig>;

export const FleetConfigOrNull = Nullable(FleetConfig, { default: null });

export const FLEET_ANYOF_HINTS: Record<string, string> = {
  'fleet.samplesPerSecond': DISTRIBUTION_HINT, 'fleet.downlinkMbps': DISTRIBUTION_HINT, 'fleet.uplinkMbps': DISTRIBUTION_HINT,
};

/** Cross-field problems ajv cannot express (uniform bounds in order). */
export function fleetProblems(f: FleetConfig | null): string[] {
  if (!f) return [];
  const out: string[] = [];
  for (const key of ['samplesPerSecond', 'downlinkMbps', 'uplinkMbps'] as const) {
    const d = f[key];
    if (typeof d === 'object' && d.kind === 'uniform' && d.min > d.max) out.push(`field 'fleet.${key}': min (${d.min}) exceeds max (${d.max})`);
  }
  return out;
}

/** The fleet an asynchronous run without a `fleet` block runs on: every client equal and always online. */
export const DEFAULT_FLEET: Readonly<FleetConfig> = Object.freeze({
  samplesPerSecond: 100, downlinkMbps: 20, uplinkMbps: 5, availability: null, trace: null, roundDeadline: null,
});
