/**
 * Readers for the Linux sysfs files the capacity layer uses, rooted at `sysRoot` so tests
 * can point them at a temp dir laid out like /sys with the kernel's file formats:
 *   sys/class/thermal/thermal_zoneN/{type,temp,trip_point_M_temp,trip_point_M_type}  (temp in millidegrees C)
 *   sys/devices/system/cpu/cpuN/cpufreq/{scaling_cur_freq,cpuinfo_max_freq}         (kHz)
 *   sys/devices/platform/soc/soc:firmware/get_throttled                              ("%x\n")
 * Every reader returns null / [] for what is missing: absence is normal, not an error.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ThermalZoneReading } from './types.js';
import { parseThrottled, type ParsedThrottled } from './throttled.js';

export const THERMAL_DIR = 'sys/class/thermal';
export const CPU_DIR = 'sys/devices/system/cpu';
export const GET_THROTTLED_FILE = 'sys/devices/platform/soc/soc:firmware/get_throttled';

async function readText(path: string): Promise<string | null> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    return null; // missing, or the driver refused the read (EINVAL/ENODATA happen on real zones)
  }
}

async function readInt(path: string): Promise<number | null> {
  const t = await readText(path);
  if (t === null || !/^-?\d+$/.test(t)) return null;
  return Number(t);
}

async function listDir(path: string): Promise<string[]> {
  try {
    return await readdir(path);
  } catch {
    return [];
  }
}

const byIndex = (prefix: string) => (a: string, b: string) => Number(a.slice(prefix.length)) - Number(b.slice(prefix.length));

/** Millidegrees to deg C, rejecting values no real sensor reports (a disconnected probe reads e.g. -273 C or 2^31). */
function milliToC(m: number | null): number | null {
  if (m === null) return null;
  const c = m / 1000;
  return c >= -60 && c <= 200 ? c : null;
}

export async function readThermalZones(sysRoot: string): Promise<ThermalZoneReading[]> {
  const dir = join(sysRoot, THERMAL_DIR);
  const names = (await listDir(dir)).filter((n) => /^thermal_zone\d+$/.test(n)).sort(byIndex('thermal_zone'));
  const zones = await Promise.all(names.map(async (name): Promise<ThermalZoneReading | null> => {
    const zdir = join(dir, name);
    const tempC = milliToC(await readInt(join(zdir, 'temp')));
    if (tempC === null) return null;
    const files = await listDir(zdir);
    const tripIdx = files.map((f) => /^trip_point_(\d+)_temp$/.exec(f)?.[1]).filter((x): x is string => x !== undefined).map(Number).sort((a, b) => a - b);
    const trips: ThermalZoneReading['trips'] = [];
    for (const i of tripIdx) {
      const t = milliToC(await readInt(join(zdir, `trip_point_${i}_temp`)));
      if (t === null) continue;
      trips.push({ type: (await readText(join(zdir, `trip_point_${i}_type`))) ?? 'unknown', tempC: t });
    }
    return { name, type: await readText(join(zdir, 'type')), tempC, trips };
  }));
  return zones.filter((z): z is ThermalZoneReading => z !== null);
}

export interface CpuFreq {
  /** mean current / mean max over the CPUs that expose cpufreq (1 = full speed). */
  ratio: number;
  cpus: number;
  curKHz: number;
  maxKHz: number;
}

export async function readCpuFreq(sysRoot: string): Promise<CpuFreq | null> {
  const dir = join(sysRoot, CPU_DIR);
  const cpus = (await listDir(dir)).filter((n) => /^cpu\d+$/.test(n));
  let cur = 0;
  let max = 0;
  let n = 0;
  for (const cpu of cpus) {
    const c = await readInt(join(dir, cpu, 'cpufreq', 'scaling_cur_freq'));
    const m = await readInt(join(dir, cpu, 'cpufreq', 'cpuinfo_max_freq'));
    if (c === null || m === null || m <= 0 || c < 0) continue;
    cur += c;
    max += m;
    n++;
  }
  if (n === 0) return null;
  return { ratio: Math.min(1, cur / max), cpus: n, curKHz: cur / n, maxKHz: max / n };
}

/** The Pi firmware's flags from sysfs, or null when the file is absent or unparsable. */
export async function readThrottledFile(sysRoot: string): Promise<ParsedThrottled | null> {
  const t = await readText(join(sysRoot, GET_THROTTLED_FILE));
  if (t === null) return null;
  try {
    return parseThrottled(t);
  } catch {
    return null;
  }
}
