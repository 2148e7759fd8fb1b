/**
 * The simulated-device flags `swarmlet up` and `swarmlet sim` share (time scale, modelled
 * speed, agent thresholds, sampling), and --placement, which `up` and `gateway` share.
 */
import { CliError, numberOption } from '../util/cli.js';
import type { AgentConfigInput } from '../agent/config.js';

export const SIM_OPTIONS = {
  'time-scale': { type: 'string' },
  'fuel-rate': { type: 'string' },
  thresholds: { type: 'string' },
  'sample-interval-ms': { type: 'string' },
} as const;

const THRESHOLD_KEYS = { warm: 'warmC', hot: 'hotC', critical: 'criticalC', hard: 'hardLimitC', hysteresis: 'hysteresisC' } as const;

export const SIM_HELP = {
  'time-scale': 'simulated seconds per real second: thermal model, task durations, sensor sampling (default 1)',
  'fuel-rate': 'fuel one Pi 4 core burns per simulated second at full clock (other profiles scale by their speed; default: this host\'s calibrated rate / time scale)',
  thresholds: `agent thermal thresholds overriding the profiles', deg C, e.g. critical=75,hard=85 (keys: ${Object.keys(THRESHOLD_KEYS).join(', ')})`,
  'sample-interval-ms': 'how often agents read their sensors (default: once a simulated second, 1000 / time scale, 20 at least)',
};

/** "critical=75,hard=85" -> { criticalC: 75, hardLimitC: 85 } */
export function parseThresholds(raw: string): NonNullable<AgentConfigInput['thresholds']> {
  const out: Record<string, number> = {};
  for (const part of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [k, v] = part.split('=');
    const key = k && Object.prototype.hasOwnProperty.call(THRESHOLD_KEYS, k) ? THRESHOLD_KEYS[k as keyof typeof THRESHOLD_KEYS] : undefined;
    if (!key) throw new CliError(`--thresholds: unknown key ${JSON.stringify(k)} (known: ${Object.keys(THRESHOLD_KEYS).join(', ')})`);
    const n = Number(v);
    if (v === undefined || v.trim() === '' || !Number.isFinite(n) || n < -60 || n > 200) throw new CliError(`--thresholds: ${k} must be a temperature from -60 to 200`);
    out[key] = n;
  }
  return out;
}

/** The fleet settings these flags give. */
export function simFromFlags(values: Record<string, unknown>): { timeScale: number; fuelRate?: number; agent: Partial<AgentConfigInput> } {
  const timeScale = numberOption(values, 'time-scale', 1, { min: 0.001, max: 10_000, integer: false });
  const agent: Partial<AgentConfigInput> = {};
  if (typeof values.thresholds === 'string') agent.thresholds = parseThresholds(values.thresholds);
  if (values['sample-interval-ms'] !== undefined) agent.sampleIntervalMs = numberOption(values, 'sample-interval-ms', 1000, { min: 20, max: 600_000 });
  return {
    timeScale, agent,
    ...(values['fuel-rate'] !== undefined ? { fuelRate: numberOption(values, 'fuel-rate', 1, { min: 1e-6, max: 1e15, integer: false }) } : {}),
  };
}

/** --placement thermal|fill (default thermal). */
export function placementOption(values: Record<string, unknown>): 'thermal' | 'fill' {
  const v = (values.placement as string | undefined) ?? 'thermal';
  if (v !== 'thermal' && v !== 'fill') throw new CliError("--placement must be 'thermal' or 'fill'");
  return v;
}
