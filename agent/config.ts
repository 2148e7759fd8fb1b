/**
 * Agent configuration: one valibot schema, filled from (lowest to highest precedence)
 * defaults < JSON config file < environment (SWARMLET_*) < command-line flags.
 * Every source is validated the same way, so a bad value anywhere gives one clear error
 * naming the setting and where it came from.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as v from 'valibot';
import { check } from '../util/valid.js';
import { checkRegion } from '../protocol/topics.js';
import { MAX_TASK_FUEL } from '../protocol/messages.js';

// valibot rather than zod: the agent is meant to run in a few tens of MB, and zod alone
// costs ~12 MB of RSS against ~3 MB for valibot (bench/agent). All numbers are finite.
const finite = () => v.pipe(v.number(), v.finite());
/** A whole number in [min, max]. */
const int = (min: number, max = Number.MAX_SAFE_INTEGER) => v.pipe(v.number(), v.safeInteger(), v.minValue(min), v.maxValue(max));
/** A finite number in [min, max]. */
const range = (min: number, max: number) => v.pipe(v.number(), v.finite(), v.minValue(min), v.maxValue(max));
const positive = (max = Number.MAX_VALUE) => v.pipe(v.number(), v.finite(), v.gtValue(0), v.maxValue(max));
const str = (min: number, max = Infinity) => v.pipe(v.string(), v.minLength(min), v.maxLength(max));

const hexKey = v.pipe(
  v.string(),
  v.regex(/^[0-9a-f]{64}$/i, 'expected a 64-hex-digit Ed25519 public key'),
  v.transform((s) => s.toLowerCase()),
);

/** A broker: `mqtt://host:port` or `mqtts://...`; username/password only for foreign brokers (e.g. Mosquitto). */
export const BrokerSchema = v.strictObject({
  url: v.pipe(v.string(), v.regex(/^mqtts?:\/\/[^\s]+$/, 'expected mqtt://host:port or mqtts://host:port')),
  username: v.optional(str(1, 256)),
  password: v.optional(str(0, 1024)),
});

const LimitsSchema = v.strictObject({
  fuel: v.optional(int(1, MAX_TASK_FUEL), 2_000_000_000),
  memoryPages: v.optional(int(1, 65536), 256),
  timeoutMs: v.optional(int(1, 3_600_000), 10_000),
});

const OutboxSchema = v.strictObject({
  /** Most unacknowledged results kept; past it the agent stops bidding until acks arrive. */
  maxEntries: v.optional(int(1, 1_000_000), 10_000),
  /** Most bytes of unacknowledged results kept (same effect as maxEntries). */
  maxBytes: v.optional(int(64 * 1024, 4 * 1024 ** 3), 16 * 1024 ** 2),
  /** How long a result waits for its ack before it is published again. */
  resendAfterMs: v.optional(int(100, 86_400_000), 30_000),
  /**
   * While other tasks are still running, a finished result may wait this long to share a
   * journal write (one fsync) and then a message (one signature) with the next ones; an
   * agent with nothing else running writes and publishes at once. 0 = never wait.
   */
  lingerMs: v.optional(int(0, 1000), 50),
});

const RegionSchema = v.pipe(
  v.string(),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    try { checkRegion(dataset.value); } catch (e) { addIssue({ message: (e as Error).message }); }
  }),
);

