/**
 * Heterogeneous fleets on the virtual clock, without training: availability windows and the on/off process, trace
 * validation (errors name the client and field), task times, the sync round clock and the async event schedule.
 */
import t from 'tap';
import path from 'node:path';
import { writeFile } from 'node:fs/promises';
import { Fleet, plannedSamples } from '../../src/sim/fleet/fleet.js';
import { RenewalAvailability, WindowAvailability } from '../../src/sim/fleet/availability.js';
import { parseTrace, readTrace } from '../../src/sim/fleet/trace.js';
import { planSyncRound } from '../../src/sim/fleet/sync-clock.js';
import { AsyncSchedule, type AsyncEvent } from '../../src/sim/fleet/async-schedule.js';
import { DEFAULT_FLEET, type FleetConfig } from '../../src/config/fleet.js';
import { mergeConfig } from '../../src/config/index.js';
import { sampleParticipants } from '../../src/fl/round/index.js';
import { Rng } from '../../src/util/rng.js';
import { tmpDir } from '../data/tmpdir.js';

const tmp = tmpDir(t, 'fedman-fleet-');

t.test('windows: [start, end), periodic repetition and windows that run across the period', async (t) => {
  const w = new WindowAvailability([[10, 20], [30, 40]]);
  t.equal(w.onlineAt(10), true);
  t.equal(w.onlineAt(20), false, 'end excluded');
  t.equal(w.windowEnd(15), 20);
  t.equal(w.nextOnline(25), 30);
  t.equal(w.nextOnline(45), Infinity, 'offline after the last window');
  const p = new WindowAvailability([[0, 5], [80, 100]], 100);
  t.equal(p.onlineAt(203), true);
  t.equal(p.windowEnd(190), 205, 'the window reaching the period continues into the next period');
  t.equal(p.nextOnline(150), 180);
  t.equal(new WindowAvailability([[0, 100]], 100).windowEnd(50), Infinity, 'always on');
});

t.test('the on/off process is offline the configured fraction of the time', async (t) => {
  let offline = 0, samples = 0;
  for (let c = 0; c < 200; c++) {
    const a = new RenewalAvailability(new Rng(7, c), 0.3, 100);
    for (let time = 0; time < 5000; time += 37) { samples++; if (!a.onlineAt(time)) offline++; }
  }
  const f = offline / samples;
  t.ok(Math.abs(f - 0.3) < 0.03, `offline fraction ${f.toFixed(3)} ≈ 0.3`);
  const a = new RenewalAvailability(new Rng(1), 0.5, 10);
  const on = a.nextOnline(3);
  t.ok(a.onlineAt(on) && a.windowEnd(on) > on, 'nextOnline lands in a window');
  a.onlineAt(1000);
  t.throws(() => a.onlineAt(0), /before windows already forgotten/, 'queries may not go back in time');
});

