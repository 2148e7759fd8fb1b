/**
 * First-order thermal maths shared by the simulator (sim/thermal.ts) and the capacity
 * tracker's prediction: dT/dt = (P(u)·R_th + T_ambient − T) / tau. Pure functions, so the
 * tracker can ask "what if one more task ran?" without touching any simulation state.
 */
import type { ThermalParams } from './types.js';

const clamp01 = (x: number): number => (x < 0 ? 0 : x > 1 ? 1 : x);

/** SoC heat (W) at utilization u (0..1) with the clock at freqRatio of its maximum. */
export function powerW(p: ThermalParams, utilization: number, freqRatio = 1): number {
  const dynamic = (p.fullW - p.idleW) * clamp01(utilization) * Math.pow(clamp01(freqRatio), p.powerExponent ?? 2);
  return p.idleW + dynamic;
}

/** The temperature the device settles at if u and the clock stay as they are. */
export function steadyStateC(p: ThermalParams, utilization: number, freqRatio = 1, ambientC = p.ambientC): number {
  return ambientC + powerW(p, utilization, freqRatio) * p.rThCPerW;
}

/**
 * Exact solution of the first-order equation over `seconds` from `fromC` (power held
 * constant): T(t) = Tss + (T0 − Tss)·e^(−t/tau). Exact, so any step size is stable.
 */
export function relaxC(fromC: number, targetC: number, tauS: number, seconds: number): number {
  if (seconds <= 0) return fromC;
  return targetC + (fromC - targetC) * Math.exp(-seconds / tauS);
}

/** Temperature after `horizonS` at utilization u from `fromC` with the clock held at freqRatio (default full: throttling only cools). */
export function predictC(p: ThermalParams, fromC: number, utilization: number, horizonS: number, ambientC = p.ambientC, freqRatio = 1): number {
  return relaxC(fromC, steadyStateC(p, utilization, freqRatio, ambientC), p.tauS, horizonS);
}

/** Seconds to go from `fromC` to `toC` at constant utilization (no throttling), or Infinity if it never gets there. */
export function secondsToReachC(p: ThermalParams, fromC: number, toC: number, utilization: number, ambientC = p.ambientC): number {
  if (toC === fromC) return 0;
  const tss = steadyStateC(p, utilization, 1, ambientC);
  const a = fromC - tss;
  const b = toC - tss;
  // Reachable only when toC lies strictly between fromC and the steady state.
  if (Math.sign(a) !== Math.sign(b) || Math.abs(b) >= Math.abs(a) || b === 0) return Infinity;
  return p.tauS * Math.log(a / b);
}
