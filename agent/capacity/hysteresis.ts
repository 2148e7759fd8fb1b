/**
 * Thermal state with hysteresis. Going up (cool → warm → hot → critical) happens as soon as
 * the temperature reaches a boundary: heat is a safety matter. Going down happens only once
 * the temperature is `hysteresisC` below the boundary, so a temperature wobbling around a
 * boundary by less than the hysteresis changes the state at most once.
 */
import type { ThermalState } from '../../protocol/messages.js';
import type { Thresholds } from './types.js';

const STATES: readonly ThermalState[] = ['cool', 'warm', 'hot', 'critical'];

export function validateThresholds(t: Thresholds): Thresholds {
  const nums = [t.warmC, t.hotC, t.criticalC, t.hardLimitC, t.hysteresisC];
  if (!nums.every((n) => typeof n === 'number' && Number.isFinite(n))) throw new Error(`thresholds: every value must be a finite number (got ${JSON.stringify(t)})`);
  if (!(t.warmC < t.hotC && t.hotC < t.criticalC && t.criticalC <= t.hardLimitC)) {
    throw new Error(`thresholds: need warmC < hotC < criticalC <= hardLimitC (got ${t.warmC}/${t.hotC}/${t.criticalC}/${t.hardLimitC})`);
  }
  if (t.hysteresisC < 0) throw new Error(`thresholds: hysteresisC must be >= 0 (got ${t.hysteresisC})`);
  return t;
}

export class ThermalStateMachine {
  private level = 0;
  private readonly bounds: readonly number[];

  constructor(private readonly t: Thresholds) {
    validateThresholds(t);
    this.bounds = [t.warmC, t.hotC, t.criticalC];
  }

  get state(): ThermalState {
    return STATES[this.level]!;
  }

  private rawLevel(tempC: number): number {
    let l = 0;
    for (const b of this.bounds) if (tempC >= b) l++;
    return l;
  }

  update(tempC: number): ThermalState {
    if (!Number.isFinite(tempC)) throw new Error(`thermal state: temperature must be finite (got ${tempC})`);
    const up = this.rawLevel(tempC);
    const down = this.rawLevel(tempC + this.t.hysteresisC);
    if (up > this.level) this.level = up;
    else if (down < this.level) this.level = down;
    return this.state;
  }

  reset(): void {
    this.level = 0;
  }
}
