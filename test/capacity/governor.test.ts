/**
 * The thermal governor: the physics claims it rests on (with the simulator's own model), the
 * device-side clock governor holding a ceiling, and the tracker's budget and forecast.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ThermalModel } from '../../sim/thermal.js';
import { getProfile } from '../../sim/profiles.js';
import { createSimSensors } from '../../sim/sensors.js';
import { CapacityTracker, capacityOptionsFromProfile, clockFor, sustainedClock, sprintSeconds, steadyStateC, type SensorReading } from '../../agent/capacity/index.js';

const PI4 = getProfile('pi4-bare');
const reading = (r: Partial<SensorReading> = {}): SensorReading => ({
  at: 0, tempC: 45, load: 0, memFreeMb: 1000, power: { source: 'ac', batteryPct: null }, throttled: null, cpuFreqRatio: 1, ...r,
});

/** Work (∫ clock dt over all cores), firmware throttled seconds and peak of 30 minutes at full load. */
function fullLoad(profile = PI4, o: { ceilingC?: number; duty?: number; ambientC?: number } = {}) {
  const m = new ThermalModel(profile, o.ambientC === undefined ? {} : { ambientC: o.ambientC });
  if (o.ceilingC !== undefined) m.setClockCeiling(o.ceilingC);
  let work = 0;
  for (let s = 0; s < 1800; s++) {
    const before = m.clockS;
    m.step(1, o.duty ?? 1);
    work += (m.clockS - before) * (o.duty ?? 1);
  }
  return { work, throttledS: m.throttledS, peakC: m.peakC };
}

test('physics: firmware throttling beats the best fixed duty cycle, and the governor at 79.5 C beats both with no throttling', () => {
  const firmware = fullLoad();
  // The highest utilization at full clock whose steady state stays under the 80 C throttle point.
  const t = PI4.thermal;
  const duty = ((80 - 0.01 - t.ambientC) / t.rThCPerW - t.idleW) / (t.fullW - t.idleW);
  assert.ok(steadyStateC(t, duty) < 80);
  const dutyCycle = fullLoad(PI4, { duty });
  const governed = fullLoad(PI4, { ceilingC: 79.5 });
  assert.equal(dutyCycle.throttledS, 0);
  assert.ok(firmware.throttledS > 600, `the firmware throttles a loaded bare Pi 4 most of the time (${firmware.throttledS} s)`);
  assert.ok(firmware.work > dutyCycle.work * 1.1, `throttling ${firmware.work} vs duty cycle ${dutyCycle.work}`);
  assert.ok(governed.work >= firmware.work, `governed ${governed.work} vs firmware ${firmware.work}`);
  assert.equal(governed.throttledS, 0, 'the firmware never steps in');
  assert.ok(governed.peakC <= 79.5 + 1e-6, `held under its ceiling (peak ${governed.peakC})`);
});

test('the governor holds any profile under its ceiling, where the firmware would throttle (hot rooms too)', () => {
  for (const [name, ambientC] of [['pi4-bare', 35], ['pi4-heatsink', 35], ['pi5-bare', 25]] as const) {
    const fw = fullLoad(getProfile(name), { ambientC });
    const gov = fullLoad(getProfile(name), { ambientC, ceilingC: 79.5 });
    assert.ok(fw.throttledS > 0, `${name} at ${ambientC} C throttles without a governor`);
    assert.equal(gov.throttledS, 0, `${name} at ${ambientC} C`);
    assert.ok(gov.work >= fw.work * 0.995, `${name}: governed ${gov.work} vs firmware ${fw.work}`);
  }
});

