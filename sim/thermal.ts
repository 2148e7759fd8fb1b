/**
 * First-order thermal model of one device: dT/dt = (P(u, f)·R_th + T_ambient − T) / tau,
 * with the board's throttling: at or above the throttle point the clock steps down one
 * DVFS step every `stepIntervalS` (less heat, less work per second), and steps back up
 * once the temperature is `recoverC` below it; at the hard limit it drops to the lowest step
 * at once. Time is simulated seconds given to step(); nothing here reads a clock.
 *
 * Besides the firmware's throttling the clock can be capped from software (`capIndex`), as
 * a Linux thermal governor does through cpufreq when a passive trip point is set: with a
 * `ceilingC`, at every sub-step the cap is the fastest step that keeps the temperature under
 * it until the next sub-step (governor.ts). The clock runs at the lower of the two. Only the
 * firmware's own stepping counts as throttling (get_throttled flags, `throttledS`), as on a
 * Pi, where a kernel frequency cap sets no firmware bit.
 * The model also keeps what a benchmark needs: throttled seconds, peak temperature,
 * modelled energy (SoC heat, J) and clock-seconds (∫ clock ratio dt, the work a core did).
 */
import type { DeviceProfile } from '../agent/capacity/types.js';
import { encodeThrottled, THROTTLED_BITS } from '../agent/capacity/throttled.js';
import { powerW, predictC, relaxC, steadyStateC } from '../agent/capacity/thermal-math.js';
import { clockFor } from '../agent/capacity/governor.js';

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
  /** The firmware's throttle step: index into profile.throttle.steps (0 = full speed). */
  stepIndex = 0;
  /** Software clock cap (index into the same steps; 0 = none). The clock runs at the slower of the two. */
  capIndex = 0;
  /** The governor holds the temperature under this (deg C), capping the clock; null = no governor. */
  ceilingC: number | null = null;
  /** Simulated seconds the firmware spent throttling (its step above 0). */
  throttledS = 0;
  /** Simulated seconds the software cap held the clock below what the firmware allowed. */
  cappedS = 0;
  /** Hottest temperature seen. */
  peakC: number;
  /** SoC heat dissipated (J): the modelled energy. */
  energyJ = 0;
  /** ∫ clock ratio dt (s): one core busy all along did this much full-clock work. */
  clockS = 0;
  /** Simulated seconds since the model started. */
  timeS = 0;
  /** Set by the simulator to model a weak power supply (Pi firmware bit 0). */
  underVoltage = false;
  private lastStepChangeS = -Infinity;
  private sinceBoot = 0;

  constructor(readonly profile: DeviceProfile, opts: ThermalModelOptions = {}) {
    this.ambientC = checkFinite('ambientC', opts.ambientC ?? profile.thermal.ambientC);
    this.tempC = checkFinite('startTempC', opts.startTempC ?? steadyStateC(profile.thermal, 0, 1, this.ambientC));
    this.peakC = this.tempC;
  }

  /** Current clock as a ratio of the maximum (1 = full speed): also the fuel-rate factor. */
  get freqRatio(): number {
    return this.profile.throttle.steps[Math.max(this.stepIndex, this.capIndex)] ?? 1;
  }

  /** Hold the temperature under `ceilingC` by capping the clock (null: the clock runs free, cap lifted). */
  setClockCeiling(ceilingC: number | null): void {
    if (ceilingC !== null) checkFinite('clock ceiling', ceilingC);
    this.ceilingC = ceilingC;
    if (ceilingC === null) this.capIndex = 0;
    else this.govern(MAX_SUBSTEP_S);
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
      if (this.ceilingC !== null) this.govern(MAX_SUBSTEP_S);
      const f = this.freqRatio;
      const target = steadyStateC(this.profile.thermal, this.utilization, f, this.ambientC);
      this.tempC = relaxC(this.tempC, target, this.profile.thermal.tauS, dt);
      this.energyJ += this.powerW * dt;
      this.clockS += f * dt;
      if (this.stepIndex > 0) this.throttledS += dt;
      if (this.capIndex > this.stepIndex) this.cappedS += dt;
      if (this.tempC > this.peakC) this.peakC = this.tempC;
      this.timeS += dt;
      left -= dt;
      this.throttleControl();
      this.sinceBoot |= this.nowFlags();
    }
  }

  /** The governor's decision for the next `horizonS`: the fastest step that stays under the ceiling. */
  private govern(horizonS: number): void {
    const steps = this.profile.throttle.steps;
    const f = clockFor(this.profile.thermal, this.tempC, this.utilization, steps, this.ceilingC!, horizonS, this.ambientC);
    this.capIndex = Math.max(0, steps.indexOf(f));
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
