/**
 * The real SensorSource: systeminformation for temperature, load, memory and battery;
 * Linux sysfs for thermal zones (with trip points) and cpufreq; the Raspberry Pi
 * firmware's throttled flags from sysfs or `vcgencmd get_throttled`.
 * Sources are probed once at creation; `sources` names the ones found and `read()` only
 * asks those. A source that fails later yields null for its field (logged once), never a
 * rejected read: the agent keeps working with whatever is left.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import * as si from 'systeminformation';
import { createLogger } from '../../util/log.js';
import type { SensorDetail, SensorReading, SensorSource, ThermalZoneReading, ThrottledFlags } from './types.js';
import { parseThrottled } from './throttled.js';
import { readCpuFreq, readThermalZones, readThrottledFile } from './sysfs.js';

export interface RealSensorOptions {
  /** Root of the /sys tree (default '/'); tests point it at a fake tree. */
  sysRoot?: string;
  /** Try `vcgencmd get_throttled` when the sysfs file is absent (default true). */
  vcgencmd?: boolean;
  /**
   * Use systeminformation (default true) for load, memory, battery, and temperature where no
   * thermal zone exists. Its temperature probe reads the real /sys, so it is skipped when sysRoot is not '/'.
   */
  systeminformation?: boolean;
}

/** A SensorSource whose readings also carry the thermal zones it read. */
export interface RealSensorSource extends SensorSource {
  read(): Promise<SensorReading & SensorDetail>;
}

const log = () => createLogger('capacity.sensors');

function vcgencmdThrottled(): Promise<ThrottledFlags | null> {
  return new Promise((done) => {
    execFile('vcgencmd', ['get_throttled'], { timeout: 2000 }, (err, stdout) => {
      if (err) return done(null);
      try {
        const p = parseThrottled(String(stdout));
        done({ now: p.now, sinceBoot: p.sinceBoot });
      } catch {
        done(null);
      }
    });
  });
}

/** CPU zones when the kernel names them so (cpu-thermal, soc_thermal, x86_pkg_temp), otherwise every zone. */
function hottestZone(zones: ThermalZoneReading[]): number | null {
  if (zones.length === 0) return null;
  const cpu = zones.filter((z) => z.type !== null && /cpu|soc|pkg/i.test(z.type));
  return Math.max(...(cpu.length ? cpu : zones).map((z) => z.tempC));
}

const siTemp = (t: si.Systeminformation.CpuTemperatureData): number | null => {
  const v = t.max ?? t.main;
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
};

export async function createRealSensors(opts: RealSensorOptions = {}): Promise<RealSensorSource> {
  const sysRoot = resolve(opts.sysRoot ?? '/');
  const useSi = opts.systeminformation ?? true;
  const realSys = sysRoot === '/';
  const failed = new Set<string>();
  const warnOnce = (source: string, e: unknown) => {
    if (failed.has(source)) return;
    failed.add(source);
    log().warn({ source, err: (e as Error)?.message ?? String(e) }, 'sensor source failed; reporting null for it');
  };
  const attempt = async <T>(source: string, f: () => Promise<T>): Promise<T | null> => {
    try {
      return await f();
    } catch (e) {
      warnOnce(source, e);
      return null;
    }
  };

  // ---- probe ---------------------------------------------------------------------------
  const zones0 = await readThermalZones(sysRoot);
  // systeminformation's temperature probe runs shell commands synchronously (blocking the
  // event loop) and reads the same thermal zones we read ourselves: ask it only when there
  // are no zones (e.g. hwmon-only machines), and never for a fake tree.
  const t0 = useSi && realSys && zones0.length === 0 ? await attempt('si.cpuTemperature', () => si.cpuTemperature()) : null;
  const found = {
    siTemp: t0 !== null && siTemp(t0) !== null,
    // The first currentLoad() samples for ~0.5 s; later calls report the delta since the previous one.
    siLoad: useSi && (await attempt('si.currentLoad', () => si.currentLoad())) !== null,
    siMem: useSi && (await attempt('si.mem', () => si.mem())) !== null,
    siBattery: false,
    zones: zones0.length > 0,
    cpufreq: (await readCpuFreq(sysRoot)) !== null,
    throttledFile: (await readThrottledFile(sysRoot)) !== null,
    vcgencmd: false,
  };
  if (useSi) {
    const b = await attempt('si.battery', () => si.battery());
    found.siBattery = b?.hasBattery === true;
  }
  if (!found.throttledFile && (opts.vcgencmd ?? true)) found.vcgencmd = (await vcgencmdThrottled()) !== null;

  const zoneNames = zones0.map((z) => z.name);
  const sources: string[] = [
    ...(found.siTemp ? ['systeminformation.cpuTemperature'] : []),
    ...(found.siLoad ? ['systeminformation.currentLoad'] : []),
    ...(found.siMem ? ['systeminformation.mem'] : []),
    ...(found.siBattery ? ['systeminformation.battery'] : []),
    ...zoneNames,
    ...(found.cpufreq ? ['cpufreq'] : []),
    ...(found.throttledFile ? ['get_throttled'] : []),
    ...(found.vcgencmd ? ['vcgencmd'] : []),
  ];
  log().info({ sources, sysRoot }, 'sensor sources found');

  // ---- read ----------------------------------------------------------------------------
  async function read(): Promise<SensorReading & SensorDetail> {
    const [t, load, mem, batt, zones, freq, thr] = await Promise.all([
      found.siTemp ? attempt('si.cpuTemperature', () => si.cpuTemperature()) : null,
      found.siLoad ? attempt('si.currentLoad', () => si.currentLoad()) : null,
      found.siMem ? attempt('si.mem', () => si.mem()) : null,
      found.siBattery ? attempt('si.battery', () => si.battery()) : null,
      found.zones ? readThermalZones(sysRoot) : [],
      found.cpufreq ? readCpuFreq(sysRoot) : null,
      found.throttledFile ? readThrottledFile(sysRoot) : found.vcgencmd ? vcgencmdThrottled() : null,
    ]);
    const temps = [t ? siTemp(t) : null, hottestZone(zones)].filter((x): x is number => x !== null);
    const loadFrac = load && Number.isFinite(load.currentLoad) ? Math.min(1, Math.max(0, load.currentLoad / 100)) : null;
    let power: SensorReading['power'];
    if (batt && batt.hasBattery) {
      power = { source: batt.acConnected ? 'ac' : 'battery', batteryPct: Number.isFinite(batt.percent) ? Math.min(100, Math.max(0, batt.percent)) : null };
    } else {
      // No battery found: the device runs from mains (or we cannot tell, without systeminformation).
      power = { source: useSi ? 'ac' : 'unknown', batteryPct: null };
    }
    return {
      at: Date.now(),
      tempC: temps.length ? Math.max(...temps) : null,
      load: loadFrac,
      memFreeMb: mem && Number.isFinite(mem.available) ? Math.floor(mem.available / 1048576) : null,
      power,
      throttled: thr ? { now: thr.now, sinceBoot: thr.sinceBoot } : null,
      cpuFreqRatio: freq ? freq.ratio : null,
      zones,
    };
  }

  return { kind: 'real', sources, read };
}
