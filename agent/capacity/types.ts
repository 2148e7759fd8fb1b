/**
 * The capacity layer's contract. A SensorSource reads the device (real: systeminformation
 * and /sys; simulated: a thermal model); a CapacityModel turns readings into the state,
 * headroom and free slots the agent advertises and bids with.
 */
import type { ThermalState } from '../../protocol/messages.js';

export interface ThrottledFlags {
  /** Raspberry Pi firmware get_throttled bits 0-3: under-voltage, freq capped, throttled, soft temp limit (now). */
  now: number;
  /** Bits 16-19 shifted down to 0-3: the same, since boot. */
  sinceBoot: number;
}

export interface SensorReading {
  at: number;
  /** Hottest relevant temperature in deg C, or null where no sensor exists. */
  tempC: number | null;
  /** CPU load 0..1 (all cores), or null when unknown. */
  load: number | null;
  memFreeMb: number | null;
  power: { source: 'ac' | 'battery' | 'unknown'; batteryPct: number | null };
  throttled: ThrottledFlags | null;
  /** Current / max CPU frequency, or null when unknown (1 = full speed). */
  cpuFreqRatio: number | null;
}

export interface SensorSource {
  readonly kind: 'real' | 'sim';
  /** Names of the sources found, e.g. ['systeminformation.cpuTemperature', 'thermal_zone0', 'cpufreq']. */
  readonly sources: readonly string[];
  read(): Promise<SensorReading>;
  /** Tell the source how busy the agent is (0..1); simulated sources heat up with it. */
  setUtilization?(fraction: number): void;
  /**
   * Clock steps (ratios, fastest first) of a CPU whose clock can be held under a temperature
   * ceiling (setClockCeiling). Absent: the clock is the firmware's alone.
   */
  readonly clockSteps?: readonly number[];
  /**
   * Hold the temperature under `ceilingC` by capping the CPU clock, in the device's own fast
   * loop (a kernel thermal governor with a passive trip point: it acts within a fraction of a
   * second, which a user-space sample loop cannot promise); null lets the clock run free.
   */
  setClockCeiling?(ceilingC: number | null): void;
  close?(): void;
}

export interface CapacitySnapshot {
  state: ThermalState;
  /** 0..1: how far the device is from its soft thermal limit, load considered. */
  headroom: number;
  slots: number;
  freeSlots: number;
  /** Fuel units per second the device can sustain now (calibrated rate x throttling). */
  fuelRate: number;
  /** Whether the agent may take one more task now, and if not, why. */
  accepts: boolean;
  reason: string | null;
  /** Optional detail (capacity layer): the temperature used, or null without a sensor. */
  tempC?: number | null;
  /** Optional detail: predicted temperature after the horizon if one more task ran (null: no model/sensor). */
  predictedC?: number | null;
  /** Optional detail: at or above the hard limit, running tasks should be stopped, not just left to finish. */
  overHardLimit?: boolean;
  /**
   * Tasks the device should run at once now (0..slots): the executor starts no more than
   * this, and a gateway fills no more. Absent: `slots`.
   */
  budget?: number;
  /** Temperature the device's clock governor should hold the CPU under (soft limit − margin), or null when the clock is not ours to govern. */
  ceilingC?: number | null;
  /**
   * The forecast by load, entry k-1 for k tasks running (k = 1..budget, or 1..slots while the
   * budget is 0): the clock ratio a slot holds indefinitely under the ceiling (0..1) ...
   */
  sustain?: number[];
  /** ... and the real seconds it can run k tasks at full clock before reaching the ceiling (capped at 3600). */
  sprintS?: number[];
  /** Temperature trend, deg C per minute (smoothed), or null before two readings. */
  trendCPerMin?: number | null;
}

// ---- additions by the capacity layer (additive: nothing above changes) -------------------

/** One Linux thermal zone as read from /sys/class/thermal (temperatures in deg C). */
export interface ThermalZoneReading {
  /** e.g. 'thermal_zone0' */
  name: string;
  /** The zone's `type` file, e.g. 'cpu-thermal', or null when unreadable. */
  type: string | null;
  tempC: number;
  /** Trip points: `type` is the kernel's trip type ('passive', 'active', 'hot', 'critical'). */
  trips: { type: string; tempC: number }[];
}

/**
 * Optional extra detail a SensorSource may attach to a reading. Kept separate so that
 * code building a SensorReading by hand need not know about it.
 */
export interface SensorDetail {
  zones?: ThermalZoneReading[];
}

/** Temperature thresholds in deg C. State boundaries: warm/hot/critical; hardLimit stops running tasks. */
export interface Thresholds {
  warmC: number;
  hotC: number;
  /** Soft limit: no work at or above it (on a Pi, the firmware's 80 C throttle point). */
  criticalC: number;
  /** At or above it running tasks should be stopped (on a Pi, 85 C). */
  hardLimitC: number;
  /** A state is left only once the temperature is this far back below its boundary. */
  hysteresisC: number;
}

/** First-order thermal parameters: T' = (P(u)·R + T_amb − T) / tau. */
export interface ThermalParams {
  /** Heat the SoC dissipates idle and at full load on all cores at full clock (W). */
  idleW: number;
  fullW: number;
  /** Junction-to-ambient thermal resistance (C/W). */
  rThCPerW: number;
  /** Time constant (s). */
  tauS: number;
  ambientC: number;
  /** Dynamic power scales with (freqRatio ^ powerExponent): ~2 for DVFS (f·V²). Default 2. */
  powerExponent?: number;
}

/** Frequency steps the board's firmware/governor walks down when hot (ratios of max clock). */
export interface ThrottleBehaviour {
  /** Temperature at which the clock starts stepping down (deg C). */
  throttleC: number;
  /** Clock steps, first = full speed (1), then lower ratios, e.g. Pi 4: 1, 1000/1500, 750/1500, 600/1500. */
  steps: number[];
  /** The clock steps back up once the temperature is this far below throttleC. */
  recoverC: number;
  /** Minimum simulated seconds between two step changes (the firmware polls, it does not jump). */
  stepIntervalS: number;
}

export interface BatterySpec {
  capacityWh: number;
  /** Power source at start in the simulator. */
  startSource: 'ac' | 'battery';
  startPct: number;
}

export interface DeviceProfile {
  name: string;
  description: string;
  cores: number;
  /** Task slots the agent offers on this device (normally = cores, fewer on small devices). */
  slots: number;
  thermal: ThermalParams;
  thresholds: Thresholds;
  throttle: ThrottleBehaviour;
  /** null: mains only. */
  battery: BatterySpec | null;
  /** Below this battery charge (percent) while on battery the agent takes no work. */
  minBatteryPct: number;
  /** Relative CPU speed (fuel rate factor) against the machine the calibration ran on; 1 = Pi 4. */
  speed: number;
  /** Whether the board reports Raspberry Pi firmware throttled flags (get_throttled). */
  firmwareFlags: boolean;
  /** Memory the simulator reports as free (MB). */
  memFreeMb: number;
}
