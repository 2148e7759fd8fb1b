import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CapacityTracker, createRealSensors, parseThrottled, capacityOptionsFromProfile, thresholdsFromZones } from '../../agent/capacity/index.js';
import { getProfile } from '../../sim/profiles.js';

/** Write files into a temp dir laid out like /, in the kernel's formats (values end with a newline). */
async function fakeRoot(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'swarmlet-sys-'));
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
  return root;
}

const PI_TREE: Record<string, string> = {
  'sys/class/thermal/thermal_zone0/type': 'cpu-thermal\n',
  'sys/class/thermal/thermal_zone0/temp': '67321\n',
  'sys/class/thermal/thermal_zone0/trip_point_0_type': 'passive\n',
  'sys/class/thermal/thermal_zone0/trip_point_0_temp': '80000\n',
  'sys/class/thermal/thermal_zone0/trip_point_1_type': 'critical\n',
  'sys/class/thermal/thermal_zone0/trip_point_1_temp': '85000\n',
  'sys/class/thermal/thermal_zone1/type': 'gpu-thermal\n',
  'sys/class/thermal/thermal_zone1/temp': '71000\n',
  'sys/class/thermal/thermal_zone2/type': 'broken\n', // no temp file: skipped
  'sys/class/thermal/cooling_device0/type': 'cpufreq-cpu0\n', // not a zone
  'sys/devices/platform/soc/soc:firmware/get_throttled': '50005\n',
};
for (let i = 0; i < 4; i++) {
  PI_TREE[`sys/devices/system/cpu/cpu${i}/cpufreq/scaling_cur_freq`] = '1000000\n';
  PI_TREE[`sys/devices/system/cpu/cpu${i}/cpufreq/cpuinfo_max_freq`] = '1500000\n';
}
PI_TREE['sys/devices/system/cpu/online'] = '0-3\n';

test('parseThrottled reads bits 0-3 (now) and 16-19 (since boot) from every firmware format', () => {
  const p = parseThrottled('throttled=0x50005\n');
  assert.equal(p.now, 5);
  assert.equal(p.sinceBoot, 5);
  assert.equal(p.underVoltage, true);
  assert.equal(p.freqCapped, false);
  assert.equal(p.throttled, true);
  assert.equal(p.softTempLimit, false);
  assert.equal(p.underVoltageSinceBoot, true);
  assert.equal(p.throttledSinceBoot, true);
  assert.deepEqual(parseThrottled('80008'), parseThrottled(0x80008)); // sysfs prints "%x" without 0x
  const soft = parseThrottled(0x80008);
  assert.equal(soft.softTempLimit, true);
  assert.equal(soft.softTempLimitSinceBoot, true);
  assert.equal(soft.throttled, false);
  assert.equal(parseThrottled('0x0').now, 0);
  assert.equal(parseThrottled(0xe000e).freqCappedSinceBoot, true);
  assert.throws(() => parseThrottled('throttled=banana'), /expected a hex value/);
  assert.throws(() => parseThrottled(-1), /32-bit/);
  assert.throws(() => parseThrottled(1.5), /32-bit/);
});

test('a fake /sys tree: thermal zones with trip points, cpufreq and get_throttled are read correctly', async (t) => {
  const root = await fakeRoot(PI_TREE);
  t.after(() => rm(root, { recursive: true, force: true }));
  const s = await createRealSensors({ sysRoot: root, vcgencmd: false });
  assert.equal(s.kind, 'real');
  for (const name of ['thermal_zone0', 'thermal_zone1', 'cpufreq', 'get_throttled']) assert.ok(s.sources.includes(name), `${name} in ${s.sources}`);
  assert.ok(!s.sources.includes('thermal_zone2'));
  assert.ok(!s.sources.includes('systeminformation.cpuTemperature'), 'systeminformation reads the real /sys, so it is not asked');
  const r = await s.read();
  assert.equal(r.tempC, 67.321, 'the CPU zone is preferred over other zones');
  assert.equal(r.cpuFreqRatio, 1000 / 1500);
  assert.deepEqual(r.throttled, { now: 5, sinceBoot: 5 });
  assert.equal(r.zones?.length, 2);
  assert.deepEqual(r.zones![0], {
    name: 'thermal_zone0', type: 'cpu-thermal', tempC: 67.321,
    trips: [{ type: 'passive', tempC: 80 }, { type: 'critical', tempC: 85 }],
  });
  // The kernel's trip points can set the thresholds of a device without a profile.
  const fallback = getProfile('router').thresholds;
  assert.deepEqual(thresholdsFromZones(r.zones!, fallback), { ...fallback, warmC: 60, hotC: 70, criticalC: 80, hardLimitC: 85 });
  assert.deepEqual(thresholdsFromZones([], fallback), { ...fallback, criticalC: 92, hardLimitC: 100, hotC: 82, warmC: 72 });
  // Values change between reads, as the kernel's do.
  await writeFile(join(root, 'sys/class/thermal/thermal_zone0/temp'), '81500\n');
  await writeFile(join(root, 'sys/devices/platform/soc/soc:firmware/get_throttled'), '0\n');
  const r2 = await s.read();
  assert.equal(r2.tempC, 81.5);
  assert.deepEqual(r2.throttled, { now: 0, sinceBoot: 0 });
  // And the tracker makes sense of it.
  const tr = new CapacityTracker(capacityOptionsFromProfile(getProfile('pi4-bare'), { calibratedFuelRate: 300 }));
  const snap = tr.update(r, 2);
  assert.equal(snap.state, 'warm');
  assert.equal(snap.fuelRate, 200, 'cpufreq at 1000 of 1500 MHz while busy');
  assert.equal(tr.update(r2, 2).state, 'critical');
});

