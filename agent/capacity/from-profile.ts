/**
 * Build CapacityOptions from a device profile plus config overrides (thresholds and the
 * battery limit can be set in config; everything else comes from the profile).
 */
import type { CapacityOptions } from './tracker.js';
import type { DeviceProfile, Thresholds } from './types.js';

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
