/**
 * Agent configuration: one zod schema, filled from (lowest to highest precedence)
 * defaults < JSON config file < environment (SWARMLET_*) < command-line flags.
 * Every source is validated the same way, so a bad value anywhere gives one clear error
 * naming the setting and where it came from.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { checkRegion } from '../protocol/topics.js';

const hexKey = z.string().regex(/^[0-9a-f]{64}$/i, 'expected a 64-hex-digit Ed25519 public key').transform((s) => s.toLowerCase());

/** A broker: `mqtt://host:port` or `mqtts://...`; username/password only for foreign brokers (e.g. Mosquitto). */
export const BrokerSchema = z.object({
  url: z.string().regex(/^mqtts?:\/\/[^\s]+$/, 'expected mqtt://host:port or mqtts://host:port'),
  username: z.string().min(1).max(256).optional(),
  password: z.string().max(1024).optional(),
}).strict();

const LimitsSchema = z.object({
  fuel: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).default(2_000_000_000),
  memoryPages: z.number().int().min(1).max(65536).default(256),
  timeoutMs: z.number().int().min(1).max(3_600_000).default(10_000),
}).strict();

const OutboxSchema = z.object({
  /** Most unacknowledged results kept; past it the agent stops bidding until acks arrive. */
  maxEntries: z.number().int().min(1).max(1_000_000).default(10_000),
  /** Most bytes of unacknowledged results kept (same effect as maxEntries). */
  maxBytes: z.number().int().min(64 * 1024).max(4 * 1024 ** 3).default(16 * 1024 ** 2),
  /** How long a result waits for its ack before it is published again. */
  resendAfterMs: z.number().int().min(100).max(86_400_000).default(30_000),
}).strict();

export const AgentConfigSchema = z.object({
  brokers: z.array(z.union([z.string(), BrokerSchema]).transform((b) => (typeof b === 'string' ? parseBrokerUrl(b) : b))).min(1, 'at least one broker URL is needed'),
  meshId: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/).default('swarmlet'),
  region: z.string().superRefine((r, ctx) => {
    try { checkRegion(r); } catch (e) { ctx.addIssue({ code: 'custom', message: (e as Error).message }); }
  }).default('local'),
  /** Key file; created (mode 0600) when missing. Default: DATA_DIR/node.key. */
  keyFile: z.string().min(1).optional(),
  dataDir: z.string().min(1).default('.data/agent'),
  /** Simulated device profile (sim/profiles.ts); null = real sensors. */
  profile: z.string().min(1).max(64).nullable().default(null),
  /** Simulated time runs this many times faster (sim sensors only). */
  timeScale: z.number().positive().max(10_000).default(1),
  /** Task slots; default: the profile's, or the number of CPUs for real sensors. */
  slots: z.number().int().min(1).max(1024).optional(),
  priceFloor: z.number().finite().min(0).max(1e12).default(1),
  trustedPublishers: z.array(hexKey).max(256).default([]),
  advertIntervalMs: z.number().int().min(100).max(86_400_000).default(30_000),
  /** How often sensors are read (state changes are advertised right away). */
  sampleIntervalMs: z.number().int().min(20).max(600_000).default(1_000),
  location: z.object({ lat: z.number().min(-90).max(90), lon: z.number().min(-180).max(180) }).strict().nullable().default(null),
  limits: LimitsSchema.default(LimitsSchema.parse({})),
  /** Fuel units per second; when absent it is measured by a short calibration run. */
  fuelRate: z.number().positive().optional(),
  /** Capacity thresholds (deg C) overriding the profile's (or the defaults for real sensors). */
  thresholds: z.object({
    warmC: z.number().finite(), hotC: z.number().finite(), criticalC: z.number().finite(),
    hardLimitC: z.number().finite(), hysteresisC: z.number().finite().min(0),
  }).partial().strict().optional(),
  /** On battery below this charge (percent), take no work. */
  minBatteryPct: z.number().min(0).max(100).optional(),
  outbox: OutboxSchema.default(OutboxSchema.parse({})),
  reconnect: z.object({ minMs: z.number().int().min(10).default(500), maxMs: z.number().int().min(10).default(30_000) }).strict().default({ minMs: 500, maxMs: 30_000 }),
  connectTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
  /** Close the agent's own worker pool after this long without tasks (0 = keep it); it restarts on demand. */
  runnerIdleMs: z.number().int().min(0).max(86_400_000).default(300_000),
  /** Longest SIGTERM waits for running tasks before giving up on them. */
  drainTimeoutMs: z.number().int().min(0).max(3_600_000).default(15_000),
  /** How long to wait for a module to arrive on its retained topic. */
  moduleFetchTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
  /**
   * TEST/SIMULATION ONLY: sign a wrong output for this share (0..1) of tasks, so the
   * gateway's verification can be exercised. Never set it on a real device.
   */
  cheat: z.object({ rate: z.number().min(0).max(1) }).strict().optional(),
}).strict();

