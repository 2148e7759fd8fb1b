/**
 * CapacityTracker: turns sensor readings into the state, headroom, task budget, free slots,
 * clock and fuel rate the agent runs, advertises and bids with.
 *
 * Rules (in this order; the first that refuses wins):
 *  1. On battery below `minBatteryPct`: no work. (Unknown charge on battery does not refuse.)
 *  2. State `critical` (temperature reached criticalC, the soft limit): no work, and no queued
 *     task starts (budget 0). Running tasks may finish, at the slowest clock where the clock is
 *     ours; at hardLimitC the snapshot sets `overHardLimit`.
 *  3. State `hot`, on a device whose clock the agent does not govern: new work only while
 *     busySlots < floor(slots × hotSlotFraction) (default ½: a 4-slot Pi takes at most 2 tasks
 *     while hot, a 1-slot device none). A governed device needs no such duty cycle: rule 6 holds
 *     it under its ceiling at a lower clock, which does more work for the same heat.
 *  4. No free slot.
 *  5. Prediction: with the first-order model, the budget is the most tasks that would not
 *     bring the temperature to the soft limit within `predictionHorizonS` (at the slowest clock
 *     the governor may pick, else at full clock). freeSlots = budget − busy. Once refused for
 *     prediction, work is taken again only when the prediction is `hysteresisC` below the limit.
 *  6. Clock (governed devices, see governClock): `ceilingC` = soft limit − `ceilingMarginC`, the
 *     temperature the device's clock governor holds (governor.ts: the fastest step that stays
 *     under it): the device runs at its knee and the firmware never has to throttle it.
 * Headroom = (softLimit − predicted at full clock with one more task) / (softLimit − ambient), 0..1.
 * The forecast for placement, for 1..budget tasks running: `sustain` (clock a slot holds
 * indefinitely under the ceiling), `sprintS` (how long that load runs at full clock before the
 * ceiling); and the temperature trend. Durations are real seconds (device seconds / timeScale).
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
import { sprintSeconds, sustainedClock } from './governor.js';
import { MAX_FORECAST } from '../../protocol/messages.js';
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
  /** The governor holds the temperature this far under the soft limit (deg C). Default 0.5. */
  ceilingMarginC?: number;
  /** Device seconds per real second (simulated devices); advertised durations are real. Default 1. */
  timeScale?: number;
}

/** Device seconds over which the temperature trend is smoothed. */
const TREND_TAU_S = 20;


