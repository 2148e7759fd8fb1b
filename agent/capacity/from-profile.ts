/**
 * Build CapacityOptions from a device profile plus config overrides (thresholds and the
 * battery limit can be set in config; everything else comes from the profile).
 */
import type { CapacityOptions } from './tracker.js';
import type { DeviceProfile, ThermalZoneReading, Thresholds } from './types.js';
import { validateThresholds } from './hysteresis.js';

export interface ProfileOverrides {
  /** Fuel units per second from the agent's calibration run on this machine. */
  calibratedFuelRate: number;
  thresholds?: Partial<Thresholds>;
  minBatteryPct?: number;
  slots?: number;
  /** Simulated device: scale the calibrated rate by the profile's relative speed. */
  simulated?: boolean;
  predictionHorizonS?: number;
  ambientC?: number;
}

export function capacityOptionsFromProfile(profile: DeviceProfile, o: ProfileOverrides): CapacityOptions {
  const opts: CapacityOptions = {
    slots: o.slots ?? profile.slots,
    calibratedFuelRate: o.calibratedFuelRate,
    thresholds: { ...profile.thresholds, ...o.thresholds },
    minBatteryPct: o.minBatteryPct ?? profile.minBatteryPct,
    thermal: profile.thermal,
    speedFactor: o.simulated ? profile.speed : 1,
  };
  if (o.predictionHorizonS !== undefined) opts.predictionHorizonS = o.predictionHorizonS;
  if (o.ambientC !== undefined) opts.ambientC = o.ambientC;
  return opts;
}

/**
 * Thresholds for a real device from its kernel trip points, where the board declares them:
 * the lowest `passive` trip (where the kernel starts throttling) becomes the soft limit
 * (criticalC), the lowest `critical` trip (emergency shutdown) the hard limit; warm and hot
 * sit 20 and 10 C below the soft limit. Anything missing or inconsistent keeps `fallback`.
 */
export function thresholdsFromZones(zones: readonly ThermalZoneReading[], fallback: Thresholds): Thresholds {
  const lowest = (type: string): number | null => {
    const temps = zones.flatMap((z) => z.trips.filter((t) => t.type === type).map((t) => t.tempC));
    return temps.length ? Math.min(...temps) : null;
  };
  const passive = lowest('passive');
  const critical = lowest('critical');
  const hard = critical ?? fallback.hardLimitC;
  const soft = passive !== null && passive <= hard ? passive : Math.min(fallback.criticalC, hard);
  const t: Thresholds = { ...fallback, criticalC: soft, hardLimitC: hard, hotC: soft - 10, warmC: soft - 20 };
  try {
    return validateThresholds(t);
  } catch {
    return fallback;
  }
}