t.test('trace validation names the client and the field', async (t) => {
  const bad = {
    format: 'fedman-fleet-trace', period: 100,
    clients: [
      { id: 0, samplesPerSecond: -1 },
      { id: 1, online: [[0, 10], [5, 20]] },
      { id: 2, online: [[0, 150]] },
      { id: 1 },
      { id: 9 },
      { id: 3, speed: 4 },
      { id: 4, online: [[3, 3]] },
    ],
  };
  const err = (() => { try { parseTrace(bad, 5, "fleet trace 'x.json'"); } catch (e) { return (e as Error).message; } return ''; })();
  t.match(err, /^fleet trace 'x.json': /);
  t.match(err, /client 0: field 'samplesPerSecond' must be a positive number, got -1/);
  t.match(err, /client 1: field 'online\[1\]' starts at 5, before the previous window ends \(10\)/);
  t.match(err, /client 2: field 'online\[0\]' ends at 150, after the period \(100\)/);
  t.match(err, /client 1 appears twice/);
  t.match(err, /clients\[4\]: field 'id' must be a client id in 0\.\.4, got 9/);
  t.match(err, /client 3: unknown field 'speed'/);
  t.match(err, /client 4: field 'online\[0\]' must have 0 ≤ start < end/);
  t.throws(() => parseTrace({ clients: [] }, 2, 'trace'), /field 'format' must be "fedman-fleet-trace"/);
  const file = path.join(tmp, 'bad.json');
  await writeFile(file, '{ nope');
  await t.rejects(readTrace(file, 2), /fleet trace '.*bad\.json' is not valid JSON/);
  const good = path.join(tmp, 'good.json');
  await writeFile(good, JSON.stringify({ format: 'fedman-fleet-trace', clients: [{ id: 1, samplesPerSecond: 7, online: [[0, 10], [10, 20]] }] }));
  const tr = await readTrace(good, 2);
  t.same(tr.clients.get(1), { samplesPerSecond: 7, online: [[0, 20]] }, 'touching windows are joined');
  t.match(tr.sha256, /^[0-9a-f]{64}$/);
  const fleet = Fleet.create({ ...DEFAULT_FLEET, samplesPerSecond: 50 }, 2, 0, tr);
  t.equal(fleet.profiles[1]!.samplesPerSecond, 7, 'the trace wins');
  t.equal(fleet.profiles[0]!.samplesPerSecond, 50, 'the distribution fills in');
  t.equal(fleet.onlineAt(1, 25), false);
});

