/**
 * First-order thermal model of one device: dT/dt = (P(u, f)·R_th + T_ambient − T) / tau,
 * with the board's throttling: at or above the throttle point the clock steps down one
 * DVFS step every `stepIntervalS` (less heat, less work per second), and steps back up
 * once the temperature is `recoverC` below it; at the hard limit it drops to the lowest step
 * at once. Time is simulated seconds given to step(); nothing here reads a clock.
 */
import type { DeviceProfile } from '../agent/capacity/types.js';
import { encodeThrottled, THROTTLED_BITS } from '../agent/capacity/throttled.js';
import { powerW, predictC, relaxC, steadyStateC } from '../agent/capacity/thermal-math.js';

/** Longest sub-step (s): the throttle controller looks at the temperature at least this often. */
const MAX_SUBSTEP_S = 0.5;

export interface ThermalModelOptions {
  ambientC?: number;
  /** Start temperature (default: the idle steady state at the ambient temperature). */
  startTempC?: number;
}

function checkFinite(name: string, v: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`thermal model: ${name} must be a finite number (got ${String(v)})`);
  return v;
}

export class ThermalModel {
  tempC: number;
  ambientC: number;
  /** 0..1 of all cores. */
  utilization = 0;
  /** Index into profile.throttle.steps (0 = full speed). */
  stepIndex = 0;
  /** Simulated seconds since the model started. */
  timeS = 0;
  /** Set by the simulator to model a weak power supply (Pi firmware bit 0). */
  underVoltage = false;
  private lastStepChangeS = -Infinity;
  private sinceBoot = 0;

  constructor(readonly profile: DeviceProfile, opts: ThermalModelOptions = {}) {
    this.ambientC = checkFinite('ambientC', opts.ambientC ?? profile.thermal.ambientC);
    this.tempC = checkFinite('startTempC', opts.startTempC ?? steadyStateC(profile.thermal, 0, 1, this.ambientC));
  }

  /** Current clock as a ratio of the maximum (1 = full speed): also the fuel-rate factor. */
  get freqRatio(): number {
    return this.profile.throttle.steps[this.stepIndex] ?? 1;
  }

  get powerW(): number {
    return powerW(this.profile.thermal, this.utilization, this.freqRatio);
  }

  /** Raspberry Pi get_throttled flags for the model's state (null on boards without that firmware). */
  get throttledFlags(): { now: number; sinceBoot: number } | null {
    if (!this.profile.firmwareFlags) return null;
    const now = this.nowFlags();
    return { now, sinceBoot: this.sinceBoot | now };
  }

  get throttledRaw(): number | null {
    const f = this.throttledFlags;
    return f ? encodeThrottled(f.now, f.sinceBoot) : null;
  }

  private nowFlags(): number {
    let f = 0;
    if (this.underVoltage) f |= THROTTLED_BITS.underVoltage;
    if (this.stepIndex > 0) f |= THROTTLED_BITS.freqCapped | THROTTLED_BITS.throttled;
    if (this.tempC >= this.profile.throttle.throttleC) f |= THROTTLED_BITS.softTempLimit;
    return f;
  }

  setUtilization(u: number): void {
    checkFinite('utilization', u);
    if (u < 0 || u > 1) throw new Error(`thermal model: utilization must be within 0..1 (got ${u})`);
    this.utilization = u;
  }

  /** Advance `dtSeconds` of simulated time (optionally changing the utilization first). */
  step(dtSeconds: number, utilization?: number): void {
    checkFinite('dtSeconds', dtSeconds);
    if (dtSeconds < 0) throw new Error(`thermal model: cannot step backwards (${dtSeconds} s)`);
    if (utilization !== undefined) this.setUtilization(utilization);
    let left = dtSeconds;
    while (left > 0) {
      const dt = Math.min(left, MAX_SUBSTEP_S);
      const target = steadyStateC(this.profile.thermal, this.utilization, this.freqRatio, this.ambientC);
      this.tempC = relaxC(this.tempC, target, this.profile.thermal.tauS, dt);
      this.timeS += dt;
      left -= dt;
      this.throttleControl();
      this.sinceBoot |= this.nowFlags();
    }
  }

  private throttleControl(): void {
    const t = this.profile.throttle;
    const last = t.steps.length - 1;
    if (this.tempC >= this.profile.thresholds.hardLimitC) {
      if (this.stepIndex !== last) this.changeStep(last);
      return;
    }
    if (this.timeS - this.lastStepChangeS < t.stepIntervalS) return;
    if (this.tempC >= t.throttleC && this.stepIndex < last) this.changeStep(this.stepIndex + 1);
    else if (this.tempC < t.throttleC - t.recoverC && this.stepIndex > 0) this.changeStep(this.stepIndex - 1);
  }

  private changeStep(i: number): void {
    this.stepIndex = i;
    this.lastStepChangeS = this.timeS;
  }

  /** Steady-state temperature at utilization u with the current clock and ambient. */
  steadyStateC(utilization = this.utilization): number {
    return steadyStateC(this.profile.thermal, utilization, this.freqRatio, this.ambientC);
  }

  /** Temperature after `horizonSeconds` at utilization u from now, at full clock (what the capacity model asks). */
  predict(utilization: number, horizonSeconds: number): number {
    return predictC(this.profile.thermal, this.tempC, utilization, horizonSeconds, this.ambientC);
  }
}
