/**
 * The thermal governor's maths: which clock to run at, and what a device can sustain, so
 * that it works as hard as its cooling allows without reaching its throttle point.
 *
 * Why a clock and not a duty cycle: dynamic power grows with f^k (k ≈ 2 with DVFS) while
 * work grows with f, so under a heat budget all cores at a lower clock do more work than
 * fewer cores at full clock (a fixed duty cycle), and a clock that flips between two steps
 * near the ceiling does as much as the firmware's own throttling, without the firmware ever
 * stepping in (no throttled seconds, no surprise slowdowns mid-task). Pure functions of the
 * model parameters, so the tracker and the tests can ask "what if" freely.
 */
import type { ThermalParams } from './types.js';
import { relaxC, secondsToReachC, steadyStateC } from './thermal-math.js';

/** Longest sprint reported (s): "practically forever" for a device that never reaches its ceiling. */
export const MAX_SPRINT_S = 3600;

/**
 * The fastest clock step (ratios, fastest first) at which `utilization` keeps the temperature
 * under `targetC` for the next `horizonS` seconds; the slowest step when none does.
 */
export function clockFor(p: ThermalParams, tempC: number, utilization: number, steps: readonly number[], targetC: number, horizonS: number, ambientC = p.ambientC): number {
  const slowest = steps[steps.length - 1] ?? 1;
  if (utilization <= 0) return steps[0] ?? 1;
  for (const f of steps) {
    if (relaxC(tempC, steadyStateC(p, utilization, f, ambientC), p.tauS, horizonS) < targetC) return f;
  }
  return slowest;
}

/**
 * The mean clock ratio a core can hold indefinitely at `utilization` with the temperature at
 * `targetC`: mixing the two steps around the heat budget (as a governor flipping between them
 * does), or, below the slowest step, that step for a share of the time. 1 when the budget
 * allows full clock; `steps` null means the clock is fixed at 1 (only a duty cycle is left).
 */
export function sustainedClock(p: ThermalParams, utilization: number, steps: readonly number[] | null, targetC: number, ambientC = p.ambientC): number {
  if (utilization <= 0) return 1;
  const k = p.powerExponent ?? 2;
  const dynamic = (p.fullW - p.idleW) * Math.min(1, utilization);
  const allowed = (targetC - ambientC) / p.rThCPerW - p.idleW; // watts left for work at the ceiling
  const budget = dynamic > 0 ? allowed / dynamic : Infinity; // allowed mean f^k
  if (budget >= 1) return 1;
  if (budget <= 0) return 0;
  const list = steps && steps.length ? steps : [1];
  for (let i = 0; i < list.length - 1; i++) {
    const a = list[i]!;
    const b = list[i + 1]!;
    if (budget <= a ** k && budget >= b ** k) {
      const share = (budget - b ** k) / (a ** k - b ** k);
      return share * a + (1 - share) * b;
    }
  }
  const slowest = list[list.length - 1]!;
  return slowest * Math.min(1, budget / slowest ** k);
}

/** Seconds until `utilization` at full clock brings the temperature from `tempC` to `targetC` (0 if there already; capped). */
export function sprintSeconds(p: ThermalParams, tempC: number, utilization: number, targetC: number, ambientC = p.ambientC): number {
  if (tempC >= targetC) return 0;
  return Math.min(MAX_SPRINT_S, secondsToReachC(p, tempC, targetC, utilization, ambientC));
}