export type AgentConfig = z.infer<typeof AgentConfigSchema>;
export type AgentConfigInput = z.input<typeof AgentConfigSchema>;
export type BrokerConfig = z.infer<typeof BrokerSchema>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** `mqtt://user:pass@host:1883` -> {url without credentials, username, password}. */
export function parseBrokerUrl(raw: string): BrokerConfig {
  let u: URL;
  try { u = new URL(raw); } catch { throw new ConfigError(`broker URL ${JSON.stringify(raw)} is not a URL`); }
  if (u.protocol !== 'mqtt:' && u.protocol !== 'mqtts:') throw new ConfigError(`broker URL ${JSON.stringify(raw)}: only mqtt:// and mqtts:// are supported`);
  const out: BrokerConfig = { url: `${u.protocol}//${u.host}` };
  if (u.username) out.username = decodeURIComponent(u.username);
  if (u.password) out.password = decodeURIComponent(u.password);
  return out;
}

/** Validate a whole config object; throws ConfigError naming the first bad setting. */
export function parseAgentConfig(input: unknown, source = 'config'): AgentConfig {
  const r = AgentConfigSchema.safeParse(input);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new ConfigError(`${source}: ${i.path.join('.') || '(root)'}: ${i.message}`);
  }
  const c = r.data;
  if (c.reconnect.maxMs < c.reconnect.minMs) throw new ConfigError(`${source}: reconnect.maxMs is below reconnect.minMs`);
  if (c.location) c.location = coarseLocation(c.location);
  return c;
}

/** Round to 0.1 degree (about 11 km): enough to prefer nearby work, too coarse to find a house. */
export function coarseLocation(l: { lat: number; lon: number }): { lat: number; lon: number } {
  return { lat: Math.round(l.lat * 10) / 10, lon: Math.round(l.lon * 10) / 10 };
}

export const keyFileOf = (c: AgentConfig): string => c.keyFile ?? join(c.dataDir, 'node.key');

/** Settings that may come from flags or env, by flag name. */
export interface AgentOverrides {
  broker?: string[];
  'mesh-id'?: string;
  region?: string;
  'key-file'?: string;
  'data-dir'?: string;
  'sim-profile'?: string;
  'time-scale'?: string;
  slots?: string;
  'price-floor'?: string;
  'trusted-publisher'?: string[];
  'advert-interval-ms'?: string;
  lat?: string;
  lon?: string;
  'max-fuel'?: string;
  'max-memory-pages'?: string;
  'max-timeout-ms'?: string;
  'fuel-rate'?: string;
}

/** Environment variable for each override. Lists are comma-separated. */
export const ENV_NAMES: Record<keyof AgentOverrides, string> = {
  broker: 'SWARMLET_BROKERS',
  'mesh-id': 'SWARMLET_MESH_ID',
  region: 'SWARMLET_REGION',
  'key-file': 'SWARMLET_KEY_FILE',
  'data-dir': 'SWARMLET_DATA_DIR',
  'sim-profile': 'SWARMLET_SIM_PROFILE',
  'time-scale': 'SWARMLET_TIME_SCALE',
  slots: 'SWARMLET_SLOTS',
  'price-floor': 'SWARMLET_PRICE_FLOOR',
  'trusted-publisher': 'SWARMLET_TRUSTED_PUBLISHERS',
  'advert-interval-ms': 'SWARMLET_ADVERT_INTERVAL_MS',
  lat: 'SWARMLET_LAT',
  lon: 'SWARMLET_LON',
  'max-fuel': 'SWARMLET_MAX_FUEL',
  'max-memory-pages': 'SWARMLET_MAX_MEMORY_PAGES',
  'max-timeout-ms': 'SWARMLET_MAX_TIMEOUT_MS',
  'fuel-rate': 'SWARMLET_FUEL_RATE',
};

