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
}