const clamp01 = (x: number): number => (x < 0 ? 0 : x > 1 ? 1 : x);
const round1 = (x: number): number => Math.round(x * 10) / 10;
const round3 = (x: number): number => Math.round(x * 1000) / 1000;

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
  private readonly margin: number;
  private readonly timeScale: number;
  /** Clock steps of a CPU held under a ceiling (fastest first), once governClock() is called. */
  private steps: readonly number[] | null = null;
  private trend: { at: number; tempC: number; perMin: number | null } | null = null;

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
    this.margin = positive('ceilingMarginC', opts.ceilingMarginC ?? 0.5, true);
    this.timeScale = positive('timeScale', opts.timeScale ?? 1);
    this.last = {
      state: 'cool', headroom: 0, slots: opts.slots, freeSlots: 0, fuelRate: 0,
      accepts: false, reason: 'no sensor reading yet', tempC: null, predictedC: null, overHardLimit: false,
    };
  }

  snapshot(): CapacitySnapshot {
    return { ...this.last };
  }

  /**
   * The device holds its CPU under a temperature ceiling by itself (clock steps: ratios,
   * fastest first): the budget then counts on its slowest step, no duty cycle is needed while
   * hot, and snapshots carry the ceiling to hold.
   */
  governClock(steps: readonly number[]): void {
    const list = [...steps].filter((f) => Number.isFinite(f) && f > 0 && f <= 1).sort((a, b) => b - a);
    if (list.length === 0) throw new Error(`capacity: clock steps must be ratios in (0, 1] (got ${JSON.stringify(steps)})`);
    this.steps = list;
  }

  /** `running`: tasks running now (the rest of busySlots wait in the queue); default all of them, up to slots. */
  update(reading: SensorReading, busySlots: number, running = busySlots): CapacitySnapshot {
    if (!Number.isInteger(busySlots) || busySlots < 0) throw new Error(`capacity: busySlots must be a non-negative integer (got ${String(busySlots)})`);
    const slots = this.opts.slots;
    const busy = Math.min(busySlots, slots);
    const run = Math.max(0, Math.min(running, busy));
    const load = reading.load !== null && Number.isFinite(reading.load) ? clamp01(reading.load) : null;
    const fuelRate = this.opts.calibratedFuelRate * (this.opts.speedFactor ?? 1) * this.throttleFactor(reading, busy, load);
    const temp = reading.tempC !== null && Number.isFinite(reading.tempC) ? reading.tempC : null;
    const trendCPerMin = this.updateTrend(reading.at, temp);
    const snap = temp === null ? this.fromLoad(load, busy, fuelRate) : this.fromTemperature(temp, load, busy, run, fuelRate);
    snap.trendCPerMin = trendCPerMin;
    const batteryReason = this.batteryRefusal(reading);
    if (batteryReason) Object.assign(snap, { accepts: false, freeSlots: 0, budget: 0, reason: batteryReason });
    this.last = snap;
    return { ...snap };
  }

  /** Smoothed dT/dt in deg C per real minute (null until two readings). */
  private updateTrend(at: number, temp: number | null): number | null {
    if (temp === null || !Number.isFinite(at)) { this.trend = null; return null; }
    const t = this.trend;
    if (!t || at <= t.at) {
      if (!t) this.trend = { at, tempC: temp, perMin: null };
      return t?.perMin ?? null;
    }
    const dtS = (at - t.at) / 1000;
    const inst = ((temp - t.tempC) / dtS) * 60;
    const w = 1 - Math.exp(-(dtS * this.timeScale) / TREND_TAU_S);
    const perMin = t.perMin === null ? inst : t.perMin + w * (inst - t.perMin);
    this.trend = { at, tempC: temp, perMin };
    return Math.round(perMin * 100) / 100;
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
      budget: slots, ceilingC: null, // nothing thermal to hold back; free slots follow the load
    };
  }

  private predict(temp: number, utilization: number, freqRatio = 1): number {
    return this.opts.thermal ? predictC(this.opts.thermal, temp, clamp01(utilization), this.horizon, this.ambient, freqRatio) : temp;
  }

  private fromTemperature(temp: number, load: number | null, busy: number, running: number, fuelRate: number): CapacitySnapshot {
    const { slots, thresholds: th, thermal } = this.opts;
    const state = this.sm.update(temp);
    const soft = th.criticalC;
    const overHardLimit = temp >= th.hardLimitC;
    const governed = this.steps !== null && thermal !== undefined;
    const slowest = governed ? this.steps![this.steps!.length - 1]! : 1;
    const base = Math.max(busy / slots, load ?? 0);
    const predicted = this.predict(temp, base + 1 / slots);
    const headroom = clamp01((soft - predicted) / Math.max(1, soft - this.ambient));
    const cap = state === 'critical' ? 0 : state === 'hot' && !governed ? Math.floor(slots * this.hotFraction) : slots;
    // Prediction hysteresis: once refused, the forecast must clear the limit by hysteresisC.
    const limit = this.predictionBlocked ? soft - th.hysteresisC : soft;
    // CPU load our running tasks do not explain (other processes on a real device).
    const background = Math.max(0, (load ?? 0) - running / slots);
    let budget = 0;
    while (budget < cap && this.predict(temp, background + (budget + 1) / slots, slowest) < limit) budget++;
    if (cap > busy) this.predictionBlocked = budget <= busy;
    const freeSlots = Math.max(0, budget - busy);
    let reason: string | null = null;
    if (state === 'critical') reason = `critical: ${round1(temp)} C is at or above ${th.criticalC} C`;
    else if (state === 'hot' && !governed && busy >= cap) reason = `hot: ${round1(temp)} C; at most ${cap} of ${slots} slots while hot`;
    else if (busy >= slots) reason = 'no free slot';
    else if (freeSlots === 0) reason = `one more task would reach ${round1(predicted)} C within ${this.horizon} s (limit ${round1(limit)} C)`;
    const snap: CapacitySnapshot = {
      state, headroom, slots, freeSlots, fuelRate, accepts: freeSlots > 0, reason,
      tempC: temp, predictedC: thermal ? predicted : null, overHardLimit, budget, ceilingC: governed ? soft - this.margin : null,
    };
    if (thermal) {
      const target = soft - this.margin;
      snap.sustain = [];
      snap.sprintS = [];
      for (let k = 1; k <= Math.min(MAX_FORECAST, budget > 0 ? budget : slots); k++) {
        const u = Math.min(1, background + k / slots);
        snap.sustain.push(round3(sustainedClock(thermal, u, governed ? this.steps : null, target, this.ambient)));
        snap.sprintS.push(round1(sprintSeconds(thermal, temp, u, target, this.ambient) / this.timeScale));
      }
    }
    return snap;
  }
}