const LIST_KEYS = new Set<keyof AgentOverrides>(['broker', 'trusted-publisher']);

export function overridesFromEnv(env: NodeJS.ProcessEnv): AgentOverrides {
  const o: Record<string, string | string[]> = {};
  for (const [k, name] of Object.entries(ENV_NAMES) as [keyof AgentOverrides, string][]) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    o[k] = LIST_KEYS.has(k) ? v.split(',').map((s) => s.trim()).filter(Boolean) : v;
  }
  return o as AgentOverrides;
}

function num(v: string | undefined, name: string, from: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new ConfigError(`${from}: ${name} must be a number, got ${JSON.stringify(v)}`);
  return n;
}

/** Apply overrides onto a raw (not yet validated) config object. */
export function applyOverrides(base: Record<string, unknown>, o: AgentOverrides, from: string): Record<string, unknown> {
  const c: Record<string, unknown> = { ...base };
  if (o.broker?.length) c.brokers = o.broker;
  if (o['mesh-id'] !== undefined) c.meshId = o['mesh-id'];
  if (o.region !== undefined) c.region = o.region;
  if (o['key-file'] !== undefined) c.keyFile = o['key-file'];
  if (o['data-dir'] !== undefined) c.dataDir = o['data-dir'];
  if (o['sim-profile'] !== undefined) c.profile = o['sim-profile'];
  const set = (key: string, flag: keyof AgentOverrides) => {
    const n = num(o[flag] as string | undefined, `--${flag}`, from);
    if (n !== undefined) c[key] = n;
  };
  set('timeScale', 'time-scale');
  set('slots', 'slots');
  set('priceFloor', 'price-floor');
  set('advertIntervalMs', 'advert-interval-ms');
  set('fuelRate', 'fuel-rate');
  if (o['trusted-publisher']?.length) c.trustedPublishers = o['trusted-publisher'];
  const lat = num(o.lat, '--lat', from);
  const lon = num(o.lon, '--lon', from);
  if ((lat === undefined) !== (lon === undefined)) throw new ConfigError(`${from}: --lat and --lon go together`);
  if (lat !== undefined) c.location = { lat, lon };
  const limits = { ...((base.limits as Record<string, unknown> | undefined) ?? {}) };
  const lf = num(o['max-fuel'], '--max-fuel', from);
  const lm = num(o['max-memory-pages'], '--max-memory-pages', from);
  const lt = num(o['max-timeout-ms'], '--max-timeout-ms', from);
  if (lf !== undefined) limits.fuel = lf;
  if (lm !== undefined) limits.memoryPages = lm;
  if (lt !== undefined) limits.timeoutMs = lt;
  if (Object.keys(limits).length) c.limits = limits;
  return c;
}

export interface LoadOptions {
  /** JSON config file. */
  file?: string;
  /** Highest precedence (command-line flags). */
  flags?: AgentOverrides;
  /** Environment to read SWARMLET_* from; pass {} to ignore the process environment. */
  env?: NodeJS.ProcessEnv;
}

/** defaults < file < env < flags, validated. Throws ConfigError with a one-line reason. */
export function loadAgentConfig(opts: LoadOptions = {}): AgentConfig {
  let raw: Record<string, unknown> = {};
  if (opts.file) {
    let text: string;
    try { text = readFileSync(opts.file, 'utf8'); } catch (e) { throw new ConfigError(`cannot read config file ${opts.file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`); }
    try { raw = JSON.parse(text); } catch (e) { throw new ConfigError(`config file ${opts.file} is not JSON: ${(e as Error).message}`); }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(`config file ${opts.file} must hold a JSON object`);
  }
  raw = applyOverrides(raw, overridesFromEnv(opts.env ?? process.env), 'environment');
  raw = applyOverrides(raw, opts.flags ?? {}, 'flags');
  return parseAgentConfig(raw, opts.file ? `config (${opts.file} + env + flags)` : 'config');
}
