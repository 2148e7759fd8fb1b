/**
 * CapacityTracker: turns sensor readings into the state, headroom, free slots and fuel
 * rate the agent advertises and bids with.
 *
 * Rules (in this order; the first that refuses wins):
 *  1. On battery below `minBatteryPct`: no work. (Unknown charge on battery does not refuse.)
 *  2. State `critical` (temperature reached criticalC, the soft limit): no work. Running
 *     tasks may finish; at hardLimitC the snapshot sets `overHardLimit` so the agent stops them.
 *  3. State `hot`: new work only while busySlots < floor(slots × hotSlotFraction)
 *     (default ½: a 4-slot Pi takes at most 2 tasks while hot, a 1-slot device none).
 *  4. No free slot.
 *  5. Prediction: with the first-order model, one more task (utilization + 1/slots) must not
 *     bring the temperature to the soft limit within `predictionHorizonS`. freeSlots counts
 *     how many more tasks pass this test. Once refused for prediction, work is taken again
 *     only when the prediction is `hysteresisC` below the limit (no flapping here either).
 * Headroom = (softLimit − predicted) / (softLimit − ambient), clamped to 0..1.
 * Without a temperature sensor: state `cool`, free slots limited by CPU load
 * (round(slots × (1 − load))), headroom = 1 − load, and `reason` says so.
 * fuelRate = calibratedFuelRate × speedFactor × throttling factor: the cpufreq ratio while the
 * CPU is busy (an idle governor lowers the clock by choice, so at idle the last busy ratio is
 * kept unless the board is clearly not throttled), else `throttledFactor` when the firmware
 * flags say capped/throttled, else 1.
 */
import type { CapacitySnapshot, SensorReading, ThermalParams, Thresholds } from './types.js';
import { ThermalStateMachine, validateThresholds } from './hysteresis.js';
import { predictC } from './thermal-math.js';
import { THROTTLED_BITS } from './throttled.js';

export interface CapacityOptions {
  slots: number;
  /** Fuel units per second measured by the agent's calibration run. */
  calibratedFuelRate: number;
  thresholds: Thresholds;
  /** On battery below this percentage, no work. */
  minBatteryPct: number;
  /** Thermal model for prediction; without it, the prediction is the current temperature. */
  thermal?: ThermalParams;
  /** Ambient temperature for the prediction (default thermal.ambientC, else 25). */
  ambientC?: number;
  /** How far ahead one more task is simulated (s). Default 30. */
  predictionHorizonS?: number;
  /** Share of slots usable in state `hot` (floor). Default 0.5. */
  hotSlotFraction?: number;
  /** Fuel-rate factor when the firmware says throttled/capped and the clock ratio is unknown. Default 0.5. */
  throttledFactor?: number;
  /** Relative speed (a simulated profile's `speed`); multiplies the calibrated rate. Default 1. */
  speedFactor?: number;
}

const clamp01 = (x: number): number => (x < 0 ? 0 : x > 1 ? 1 : x);
const round1 = (x: number): number => Math.round(x * 10) / 10;

function positive(name: string, v: unknown, allowZero = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) {
    throw new Error(`capacity: ${name} must be a ${allowZero ? 'non-negative' : 'positive'} finite number (got ${String(v)})`);
  }
  return v;
}

export class CapacityTracker {
  private readonly sm: ThermalStateMachine;
  private readonly horizon: number;
  private readonly hotFraction: number;
  private readonly throttledFactor: number;
  private readonly ambient: number;
  private lastBusyFreqRatio: number | null = null;
  private predictionBlocked = false;
  private last: CapacitySnapshot;

  constructor(private readonly opts: CapacityOptions) {
    if (!Number.isInteger(opts.slots) || opts.slots < 1 || opts.slots > 1024) throw new Error(`capacity: slots must be an integer 1..1024 (got ${String(opts.slots)})`);
    positive('calibratedFuelRate', opts.calibratedFuelRate, true);
    positive('minBatteryPct', opts.minBatteryPct, true);
    validateThresholds(opts.thresholds);
    this.sm = new ThermalStateMachine(opts.thresholds);
    this.horizon = positive('predictionHorizonS', opts.predictionHorizonS ?? 30, true);
    this.hotFraction = clamp01(positive('hotSlotFraction', opts.hotSlotFraction ?? 0.5, true));
    this.throttledFactor = clamp01(positive('throttledFactor', opts.throttledFactor ?? 0.5, true));
    positive('speedFactor', opts.speedFactor ?? 1);
    this.ambient = opts.ambientC ?? opts.thermal?.ambientC ?? 25;
    this.last = {
      state: 'cool', headroom: 0, slots: opts.slots, freeSlots: 0, fuelRate: 0,
      accepts: false, reason: 'no sensor reading yet', tempC: null, predictedC: null, overHardLimit: false,
    };
  }

  snapshot(): CapacitySnapshot {
    return { ...this.last };
  }

