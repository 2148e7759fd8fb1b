import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CapacityTracker, ThermalStateMachine, capacityOptionsFromProfile, type CapacityOptions, type SensorReading } from '../../agent/capacity/index.js';
import { getProfile } from '../../sim/profiles.js';
import { createSimSensors } from '../../sim/sensors.js';

const PI4 = getProfile('pi4-bare');
const opts = (o: Partial<CapacityOptions> = {}): CapacityOptions => ({
  ...capacityOptionsFromProfile(PI4, { calibratedFuelRate: 1_000_000 }),
  ...o,
});
const reading = (r: Partial<SensorReading> = {}): SensorReading => ({
  at: 0, tempC: 45, load: 0, memFreeMb: 1000, power: { source: 'ac', batteryPct: null }, throttled: null, cpuFreqRatio: null, ...r,
});

test('a temperature oscillating around a boundary by less than the hysteresis does not flip the state', () => {
  const sm = new ThermalStateMachine(PI4.thresholds); // hot at 70, hysteresis 3
  const states: string[] = [];
  for (let i = 0; i < 200; i++) states.push(sm.update(70 + 1.4 * Math.sin(i / 3)));
  const changes = states.filter((s, i) => i > 0 && s !== states[i - 1]).length;
  assert.ok(changes <= 1, `${changes} state changes`);
  assert.equal(states.at(-1), 'hot');
  // Leaving needs the full hysteresis: 67.5 keeps hot, 66.9 goes back to warm.
  assert.equal(sm.update(67.5), 'hot');
  assert.equal(sm.update(66.9), 'warm');
  // Going up is immediate and may skip states (safety first).
  assert.equal(sm.update(81), 'critical');
  assert.equal(sm.update(78), 'critical');
  assert.equal(sm.update(76.9), 'hot');
  assert.equal(sm.update(30), 'cool');
});

test('the tracker state follows the same hysteresis; critical takes no work and flags the hard limit', () => {
  const t = new CapacityTracker(opts());
  const seq = [45, 61, 59, 58, 56.9, 71, 80, 78, 86, 84, 76];
  const got = seq.map((c) => t.update(reading({ tempC: c }), 0));
  assert.deepEqual(got.map((s) => s.state), ['cool', 'warm', 'warm', 'warm', 'cool', 'hot', 'critical', 'critical', 'critical', 'critical', 'hot']);
  const crit = got[7]!;
  assert.equal(crit.accepts, false);
  assert.equal(crit.freeSlots, 0);
  assert.match(crit.reason!, /critical/);
  assert.equal(crit.overHardLimit, false);
  assert.equal(got[8]!.overHardLimit, true);
  assert.equal(got[0]!.accepts, true);
  assert.equal(got[0]!.freeSlots, 4);
});

test('hot: new work only while fewer than half the slots are busy', () => {
  const t = new CapacityTracker(opts({ thermal: undefined })); // no model: only the state rules act
  const hot = reading({ tempC: 72 });
  assert.equal(t.update(hot, 0).freeSlots, 2);
  assert.equal(t.update(hot, 1).freeSlots, 1);
  const full = t.update(hot, 2);
  assert.equal(full.accepts, false);
  assert.match(full.reason!, /hot: .*at most 2 of 4/);
  const one = new CapacityTracker({ ...opts(), slots: 1 });
  assert.equal(one.update(hot, 0).accepts, false, 'a one-slot device takes nothing while hot');
});

test('headroom and free slots come from the model prediction, not load alone', () => {
  const t = new CapacityTracker(opts());
  const cool = t.update(reading({ tempC: 45, load: 0 }), 0);
  // At 68 C (warm) with 3 of 4 slots busy, one more task would pass 80 C within 30 s.
  const warm = t.update(reading({ tempC: 68, load: 0.75 }), 3);
  assert.equal(warm.state, 'warm');
  assert.ok(cool.headroom > warm.headroom);
  assert.ok(cool.predictedC! > 45 && cool.predictedC! < 80);
  assert.equal(warm.accepts, false);
  assert.match(warm.reason!, /one more task would reach/);
  // Same load, a device that cools well (Pi 5 active) still has room.
  const pi5 = new CapacityTracker(capacityOptionsFromProfile(getProfile('pi5-active'), { calibratedFuelRate: 1 }));
  const s = pi5.update(reading({ tempC: 50, load: 0.75 }), 3);
  assert.equal(s.accepts, true);
  assert.equal(s.freeSlots, 1);
});

test('a prediction refusal also has hysteresis: it clears only once the forecast is well below the limit', () => {
  const at = (c: number, tr = new CapacityTracker(opts())) => tr.update(reading({ tempC: c, load: 0.75 }), 3);
  // The lowest temperature at which one more task (3 of 4 busy) is refused.
  let edge = 0;
  for (let c = 55; c < 70; c += 0.05) if (!at(c).accepts) { edge = c; break; }
  assert.ok(edge > 55, 'found the edge');
  assert.equal(at(edge - 0.2).accepts, true, 'a fresh tracker accepts just under the edge');
  const a = new CapacityTracker(opts());
  assert.equal(at(edge, a).accepts, false);
  assert.equal(at(edge - 0.2, a).accepts, false, 'after a refusal, just under the edge is still refused');
  assert.equal(at(edge - 10, a).accepts, true);
});

