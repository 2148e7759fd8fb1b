/** Checking the limits a caller passes (a programming error throws; it is not an outcome). */
import { DEFAULT_RUN_LIMITS, type RunLimits } from './types.js';

export const MAX_TIMEOUT_MS = 10 * 60_000;

export function resolveLimits(partial: Partial<RunLimits> = {}): RunLimits {
  const l = { ...DEFAULT_RUN_LIMITS, ...Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined)) } as RunLimits;
  const check = (name: keyof RunLimits, min: number, max: number) => {
    const v = l[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new RangeError(`limits.${name} must be an integer in [${min}, ${max}], got ${String(v)}`);
  };
  check('fuel', 1, Number.MAX_SAFE_INTEGER);
  check('memoryPages', 1, 65536);
  check('timeoutMs', 1, MAX_TIMEOUT_MS);
  return l;
}
