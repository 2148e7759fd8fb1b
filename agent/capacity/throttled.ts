/**
 * Raspberry Pi firmware throttled flags. The same 32-bit value comes from
 * `/sys/devices/platform/soc/soc:firmware/get_throttled` (the kernel prints it with "%x\n",
 * hex without 0x) or `vcgencmd get_throttled` ("throttled=0x50005").
 * Bits 0-3 now: under-voltage, ARM frequency capped, throttled, soft temperature limit;
 * bits 16-19: the same since boot.
 */
import type { ThrottledFlags } from './types.js';

export interface ParsedThrottled extends ThrottledFlags {
  raw: number;
  underVoltage: boolean;
  freqCapped: boolean;
  throttled: boolean;
  softTempLimit: boolean;
  underVoltageSinceBoot: boolean;
  freqCappedSinceBoot: boolean;
  throttledSinceBoot: boolean;
  softTempLimitSinceBoot: boolean;
}

export const THROTTLED_BITS = { underVoltage: 1, freqCapped: 2, throttled: 4, softTempLimit: 8 } as const;

/**
 * Parse the flags from a number or from any of the text forms the firmware uses. Text is
 * always hex (both the sysfs file and vcgencmd print hex). Throws on anything else.
 */
export function parseThrottled(value: string | number): ParsedThrottled {
  let raw: number;
  if (typeof value === 'number') {
    raw = value;
  } else {
    const m = /^\s*(?:throttled=)?(?:0x)?([0-9a-f]{1,8})\s*$/i.exec(value);
    if (!m) throw new Error(`get_throttled: expected a hex value like "0x50005" or "throttled=0x0", got ${JSON.stringify(value.slice(0, 40))}`);
    raw = parseInt(m[1]!, 16);
  }
  if (!Number.isInteger(raw) || raw < 0 || raw > 0xffffffff) throw new Error(`get_throttled: ${raw} is not a 32-bit unsigned value`);
  const now = raw & 0xf;
  const sinceBoot = (raw >>> 16) & 0xf;
  return {
    raw,
    now,
    sinceBoot,
    underVoltage: (now & 1) !== 0,
    freqCapped: (now & 2) !== 0,
    throttled: (now & 4) !== 0,
    softTempLimit: (now & 8) !== 0,
    underVoltageSinceBoot: (sinceBoot & 1) !== 0,
    freqCappedSinceBoot: (sinceBoot & 2) !== 0,
    throttledSinceBoot: (sinceBoot & 4) !== 0,
    softTempLimitSinceBoot: (sinceBoot & 8) !== 0,
  };
}

/** Encode flags back into the firmware's value (the simulator uses this). */
export function encodeThrottled(now: number, sinceBoot: number): number {
  return ((sinceBoot & 0xf) << 16) | (now & 0xf);
}
