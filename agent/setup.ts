/**
 * Start-up helpers for the agent: identity, sensors, the task runner (lazy), capacity,
 * plus two small utilities (a rate-limited log of dropped messages, a bounded recent set).
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { Identity } from '../protocol/identity.js';
import { loadOrCreateKey } from './signer.js';
import type { Logger } from '../util/log.js';
import { calibratedFuelRate } from './calibrate.js';
import { keyFileOf, type AgentConfig } from './config.js';
import { ProcessRunner, type ProcessRunnerOptions } from './process-runner.js';
import type { CapacityOptions } from './capacity/tracker.js';
import { CapacityTracker } from './capacity/tracker.js';
import type { SensorSource, Thresholds } from './capacity/types.js';
import type { RunLimits, RunOutcome, TaskRunner } from './runtime/types.js';
import type { PoolOptions } from './runtime/pool.js';
import { fileMeteredStore } from './runtime/metered-store.js';
import { tasksBuildDir } from '../util/paths.js';

/** Load the key file, or create it (mode 0600) on first start. */
export function setupIdentity(config: AgentConfig): Identity {
  return loadOrCreateKey(keyFileOf(config));
}

/** Simulated sensors for a profile, else the real ones (systeminformation loads only then). */
export async function setupSensors(config: AgentConfig, given?: SensorSource): Promise<{ sensors: SensorSource; ownSensors: boolean }> {
  if (given) return { sensors: given, ownSensors: false };
  if (config.profile) {
    const { createSimSensors } = await import('../sim/sensors.js');
    return { sensors: createSimSensors(config.profile, { timeScale: config.timeScale }), ownSensors: true };
  }
  const { createRealSensors } = await import('./capacity/real-sensors.js');
  return { sensors: await createRealSensors(), ownSensors: true };
}

/**
 * A runner whose worker pool starts on first use: an idle agent on a small device holds
 * no worker threads (each is a whole V8 isolate) and never loads the wasm instrumenter.
 */
export class LazyRunner implements TaskRunner {
  private pool: Promise<TaskRunner> | null = null;
  private active = 0;
  private idleTimer: NodeJS.Timeout | null = null;
  /**
   * @param idleCloseMs close the pool after this long without tasks (0 = never): worker
   *   threads and the instrumenter hold hundreds of MB a small device wants back, at the
   *   cost of a cold start (pool start, instrumentation) on the next task.
   */
  constructor(public size: number, private readonly idleCloseMs = 0, private readonly poolOptions: Omit<PoolOptions, 'size'> = {}) {}

  /** Set the pool size; only before first use. */
  resize(size: number): void {
    if (!this.pool) this.size = size;
  }

  private get(): Promise<TaskRunner> {
    this.pool ??= import('./runtime/pool.js').then((m) => m.createWorkerPool({ ...this.poolOptions, size: this.size }));
    return this.pool;
  }

  get started(): boolean {
    return this.pool !== null;
  }

  async run(module: Uint8Array, input: Uint8Array, limits?: Partial<RunLimits>, opts?: { expectedHash?: Uint8Array }): Promise<RunOutcome> {
    this.active++;
    if (this.idleTimer) { clearTimeout(this.idleTimer); this.idleTimer = null; }
    try {
      return await (await this.get()).run(module, input, limits, opts);
    } finally {
      if (--this.active === 0 && this.idleCloseMs > 0) {
        this.idleTimer = setTimeout(() => {
          this.idleTimer = null;
          if (this.active === 0) void this.close();
        }, this.idleCloseMs);
        this.idleTimer.unref();
      }
    }
  }

  async close(): Promise<void> {
    if (this.idleTimer) { clearTimeout(this.idleTimer); this.idleTimer = null; }
    const p = this.pool;
    this.pool = null;
    if (p) await (await p).close();
  }
}