export const AgentConfigSchema = v.strictObject({
  brokers: v.pipe(
    // A URL string becomes a broker object first, so either form is checked by BrokerSchema
    // and a bad field is named (a plain union would only say "string or object").
    v.array(v.pipe(
      v.union([v.string(), v.looseObject({})]),
      v.transform((b) => (typeof b === 'string' ? parseBrokerUrl(b) : b)),
      BrokerSchema,
    )),
    v.minLength(1, 'at least one broker URL is needed'),
  ),
  meshId: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z0-9._-]{1,64}$/)), 'swarmlet'),
  region: v.optional(RegionSchema, 'local'),
  /** Key file; created (mode 0600) when missing. Default: DATA_DIR/node.key. */
  keyFile: v.optional(str(1)),
  dataDir: v.optional(str(1), '.data/agent'),
  /** Simulated device profile (sim/profiles.ts); null = real sensors. */
  profile: v.nullish(str(1, 64), null),
  /** Simulated time runs this many times faster (sim sensors only). */
  timeScale: v.optional(positive(10_000), 1),
  /** Task slots; default: the profile's, or the number of CPUs for real sensors. */
  slots: v.optional(int(1, 1024)),
  priceFloor: v.optional(range(0, 1e12), 1),
  trustedPublishers: v.optional(v.pipe(v.array(hexKey), v.maxLength(256)), () => []),
  advertIntervalMs: v.optional(int(100, 86_400_000), 30_000),
  /**
   * How often sensors are read (state changes are advertised right away). Default 1 s of
   * device time: 1000 ms, or 1000 / timeScale ms (20 at least) for a simulated profile.
   */
  sampleIntervalMs: v.optional(int(20, 600_000)),
  location: v.nullish(v.strictObject({ lat: range(-90, 90), lon: range(-180, 180) }), null),
  limits: v.optional(LimitsSchema, () => ({})),
  /** Fuel units per second; when absent it is measured by a short calibration run. */
  fuelRate: v.optional(positive()),
  /** Capacity thresholds (deg C) overriding the profile's (or the defaults for real sensors). */
  thresholds: v.optional(v.strictObject({
    warmC: v.optional(finite()), hotC: v.optional(finite()), criticalC: v.optional(finite()),
    hardLimitC: v.optional(finite()), hysteresisC: v.optional(v.pipe(v.number(), v.finite(), v.minValue(0))),
  })),
  /** On battery below this charge (percent), take no work. */
  minBatteryPct: v.optional(range(0, 100)),
  outbox: v.optional(OutboxSchema, () => ({})),
  /** Backoff between attempts; after a lost connection the first retry waits minMs + random(0..spreadMs). */
  reconnect: v.optional(v.strictObject({ minMs: v.optional(int(10), 500), maxMs: v.optional(int(10), 30_000), spreadMs: v.optional(int(0, 600_000), 5000) }), () => ({})),
  /**
   * How long to wait for the connection and then for CONNACK. Long enough to ride out a
   * broker working through a connect storm: a device that gives up re-queues its CONNECT
   * behind everyone else's and the broker still pays for the abandoned one.
   */
  connectTimeoutMs: v.optional(int(100, 600_000), 30_000),
  /**
   * Where tasks run: 'process' (default) in a child process that ends after `runnerIdleMs`
   * without tasks, so the agent gives all of the runtime's memory back between bursts;
   * 'thread' in worker threads inside the agent's own process (no cold start, but what the
   * threads used stays resident).
   */
  runner: v.optional(v.picklist(['process', 'thread']), 'process'),
  /** End the task runner (process or worker pool) after this long without tasks (0 = keep it); it restarts on demand. */
  runnerIdleMs: v.optional(int(0, 86_400_000), 10_000),
  /** Longest SIGTERM waits for running tasks before giving up on them. */
  drainTimeoutMs: v.optional(int(0, 3_600_000), 15_000),
  /** How long to wait for a module to arrive on its retained topic. */
  moduleFetchTimeoutMs: v.optional(int(100, 600_000), 10_000),
  /**
   * TEST/SIMULATION ONLY: sign a wrong output for this share (0..1) of tasks, so the
   * gateway's verification can be exercised. Never set it on a real device.
   */
  cheat: v.optional(v.strictObject({ rate: range(0, 1) })),
});

export type AgentConfig = v.InferOutput<typeof AgentConfigSchema>;
export type AgentConfigInput = v.InferInput<typeof AgentConfigSchema>;
export type BrokerConfig = v.InferOutput<typeof BrokerSchema>;

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
  const r = check(AgentConfigSchema, input);
  if (!r.ok) throw new ConfigError(`${source}: ${r.reason}`);
  const c = r.value;
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