test('a tree with garbage or missing files: every source may be missing and reading still works', async (t) => {
  const root = await fakeRoot({
    'sys/class/thermal/thermal_zone0/temp': 'garbage\n',
    'sys/class/thermal/thermal_zone1/temp': '-274000\n', // impossible value: rejected
    'sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq': '600000\n', // no max: unusable
    'sys/devices/platform/soc/soc:firmware/get_throttled': 'zz\n',
  });
  t.after(() => rm(root, { recursive: true, force: true }));
  const s = await createRealSensors({ sysRoot: root, vcgencmd: false, systeminformation: false });
  assert.deepEqual(s.sources, []);
  const r = await s.read();
  assert.equal(r.tempC, null);
  assert.equal(r.load, null);
  assert.equal(r.cpuFreqRatio, null);
  assert.equal(r.throttled, null);
  assert.deepEqual(r.power, { source: 'unknown', batteryPct: null });
  const snap = new CapacityTracker(capacityOptionsFromProfile(getProfile('router'), { calibratedFuelRate: 1 })).update(r, 0);
  assert.equal(snap.accepts, true);
  assert.match(snap.reason!, /no temperature or load sensor/);
});

test('vcgencmd get_throttled is used when the sysfs file is absent', async (t) => {
  const root = await fakeRoot({});
  const bin = await mkdtemp(join(tmpdir(), 'swarmlet-bin-'));
  const oldPath = process.env.PATH;
  t.after(async () => {
    process.env.PATH = oldPath;
    await rm(root, { recursive: true, force: true });
    await rm(bin, { recursive: true, force: true });
  });
  // Stands in for the firmware tool, printing what a throttled Pi prints.
  await writeFile(join(bin, 'vcgencmd'), '#!/bin/sh\n[ "$1" = get_throttled ] && echo "throttled=0xe0006" && exit 0\nexit 1\n');
  await chmod(join(bin, 'vcgencmd'), 0o755);
  process.env.PATH = `${bin}:${oldPath}`;
  const s = await createRealSensors({ sysRoot: root, systeminformation: false });
  assert.ok(s.sources.includes('vcgencmd'));
  assert.deepEqual((await s.read()).throttled, { now: 6, sinceBoot: 14 });
  const off = await createRealSensors({ sysRoot: root, systeminformation: false, vcgencmd: false });
  assert.ok(!off.sources.includes('vcgencmd'));
});

test('the real sources on this machine: reports what it found and still produces a reading', async () => {
  const s = await createRealSensors();
  assert.ok(Array.isArray(s.sources) && s.sources.every((x) => typeof x === 'string'));
  assert.ok(s.sources.includes('systeminformation.currentLoad'), `${s.sources}`);
  const r = await s.read();
  assert.ok(r.load !== null && r.load >= 0 && r.load <= 1);
  assert.ok(r.memFreeMb !== null && r.memFreeMb > 0);
  assert.ok(['ac', 'battery', 'unknown'].includes(r.power.source));
  const hasTemp = s.sources.some((x) => x.startsWith('thermal_zone') || x === 'systeminformation.cpuTemperature');
  assert.equal(r.tempC === null, !hasTemp, `tempC ${r.tempC} vs sources ${s.sources}`);
  const snap = new CapacityTracker(capacityOptionsFromProfile(getProfile('pi4-bare'), { calibratedFuelRate: 1 })).update(r, 0);
  if (!hasTemp) assert.match(snap.reason ?? '', /no temperature sensor/);
  assert.ok(snap.headroom >= 0 && snap.headroom <= 1);
});
