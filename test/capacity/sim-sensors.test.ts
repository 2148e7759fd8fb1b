import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSimSensors } from '../../sim/sensors.js';
import { getProfile } from '../../sim/profiles.js';
import { CapacityTracker, capacityOptionsFromProfile } from '../../agent/capacity/index.js';

/** A hand-moved clock (ms). */
function fakeClock(start = 1_700_000_000_000) {
  let now = start;
  return { clock: () => now, advance: (ms: number) => { now += ms; } };
}

test('sim sensors heat up with utilization through the same SensorSource interface', async () => {
  const c = fakeClock();
  const s = createSimSensors('pi4-bare', { timeScale: 60, clock: c.clock });
  assert.equal(s.kind, 'sim');
  assert.ok(s.sources.includes('sim.thermal'));
  const idle = await s.read();
  assert.ok(idle.tempC !== null && Math.abs(idle.tempC - 45) < 1.5);
  assert.equal(idle.load, 0);
  assert.deepEqual(idle.throttled, { now: 0, sinceBoot: 0 });
  s.setUtilization(1);
  c.advance(1000); // one real second = one simulated minute at timeScale 60
  const hot = await s.read();
  assert.ok(hot.tempC! > 75, `after a simulated minute ${hot.tempC}`);
  assert.equal(hot.load, 1);
  assert.equal(hot.at, c.clock());
  c.advance(10_000);
  const throttled = await s.read();
  assert.ok(throttled.throttled!.sinceBoot !== 0, 'the firmware flags record the throttling');
  s.setUtilization(0);
  c.advance(60_000);
  const cooled = await s.read();
  assert.ok(cooled.tempC! < 46 && cooled.cpuFreqRatio === 1, `cooled to ${cooled.tempC}`);
});

test('ambient temperature and start temperature are honoured; non-Pi boards report no firmware flags', async () => {
  const c = fakeClock();
  const s = createSimSensors(getProfile('router'), { ambientC: 40, startTempC: 40, clock: c.clock, timeScale: 1 });
  assert.equal((await s.read()).tempC, 40);
  assert.equal((await s.read()).throttled, null);
  c.advance(3_600_000);
  const r = await s.read();
  assert.ok(Math.abs(r.tempC! - (40 + 2 * 15)) < 0.1, `idle steady state at 40 C ambient: ${r.tempC}`);
  s.setAmbient(10);
  c.advance(3_600_000);
  assert.ok(Math.abs((await s.read()).tempC! - 40) < 0.1);
});

test('battery drains on battery power only, and bad input is refused with a clear error', async () => {
  const c = fakeClock();
  const hub = createSimSensors('appliance-hub', { clock: c.clock, timeScale: 3600 });
  let r = await hub.read();
  assert.deepEqual(r.power, { source: 'ac', batteryPct: 100 });
  c.advance(1000);
  assert.equal((await hub.read()).power.batteryPct, 100, 'no drain on mains');
  hub.setPowerSource('battery');
  hub.setUtilization(1);
  c.advance(1000); // one simulated hour at full load
  r = await hub.read();
  assert.equal(r.power.source, 'battery');
  assert.ok(r.power.batteryPct! < 100 && r.power.batteryPct! > 0, `${r.power.batteryPct}`);
  hub.setBatteryPct(12);
  assert.equal((await hub.read()).power.batteryPct, 12);
  const pi = createSimSensors('pi4-bare');
  assert.throws(() => pi.setPowerSource('battery'), /no battery/);
  assert.throws(() => pi.setUtilization(Number.NaN), /utilization/);
  assert.throws(() => pi.setAmbient(500), /ambient/);
  assert.throws(() => createSimSensors('nope'), /known: /);
  assert.throws(() => createSimSensors('pi4-bare', { timeScale: 0 }), /timeScale/);
});

test('a simulated hub on battery stops taking work once its charge falls below the profile threshold', async () => {
  let now = 0;
  const hub = createSimSensors('appliance-hub', { clock: () => now, timeScale: 60 });
  const profile = getProfile('appliance-hub');
  const tr = new CapacityTracker(capacityOptionsFromProfile(profile, { calibratedFuelRate: 10, simulated: true }));
  assert.equal(tr.update(await hub.read(), 0).accepts, true);
  hub.setPowerSource('battery');
  hub.setBatteryPct(profile.minBatteryPct + 1);
  hub.setUtilization(0.5);
  let snap = tr.update(await hub.read(), 1);
  assert.equal(snap.accepts, true);
  for (let i = 0; i < 600 && snap.accepts; i++) {
    now += 1000;
    snap = tr.update(await hub.read(), 1);
  }
  assert.equal(snap.accepts, false, 'the drain crossed the threshold');
  assert.match(snap.reason!, /on battery at .*below 30%/);
  hub.setPowerSource('ac');
  assert.equal(tr.update(await hub.read(), 1).accepts, true, 'back on mains');
});