test('throttling reduces the fuel rate: cpufreq ratio while busy, firmware flags when the ratio is unknown', () => {
  const t = new CapacityTracker(opts());
  assert.equal(t.update(reading({ cpuFreqRatio: 1 }), 1).fuelRate, 1_000_000);
  assert.equal(t.update(reading({ cpuFreqRatio: 2 / 3, tempC: 79 }), 1).fuelRate, 1_000_000 * (2 / 3));
  // Idle: the governor lowers the clock by choice; the last busy ratio is kept while still hot...
  assert.equal(t.update(reading({ cpuFreqRatio: 0.4, tempC: 79 }), 0).fuelRate, 1_000_000 * (2 / 3));
  // ...and dropped once it has cooled down.
  assert.equal(t.update(reading({ cpuFreqRatio: 0.4, tempC: 50 }), 0).fuelRate, 1_000_000);
  assert.equal(t.update(reading({ throttled: { now: 0b0110, sinceBoot: 0b0110 } }), 0).fuelRate, 500_000);
  assert.equal(t.update(reading({ throttled: { now: 0, sinceBoot: 0b0110 } }), 0).fuelRate, 1_000_000);
  const sim = new CapacityTracker(capacityOptionsFromProfile(getProfile('pi5-active'), { calibratedFuelRate: 100, simulated: true }));
  assert.equal(sim.update(reading(), 0).fuelRate, 250, 'a simulated profile scales by its relative speed');
});

test('a simulated bare Pi 4 at full load: fuel rate drops once it throttles, state reaches critical, then recovers', async () => {
  let now = 0;
  const s = createSimSensors('pi4-bare', { clock: () => now, timeScale: 1 });
  const t = new CapacityTracker(capacityOptionsFromProfile(PI4, { calibratedFuelRate: 1000 }));
  const first = t.update(await s.read(), 0);
  s.setUtilization(1);
  const states = new Set<string>();
  let minRate = Infinity;
  for (let i = 0; i < 300; i++) {
    now += 1000;
    const snap = t.update(await s.read(), 4);
    states.add(snap.state);
    minRate = Math.min(minRate, snap.fuelRate);
  }
  assert.equal(first.fuelRate, 1000);
  assert.ok(minRate < 1000, `fuel rate fell to ${minRate}`);
  assert.ok(states.has('critical'));
  s.setUtilization(0);
  now += 600_000;
  const after = t.update(await s.read(), 0);
  assert.equal(after.state, 'cool');
  assert.equal(after.accepts, true);
});

test('on battery below the threshold: no work; above it, or on mains, work as usual', () => {
  const t = new CapacityTracker(opts({ minBatteryPct: 30 }));
  const low = t.update(reading({ power: { source: 'battery', batteryPct: 25 } }), 0);
  assert.equal(low.accepts, false);
  assert.equal(low.freeSlots, 0);
  assert.match(low.reason!, /battery at 25% \(below 30%\)/);
  assert.equal(t.update(reading({ power: { source: 'battery', batteryPct: 31 } }), 0).accepts, true);
  assert.equal(t.update(reading({ power: { source: 'ac', batteryPct: 5 } }), 0).accepts, true, 'charging on mains');
});

test('without a temperature sensor capacity falls back to load and says so', () => {
  const t = new CapacityTracker(opts());
  const idle = t.update(reading({ tempC: null, load: 0.1 }), 0);
  assert.equal(idle.accepts, true);
  assert.equal(idle.state, 'cool');
  assert.equal(idle.freeSlots, 4);
  assert.match(idle.reason!, /no temperature sensor: capacity from CPU load \(10%\)/);
  assert.ok(Math.abs(idle.headroom - 0.9) < 1e-9);
  const busy = t.update(reading({ tempC: null, load: 0.8 }), 1);
  assert.equal(busy.freeSlots, 1);
  const full = t.update(reading({ tempC: null, load: 1 }), 1);
  assert.equal(full.accepts, false);
  assert.match(full.reason!, /no free capacity/);
  const nothing = t.update(reading({ tempC: null, load: null }), 3);
  assert.equal(nothing.freeSlots, 1);
  assert.match(nothing.reason!, /no temperature or load sensor/);
});

test('snapshot() before any reading refuses work; bad options and inputs are clear errors', () => {
  const t = new CapacityTracker(opts());
  assert.equal(t.snapshot().accepts, false);
  assert.match(t.snapshot().reason!, /no sensor reading yet/);
  t.update(reading(), 0);
  assert.equal(t.snapshot().accepts, true);
  assert.throws(() => t.update(reading(), -1), /busySlots/);
  assert.throws(() => new CapacityTracker(opts({ slots: 0 })), /slots/);
  assert.throws(() => new CapacityTracker(opts({ calibratedFuelRate: Number.NaN })), /calibratedFuelRate/);
  assert.throws(() => new CapacityTracker(opts({ thresholds: { ...PI4.thresholds, hotC: 90 } })), /warmC < hotC < criticalC/);
  // Thresholds can be overridden from config.
  const o = capacityOptionsFromProfile(PI4, { calibratedFuelRate: 1, thresholds: { criticalC: 75 }, minBatteryPct: 50 });
  assert.equal(o.thresholds.criticalC, 75);
  assert.equal(o.thresholds.hardLimitC, 85);
  assert.equal(o.minBatteryPct, 50);
});