export function setupRunner(config: AgentConfig, given?: TaskRunner, log?: Logger): { runner: TaskRunner; ownRunner: boolean } {
  if (given) return { runner: given, ownRunner: false };
  const size = config.slots ?? defaultSlots();
  if (config.runner === 'thread') {
    const metered = fileMeteredStore({ readOnly: [join(tasksBuildDir(), 'metered')], writable: join(config.dataDir, 'metered') });
    return { runner: new LazyRunner(size, config.runnerIdleMs, { metered }), ownRunner: true };
  }
  const opts: ProcessRunnerOptions = { idleCloseMs: config.runnerIdleMs, meteredDir: join(config.dataDir, 'metered') };
  if (log) opts.logger = log.child({ part: 'runner' });
  return { runner: new ProcessRunner(size, opts), ownRunner: true };
}

const defaultSlots = (): number => Math.max(1, Math.min(1024, availableParallelism()));

/** Defaults for real devices without a profile: the Raspberry Pi's limits (80 C soft, 85 C hard). */
export const DEFAULT_THRESHOLDS: Thresholds = Object.freeze({ warmC: 60, hotC: 70, criticalC: 80, hardLimitC: 85, hysteresisC: 3 });
/** Used when calibration fails: a conservative Pi-4-class rate, so the agent still works. */
export const FALLBACK_FUEL_RATE = 50_000_000;

export interface CapacitySetup {
  tracker: CapacityTracker;
  slots: number;
  fuelRate: number;
}

export async function setupCapacity(config: AgentConfig, runner: TaskRunner, log: Logger): Promise<CapacitySetup> {
  const profile = config.profile ? (await import('../sim/profiles.js')).getProfile(config.profile) : null;
  const slots = config.slots ?? profile?.slots ?? (runner.size > 0 ? runner.size : defaultSlots());
  if (runner instanceof LazyRunner || runner instanceof ProcessRunner) runner.resize(slots);
  let fuelRate = config.fuelRate;
  if (fuelRate === undefined) {
    try {
      fuelRate = await calibratedFuelRate(runner, join(config.dataDir, 'calibration.json'));
    } catch (e) {
      log.warn({ err: (e as Error).message, fallback: FALLBACK_FUEL_RATE }, 'fuel-rate calibration failed; using a fallback rate');
      fuelRate = FALLBACK_FUEL_RATE;
    }
  }
  let opts: CapacityOptions;
  if (profile) {
    const { capacityOptionsFromProfile } = await import('./capacity/from-profile.js');
    const o: Parameters<typeof capacityOptionsFromProfile>[1] = { calibratedFuelRate: fuelRate, simulated: true, slots };
    if (config.thresholds) o.thresholds = config.thresholds;
    if (config.minBatteryPct !== undefined) o.minBatteryPct = config.minBatteryPct;
    opts = capacityOptionsFromProfile(profile, o);
  } else {
    opts = {
      slots,
      calibratedFuelRate: fuelRate,
      thresholds: { ...DEFAULT_THRESHOLDS, ...config.thresholds },
      minBatteryPct: config.minBatteryPct ?? 20,
    };
  }
  return { tracker: new CapacityTracker(opts), slots: opts.slots, fuelRate: opts.calibratedFuelRate * (opts.speedFactor ?? 1) };
}

/** Logs dropped messages, at most `perSecond` lines a second (a flood must not flood the log). */
export class DropLog {
  private windowStart = 0;
  private inWindow = 0;
  private suppressed = 0;
  onDrop: (topic: string, reason: string) => void = () => {};
  constructor(private readonly log: Logger, private readonly perSecond = 10) {}

  drop(topic: string, reason: string): void {
    this.onDrop(topic, reason);
    const now = Date.now();
    if (now - this.windowStart >= 1000) {
      if (this.suppressed) this.log.warn({ suppressed: this.suppressed }, 'more messages dropped (not logged one by one)');
      this.windowStart = now;
      this.inWindow = 0;
      this.suppressed = 0;
    }
    if (++this.inWindow <= this.perSecond) this.log.warn({ topic, reason }, 'dropped message');
    else this.suppressed++;
  }
}

/** Remembers the last `max` keys; add() is false for a key seen recently. */
export class RecentSet {
  private readonly set = new Set<string>();
  constructor(private readonly max: number) {}
  add(key: string): boolean {
    if (this.set.has(key)) return false;
    this.set.add(key);
    if (this.set.size > this.max) this.set.delete(this.set.values().next().value!);
    return true;
  }
}