test('clockFor: the fastest step that stays under the ceiling over the horizon; sustainedClock matches the long run', () => {
  const steps = PI4.throttle.steps;
  assert.equal(clockFor(PI4.thermal, 50, 1, steps, 79.5, 1), 1, 'cool: full clock');
  assert.equal(clockFor(PI4.thermal, 79.4, 1, steps, 79.5, 1), 1000 / 1500, 'at the knee: one step down');
  assert.equal(clockFor(PI4.thermal, 79.4, 0, steps, 79.5, 1), 1, 'idle: no cap');
  assert.equal(clockFor(PI4.thermal, 90, 1, steps, 79.5, 1), 600 / 1500, 'over it: the slowest step');
  // The long-run mean clock of the governed model is what sustainedClock forecasts.
  const m = new ThermalModel(PI4, { startTempC: 79 });
  m.setClockCeiling(79.5);
  m.step(600, 1);
  const from = m.clockS;
  m.step(1200, 1);
  const observed = (m.clockS - from) / 1200;
  const forecast = sustainedClock(PI4.thermal, 1, steps, 79.5);
  assert.ok(Math.abs(observed - forecast) < 0.02, `observed ${observed}, forecast ${forecast}`);
  assert.equal(sustainedClock(getProfile('pi5-active').thermal, 1, getProfile('pi5-active').throttle.steps, 79.5), 1, 'an actively cooled Pi 5 sustains full clock');
  assert.ok(sustainedClock(PI4.thermal, 1, null, 79.5) < forecast, 'without clock steps only a duty cycle is left, which does less');
  assert.ok(sprintSeconds(PI4.thermal, 45, 1, 79.5) > 40 && sprintSeconds(PI4.thermal, 45, 1, 79.5) < 90);
  assert.equal(sprintSeconds(PI4.thermal, 80, 1, 79.5), 0);
});

test('tracker, governed: no hot duty cycle, budget 0 when critical, a ceiling under the soft limit, and a forecast', () => {
  const t = new CapacityTracker({ ...capacityOptionsFromProfile(PI4, { calibratedFuelRate: 1000, simulated: true }), timeScale: 10 });
  t.governClock(PI4.throttle.steps);
  const cool = t.update(reading({ tempC: 45, at: 0 }), 0, 0);
  assert.equal(cool.budget, 4);
  assert.equal(cool.ceilingC, 79.5);
  // The forecast by load: one task never heats a bare Pi 4 to its ceiling, four do within a minute.
  assert.equal(cool.sustain!.length, 4);
  assert.deepEqual([cool.sustain![0], cool.sustain![1]], [1, 1]);
  assert.ok(cool.sustain![3]! < 1 && cool.sustain![3]! > 0.7, `a bare Pi 4 at four tasks sustains ${cool.sustain![3]}`);
  assert.equal(cool.sprintS![0], 360, 'one task: practically forever (3600 device s at time scale 10)');
  assert.ok(cool.sprintS![3]! > 4 && cool.sprintS![3]! < 9, `four tasks: a sprint in real seconds at time scale 10: ${cool.sprintS![3]}`);
  const hot = t.update(reading({ tempC: 78, at: 1000, load: 1 }), 4, 4);
  assert.equal(hot.state, 'hot');
  assert.equal(hot.budget, 4, 'all four slots while hot: the clock holds it, not a duty cycle');
  assert.ok(hot.sprintS![3]! < cool.sprintS![3]!);
  assert.ok(hot.trendCPerMin! > 0, 'heating');
  const crit = t.update(reading({ tempC: 81, at: 2000, load: 1 }), 4, 4);
  assert.equal(crit.budget, 0);
  assert.equal(crit.freeSlots, 0);
  // Ungoverned (no clock control): the old duty cycle while hot stays.
  const plain = new CapacityTracker(capacityOptionsFromProfile(PI4, { calibratedFuelRate: 1000 }));
  assert.equal(plain.update(reading({ tempC: 72 }), 0).budget, 2);
  assert.equal(plain.update(reading({ tempC: 72 }), 0).ceilingC, null);
});

test('sim sensors: the clock ceiling caps the clock at once when the load rises, and the cap sets no firmware flag', async () => {
  let now = 0;
  const s = createSimSensors('pi4-bare', { clock: () => now, startTempC: 79.4 });
  s.setClockCeiling(79.5);
  s.setUtilization(1);
  assert.equal(s.model.freqRatio, 1000 / 1500);
  now += 60_000;
  const r = await s.read();
  assert.ok(r.tempC! <= 79.5 + 1e-6);
  assert.equal(r.throttled!.now, 0);
  assert.ok(s.model.cappedS > 0);
  s.setClockCeiling(null);
  assert.equal(s.model.freqRatio, 1);
  assert.throws(() => s.setClockCeiling(Number.NaN), /ceiling/);
});
