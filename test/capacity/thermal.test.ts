import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ThermalModel } from '../../sim/thermal.js';
import { PROFILES, getProfile, profileNames } from '../../sim/profiles.js';
import { steadyStateC, secondsToReachC } from '../../agent/capacity/thermal-math.js';
import type { DeviceProfile } from '../../agent/capacity/types.js';

/** Step the model at full load one simulated second at a time until it reaches `c`. */
function secondsUntil(m: ThermalModel, c: number, u: number, maxS: number): number | null {
  for (let s = 0; s < maxS; s++) {
    if (m.tempC >= c) return m.timeS;
    m.step(1, u);
  }
  return null;
}

test('bare Pi 4 idles near 45 C and crosses its 80 C throttle point after about a minute of full load', () => {
  const m = new ThermalModel(getProfile('pi4-bare'));
  assert.ok(Math.abs(m.tempC - 45) < 1.5, `idle ${m.tempC}`);
  const t = secondsUntil(m, 80, 1, 600);
  assert.ok(t !== null && t >= 40 && t <= 90, `crossed 80 C after ${t} s`);
});

test('Pi 5 with the active cooler settles near 56 C and never throttles at 25 C ambient', () => {
  const m = new ThermalModel(getProfile('pi5-active'));
  m.step(1800, 1);
  assert.ok(Math.abs(m.tempC - 56) < 2, `settled at ${m.tempC}`);
  assert.equal(m.freqRatio, 1);
  assert.equal(m.throttledFlags?.sinceBoot, 0);
});

test('Pi 4 with a heatsink stays below its throttle point at 25 C but throttles in a 40 C room', () => {
  const cool = new ThermalModel(getProfile('pi4-heatsink'));
  cool.step(3600, 1);
  assert.ok(cool.tempC < 80 && cool.stepIndex === 0, `${cool.tempC}`);
  const hotRoom = new ThermalModel(getProfile('pi4-heatsink'), { ambientC: 40 });
  hotRoom.step(3600, 1);
  assert.ok((hotRoom.throttledFlags!.sinceBoot & 4) !== 0, 'expected the clock to have stepped down');
  assert.ok(hotRoom.tempC < 85, `throttling should hold it under the hard limit, got ${hotRoom.tempC}`);
});

test('throttling steps the clock down, holds the bare Pi 4 near 80 C and lowers the fuel-rate factor', () => {
  const m = new ThermalModel(getProfile('pi4-bare'));
  let sum = 0;
  let n = 0;
  let maxT = 0;
  for (let s = 0; s < 1200; s++) {
    m.step(1, 1);
    maxT = Math.max(maxT, m.tempC);
    if (s >= 300) { sum += m.freqRatio; n++; }
  }
  assert.ok(maxT < 85, `never reaches the hard limit (max ${maxT})`);
  assert.ok(sum / n < 0.95, `average clock ratio under sustained load ${sum / n}`);
  assert.ok([1, 1000 / 1500, 750 / 1500, 600 / 1500].includes(m.freqRatio), 'clock is one of the Pi 4 DVFS steps');
  const f = m.throttledFlags!;
  assert.ok((f.sinceBoot & 0b0110) === 0b0110, `since-boot flags record capping and throttling (${f.sinceBoot})`);
});

test('at the hard limit the clock drops to the lowest step at once', () => {
  const m = new ThermalModel(getProfile('pi4-bare'), { startTempC: 86 });
  m.step(0.1, 1);
  assert.equal(m.freqRatio, 600 / 1500);
});

test('relaxes toward ambient with its time constant once idle', () => {
  const p = getProfile('pi4-bare');
  const m = new ThermalModel(p, { startTempC: 80 });
  const idle = steadyStateC(p.thermal, 0);
  m.step(p.thermal.tauS, 0);
  // After one time constant, 1/e of the gap is left.
  const left = (m.tempC - idle) / (80 - idle);
  assert.ok(Math.abs(left - Math.exp(-1)) < 0.01, `left ${left}`);
  m.step(20 * p.thermal.tauS, 0);
  assert.ok(Math.abs(m.tempC - idle) < 0.01);
  // With no heat at all (a powered-off board) it relaxes to the ambient temperature itself.
  const off: DeviceProfile = { ...p, thermal: { ...p.thermal, idleW: 0 } };
  const o = new ThermalModel(off, { startTempC: 70, ambientC: 18 });
  o.step(30 * p.thermal.tauS, 0);
  assert.ok(Math.abs(o.tempC - 18) < 0.01, `${o.tempC}`);
});

test('predict() agrees with stepping an unthrottled model, and secondsToReachC with both', () => {
  const p = getProfile('pi4-bare');
  const m = new ThermalModel(p);
  const predicted = m.predict(1, 30);
  const t = secondsToReachC(p.thermal, m.tempC, 80, 1);
  m.step(30, 1); // stays below 80 in 30 s, so no throttling
  assert.ok(Math.abs(m.tempC - predicted) < 1e-6);
  assert.ok(t > 40 && t < 90, `${t}`);
  assert.equal(secondsToReachC(p.thermal, 45, 200, 1), Infinity);
});

test('every profile is complete and consistent; unknown names list the known ones', () => {
  for (const name of ['pi4-bare', 'pi4-heatsink', 'pi5-active', 'router', 'appliance-hub']) assert.ok(profileNames().includes(name));
  for (const p of Object.values(PROFILES)) {
    const t = p.thresholds;
    assert.ok(t.warmC < t.hotC && t.hotC < t.criticalC && t.criticalC <= t.hardLimitC, p.name);
    assert.ok(p.slots >= 1 && p.slots <= p.cores && p.speed > 0, p.name);
    assert.equal(p.throttle.steps[0], 1, p.name);
    assert.ok(p.thermal.fullW > p.thermal.idleW && p.thermal.tauS > 0, p.name);
  }
  assert.ok(getProfile('appliance-hub').battery, 'the hub has a battery');
  assert.throws(() => getProfile('pi9'), /unknown device profile "pi9" \(known: .*pi4-bare.*\)/);
  assert.throws(() => getProfile('__proto__'), /unknown device profile/);
  assert.throws(() => { (getProfile('pi4-bare').thermal as { tauS: number }).tauS = 1; }, TypeError);
});

test('bad input to the model is a clear error', () => {
  const m = new ThermalModel(getProfile('router'));
  assert.throws(() => m.step(-1), /backwards/);
  assert.throws(() => m.step(1, 2), /0\.\.1/);
  assert.throws(() => m.step(Number.NaN), /finite/);
});