  update(reading: SensorReading, busySlots: number): CapacitySnapshot {
    if (!Number.isInteger(busySlots) || busySlots < 0) throw new Error(`capacity: busySlots must be a non-negative integer (got ${String(busySlots)})`);
    const slots = this.opts.slots;
    const busy = Math.min(busySlots, slots);
    const load = reading.load !== null && Number.isFinite(reading.load) ? clamp01(reading.load) : null;
    const fuelRate = this.opts.calibratedFuelRate * (this.opts.speedFactor ?? 1) * this.throttleFactor(reading, busy, load);
    const temp = reading.tempC !== null && Number.isFinite(reading.tempC) ? reading.tempC : null;
    const snap = temp === null ? this.fromLoad(load, busy, fuelRate) : this.fromTemperature(temp, load, busy, fuelRate);
    const batteryReason = this.batteryRefusal(reading);
    if (batteryReason) Object.assign(snap, { accepts: false, freeSlots: 0, reason: batteryReason });
    this.last = snap;
    return { ...snap };
  }

  private batteryRefusal(r: SensorReading): string | null {
    const pct = r.power.batteryPct;
    if (r.power.source !== 'battery' || pct === null || pct >= this.opts.minBatteryPct) return null;
    return `on battery at ${round1(pct)}% (below ${this.opts.minBatteryPct}%)`;
  }

  private throttleFactor(r: SensorReading, busy: number, load: number | null): number {
    const flags = r.throttled?.now ?? null;
    const flagged = flags !== null && (flags & (THROTTLED_BITS.freqCapped | THROTTLED_BITS.throttled)) !== 0;
    const ratio = r.cpuFreqRatio !== null && Number.isFinite(r.cpuFreqRatio) && r.cpuFreqRatio > 0 ? Math.min(1, r.cpuFreqRatio) : null;
    if (ratio !== null) {
      if (busy > 0 || (load ?? 0) >= 0.5) return (this.lastBusyFreqRatio = ratio);
      const coolEnough = r.tempC !== null && r.tempC < this.opts.thresholds.criticalC - this.opts.thresholds.hysteresisC;
      if ((flags !== null && !flagged) || coolEnough) this.lastBusyFreqRatio = null;
      return this.lastBusyFreqRatio ?? (flagged ? this.throttledFactor : 1);
    }
    return flagged ? this.throttledFactor : 1;
  }

  private fromLoad(load: number | null, busy: number, fuelRate: number): CapacitySnapshot {
    this.sm.reset();
    this.predictionBlocked = false;
    const slots = this.opts.slots;
    const byLoad = load === null ? slots - busy : Math.round(slots * (1 - load));
    const freeSlots = Math.max(0, Math.min(slots - busy, byLoad));
    const headroom = clamp01(1 - Math.max(load ?? 0, busy / slots));
    const what = load === null ? 'no temperature or load sensor: capacity from free slots only' : `no temperature sensor: capacity from CPU load (${Math.round(load * 100)}%)`;
    return {
      state: 'cool', headroom, slots, freeSlots, fuelRate, accepts: freeSlots > 0,
      reason: freeSlots > 0 ? what : `${what}; no free capacity`, tempC: null, predictedC: null, overHardLimit: false,
    };
  }

  private predict(temp: number, utilization: number): number {
    return this.opts.thermal ? predictC(this.opts.thermal, temp, clamp01(utilization), this.horizon, this.ambient) : temp;
  }

  private fromTemperature(temp: number, load: number | null, busy: number, fuelRate: number): CapacitySnapshot {
    const { slots, thresholds: th } = this.opts;
    const state = this.sm.update(temp);
    const soft = th.criticalC;
    const base = Math.max(busy / slots, load ?? 0);
    const predicted = this.predict(temp, base + 1 / slots);
    const headroom = clamp01((soft - predicted) / Math.max(1, soft - this.ambient));
    const cap = state === 'critical' ? 0 : state === 'hot' ? Math.floor(slots * this.hotFraction) : slots;
    // Prediction hysteresis: once refused, the forecast must clear the limit by hysteresisC.
    const limit = this.predictionBlocked ? soft - th.hysteresisC : soft;
    let freeSlots = 0;
    while (busy + freeSlots < cap && this.predict(temp, base + (freeSlots + 1) / slots) < limit) freeSlots++;
    if (cap > busy) this.predictionBlocked = freeSlots === 0;
    let reason: string | null = null;
    if (state === 'critical') reason = `critical: ${round1(temp)} C is at or above ${th.criticalC} C`;
    else if (state === 'hot' && busy >= cap) reason = `hot: ${round1(temp)} C; at most ${cap} of ${slots} slots while hot`;
    else if (busy >= slots) reason = 'no free slot';
    else if (freeSlots === 0) reason = `one more task would reach ${round1(predicted)} C within ${this.horizon} s (limit ${round1(limit)} C)`;
    return {
      state, headroom, slots, freeSlots, fuelRate, accepts: freeSlots > 0, reason,
      tempC: temp, predictedC: this.opts.thermal ? predicted : null, overHardLimit: temp >= th.hardLimitC,
    };
  }
}
