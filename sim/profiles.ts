/**
 * Device profiles for the simulator (and thresholds for real devices of the same kind).
 *
 * Vendor facts (Raspberry Pi documentation, as collected in shared/LIBRARY-NOTES.md):
 *  - every Raspberry Pi model has an 85 C hard limit; the Arm cores throttle from 80 C;
 *  - Pi 4 DVFS steps: 1500 / 1000 / 750 / 600 MHz;
 *  - a bare Pi 4 under full load reaches its throttle point in under a minute;
 *  - a Pi 5 without a heatsink averages 81 C under load, with the Active Cooler 56 C.
 * Everything else (the SoC heat figures, thermal resistances and time constants, router and
 * hub parameters, relative speeds) is our calibration: chosen so that the first-order model
 * reproduces those facts, not measured. Power figures are the heat the SoC dissipates
 * (what sets its temperature), not the board's draw at the wall.
 */
import type { DeviceProfile, Thresholds } from '../agent/capacity/types.js';

/** Raspberry Pi thresholds: critical = the firmware's 80 C throttle point, hard limit 85 C. */
const PI_THRESHOLDS: Thresholds = { warmC: 60, hotC: 70, criticalC: 80, hardLimitC: 85, hysteresisC: 3 };
/** Pi 4 DVFS steps as ratios of 1500 MHz. */
const PI4_STEPS = [1, 1000 / 1500, 750 / 1500, 600 / 1500];
/** Pi 5 (2400 MHz): the firmware steps down toward 1500 MHz when hot (our reading of its behaviour). */
const PI5_STEPS = [1, 2000 / 2400, 1500 / 2400];
const PI_THROTTLE = { throttleC: 80, recoverC: 2, stepIntervalS: 2 };

/** Profiles are shared module state: freeze them all the way down so no caller can change another's device. */
function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

export const PROFILES: Readonly<Record<string, DeviceProfile>> = deepFreeze({
  'pi4-bare': {
    name: 'pi4-bare',
    description: 'Raspberry Pi 4, no heatsink: ~45 C idle at 25 C ambient, reaches 80 C after about a minute of full load',
    cores: 4, slots: 4,
    // Tss(idle) = 25 + 1.6·12.5 = 45 C; Tss(full) = 25 + 6·12.5 = 100 C; 45 → 80 C in 60·ln(55/20) ≈ 61 s.
    thermal: { idleW: 1.6, fullW: 6.0, rThCPerW: 12.5, tauS: 60, ambientC: 25, powerExponent: 2 },
    thresholds: PI_THRESHOLDS,
    throttle: { ...PI_THROTTLE, steps: PI4_STEPS },
    battery: null, minBatteryPct: 20, speed: 1, firmwareFlags: true, memFreeMb: 3200,
  },
  'pi4-heatsink': {
    name: 'pi4-heatsink',
    description: 'Raspberry Pi 4 with a passive heatsink: ~38 C idle, settles near 73 C under full load at 25 C (throttles in hot rooms)',
    cores: 4, slots: 4,
    thermal: { idleW: 1.6, fullW: 6.0, rThCPerW: 8, tauS: 150, ambientC: 25, powerExponent: 2 },
    thresholds: PI_THRESHOLDS,
    throttle: { ...PI_THROTTLE, steps: PI4_STEPS },
    battery: null, minBatteryPct: 20, speed: 1, firmwareFlags: true, memFreeMb: 3200,
  },
  'pi5-active': {
    name: 'pi5-active',
    description: 'Raspberry Pi 5 with the Active Cooler: ~34 C idle, settles near 56 C under full load',
    cores: 4, slots: 4,
    // 25 + 7·4.4 = 55.8 C under full load.
    thermal: { idleW: 2.0, fullW: 7.0, rThCPerW: 4.4, tauS: 90, ambientC: 25, powerExponent: 2 },
    thresholds: PI_THRESHOLDS,
    throttle: { ...PI_THROTTLE, steps: PI5_STEPS },
    // Relative speed: our assumption (Pi 5 is commonly quoted at 2-3x a Pi 4).
    battery: null, minBatteryPct: 20, speed: 2.5, firmwareFlags: true, memFreeMb: 7000,
  },
  'pi5-bare': {
    name: 'pi5-bare',
    description: 'Raspberry Pi 5 without a heatsink: throttles under sustained load and hovers around 80 C',
    cores: 4, slots: 4,
    thermal: { idleW: 2.0, fullW: 7.0, rThCPerW: 9, tauS: 70, ambientC: 25, powerExponent: 2 },
    thresholds: PI_THRESHOLDS,
    throttle: { ...PI_THROTTLE, steps: PI5_STEPS },
    battery: null, minBatteryPct: 20, speed: 2.5, firmwareFlags: true, memFreeMb: 7000,
  },
  router: {
    name: 'router',
    description: 'Home router (dual-core MIPS/ARM SoC, fanless case, warm cabinet): hot idle, no DVFS, one slot',
    cores: 2, slots: 1,
    // 30 + 2·15 = 60 C idle; 30 + 3.5·15 = 82.5 C under full load. No frequency steps.
    thermal: { idleW: 2.0, fullW: 3.5, rThCPerW: 15, tauS: 240, ambientC: 30, powerExponent: 2 },
    thresholds: { warmC: 72, hotC: 82, criticalC: 92, hardLimitC: 100, hysteresisC: 3 },
    throttle: { throttleC: 100, recoverC: 3, stepIntervalS: 5, steps: [1] },
    battery: null, minBatteryPct: 20, speed: 0.2, firmwareFlags: false, memFreeMb: 96,
  },
  'appliance-hub': {
    name: 'appliance-hub',
    description: 'Smart-home hub (quad-core ARM in a closed plastic case) with a backup battery: runs on mains, sometimes on battery',
    cores: 4, slots: 2,
    // 25 + 1.2·14 ≈ 42 C idle; 25 + 3.2·14 ≈ 70 C under full load.
    thermal: { idleW: 1.2, fullW: 3.2, rThCPerW: 14, tauS: 200, ambientC: 25, powerExponent: 2 },
    thresholds: { warmC: 55, hotC: 63, criticalC: 72, hardLimitC: 85, hysteresisC: 3 },
    throttle: { throttleC: 80, recoverC: 3, stepIntervalS: 3, steps: [1, 0.75, 0.5] },
    // 2000 mAh Li-ion at 3.7 V.
    battery: { capacityWh: 7.4, startSource: 'ac', startPct: 100 },
    minBatteryPct: 30, speed: 0.35, firmwareFlags: false, memFreeMb: 400,
  },
} satisfies Record<string, DeviceProfile>);

export function profileNames(): string[] {
  return Object.keys(PROFILES);
}

export function getProfile(name: string): DeviceProfile {
  const p = Object.prototype.hasOwnProperty.call(PROFILES, name) ? PROFILES[name] : undefined;
  if (!p) throw new Error(`unknown device profile ${JSON.stringify(name)} (known: ${profileNames().join(', ')})`);
  return p;
}