t.test('fleet config validation', async (t) => {
  t.throws(() => mergeConfig({ fleet: { samplesPerSecond: { kind: 'uniform', min: 5, max: 1 } } }), /field 'fleet.samplesPerSecond': min \(5\) exceeds max \(1\)/);
  t.throws(() => mergeConfig({ fleet: { availability: { offlineFraction: 1 } } }), /field 'fleet.availability.offlineFraction' must be < 1/);
  t.throws(() => mergeConfig({ fleet: { uplinkMbps: 0 } }), /field 'fleet.uplinkMbps' must be a positive number, \{"kind": "lognormal"/);
  t.same(mergeConfig({ fleet: { availability: { offlineFraction: 0.3 } } }).fleet!.availability, { offlineFraction: 0.3, cycleSeconds: 3600 });
});

t.test('task times and planned samples', async (t) => {
  t.equal(plannedSamples(120, 2, null, 50), 240);
  t.equal(plannedSamples(120, 2, 4, 50), 120 + 50, 'one epoch of 3 batches, then one more batch');
  t.equal(plannedSamples(120, 2, 2, 50), 100);
  t.equal(plannedSamples(0, 2, null, 50), 0);
  const f = Fleet.create({ ...DEFAULT_FLEET, samplesPerSecond: 100, downlinkMbps: 8, uplinkMbps: 2 }, 3, 0);
  t.equal(f.taskSeconds(0, 500, 1e6, 1e6), 1 + 5 + 4, '1 MB at 8 Mbit/s, 500 samples at 100/s, 1 MB at 2 Mbit/s');
  const lognormal = Fleet.create({ ...DEFAULT_FLEET, samplesPerSecond: { kind: 'lognormal', median: 100, sigma: 1 } }, 2000, 3);
  const speeds = lognormal.profiles.map((p) => p.samplesPerSecond).sort((a, b) => a - b);
  const median = speeds[1000]!;
  t.ok(median > 85 && median < 115, `median speed ${median.toFixed(1)} ≈ 100`);
  t.ok(speeds[1999]! / speeds[0]! > 100, 'a heavy spread');
  const few = Fleet.create({ ...DEFAULT_FLEET, samplesPerSecond: { kind: 'lognormal', median: 100, sigma: 1 } }, 5, 3);
  t.same(few.profiles.map((p) => p.samplesPerSecond), lognormal.profiles.slice(0, 5).map((p) => p.samplesPerSecond), 'a client\'s draws do not depend on how many clients there are');
});

const sizes = { samples: (c: number) => 100 + 10 * c, downBytes: 4e5, upBytes: 4e5 };

t.test('sync clock: with everyone online it samples exactly as without a fleet, and waits for the slowest', async (t) => {
  const f = Fleet.create({ ...DEFAULT_FLEET, samplesPerSecond: { kind: 'lognormal', median: 50, sigma: 0.8 } }, 20, 1);
  const a = new Rng(5), b = new Rng(5);
  const plan = planSyncRound(f, a, 0, { ...sizes, participation: 0.3, clientsPerRound: null, roundDeadline: null });
  t.same(plan.participants, sampleParticipants(b, 20, 0.3, null));
  t.same(plan.arrived, plan.participants);
  const slowest = Math.max(...plan.participants.map((c) => f.taskSeconds(c, sizes.samples(c), 4e5, 4e5)));
  t.equal(plan.end, slowest);
  const cut = planSyncRound(f, new Rng(5), 0, { ...sizes, participation: 0.3, clientsPerRound: null, roundDeadline: slowest / 2 });
  t.ok(cut.dropped.length > 0 && cut.end === slowest / 2, 'the deadline drops the stragglers');
  const off = Fleet.create({ ...DEFAULT_FLEET, availability: { offlineFraction: 0.5, cycleSeconds: 20 } }, 30, 2);
  const p = planSyncRound(off, new Rng(1), 100, { ...sizes, participation: 1, clientsPerRound: null, roundDeadline: null });
  t.ok(p.participants.every((c) => off.onlineAt(c, 100)), 'only online clients are sampled');
  t.ok(p.participants.length < 30 && p.dropped.length > 0, `${p.participants.length} online, ${p.dropped.length} went offline mid-round`);
});

function runSchedule(fleetCfg: FleetConfig, settings: { concurrency: number; bufferSize: number; maxStaleness: number | null }, versions: number, seed = 0) {
  const s = new AsyncSchedule(Fleet.create(fleetCfg, 40, seed), { ...sizes, ...settings }, seed);
  const events: AsyncEvent[] = [];
  let maxInFlight = 0;
  while (s.admission.version < versions) { events.push(s.next()); maxInFlight = Math.max(maxInFlight, s.inFlight().length + 1); }
  return { events, maxInFlight };
}

t.test('async schedule: time order, concurrency, staleness drops, deterministic', async (t) => {
  const fleetCfg: FleetConfig = { ...DEFAULT_FLEET, samplesPerSecond: { kind: 'lognormal', median: 50, sigma: 1 }, availability: { offlineFraction: 0.3, cycleSeconds: 60 } };
  const { events, maxInFlight } = runSchedule(fleetCfg, { concurrency: 8, bufferSize: 3, maxStaleness: 2 }, 20);
  t.ok(maxInFlight <= 8, `at most 8 clients training (${maxInFlight})`);
  for (let i = 1; i < events.length; i++) {
    const a = events[i - 1]!.task, b = events[i]!.task;
    if (!(a.at < b.at || (a.at === b.at && a.clientId < b.clientId))) { t.fail(`events ${i - 1}, ${i} out of order`); break; }
  }
  const arrivals = events.filter((e): e is Extract<AsyncEvent, { kind: 'arrival' }> => e.kind === 'arrival');
  t.ok(arrivals.some((e) => !e.accepted), 'some updates were too stale');
  t.ok(arrivals.every((e) => e.accepted === e.staleness <= 2), 'dropped exactly past maxStaleness');
  t.ok(events.some((e) => e.kind === 'offline'), 'some clients went offline mid-task');
  t.equal(arrivals.filter((e) => e.publishes).length, 20);
  t.equal(arrivals.filter((e) => e.accepted).length, 60, '3 accepted updates per version');
  t.ok(events.every((e) => e.task.at > e.task.launchAt), 'every task takes time');
  const again = runSchedule(fleetCfg, { concurrency: 8, bufferSize: 3, maxStaleness: 2 }, 20);
  t.same(again.events, events, 'same seed, same schedule');
  t.notSame(runSchedule(fleetCfg, { concurrency: 8, bufferSize: 3, maxStaleness: 2 }, 20, 1).events, events, 'another seed, another schedule');
});
