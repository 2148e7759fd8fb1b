/**
 * A simulated device's CPU: tasks take the device's time, not the host's.
 *
 * The task itself runs on the host (real wasm, real output, real fuel count), then its slot
 * stays busy until the modelled core has burned that fuel: one core does `fuelPerSecond`
 * fuel per simulated second at full clock, times the clock ratio of the moment (DVFS steps,
 * firmware throttling, the governor's cap), so a throttled device really finishes later and a
 * fast one sooner. Wall time = simulated time / timeScale. Host speed drops out as long as
 * the host runs the task faster than the modelled device would.
 *
 * One timer per device: it is set for the earliest finish at the present clock and set again
 * whenever the model moves on (each sensor read, a clock change), so a clock change mid-task
 * moves the finish time.
 */
import type { RunLimits, RunOutcome, TaskRunner } from '../agent/runtime/types.js';
import { DEFAULT_RUN_LIMITS } from '../agent/runtime/types.js';
import type { SimSensorSource } from './sensors.js';

export interface ModelledRunnerOptions {
  /** Fuel one core of this device burns per simulated second at full clock (its profile's speed included). */
  fuelPerSecond: number;
  /** Milliseconds clock (default Date.now; the sensors' clock in tests). */
  clock?: () => number;
}

interface Waiter {
  /** Model clock-seconds (∫ clock ratio dt) when the task started. */
  startClockS: number;
  /** Clock-seconds of work the task needs. */
  needClockS: number;
  /** Wall-clock time past which it counts as timed out (ms). */
  timeoutAt: number;
  finish: (timedOut: boolean) => void;
}

export class ModelledRunner implements TaskRunner {
  private readonly waiting = new Set<Waiter>();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly clock: () => number;

  constructor(private readonly host: TaskRunner, private readonly sensors: SimSensorSource, private readonly o: ModelledRunnerOptions) {
    if (!Number.isFinite(o.fuelPerSecond) || o.fuelPerSecond <= 0) throw new Error(`modelled runner: fuelPerSecond must be a positive number (got ${String(o.fuelPerSecond)})`);
    this.clock = o.clock ?? Date.now;
    sensors.onAdvance(() => this.poll());
  }

  get size(): number {
    return this.host.size;
  }

  /** Tasks waiting for the modelled core to finish them. */
  get pending(): number {
    return this.waiting.size;
  }

  async run(module: Uint8Array, input: Uint8Array, limits?: Partial<RunLimits>, opts?: { expectedHash?: Uint8Array }): Promise<RunOutcome> {
    const t0 = this.clock();
    this.sensors.sync();
    const startClockS = this.sensors.model.clockS;
    const out = await this.host.run(module, input, limits, opts);
    if (out.fuel <= 0 || this.closed) return out;
    const timeoutMs = limits?.timeoutMs ?? DEFAULT_RUN_LIMITS.timeoutMs;
    const timedOut = await new Promise<boolean>((finish) => {
      this.waiting.add({ startClockS, needClockS: out.fuel / this.o.fuelPerSecond, timeoutAt: t0 + timeoutMs, finish });
      this.sensors.sync(); // brings the model to now and polls
    });
    const wallMs = this.clock() - t0;
    if (!timedOut) return { ...out, wallMs };
    // Killed at its time limit, as the real runner does: the fuel burned by then, no output.
    const burned = Math.min(out.fuel, Math.floor((this.sensors.model.clockS - startClockS) * this.o.fuelPerSecond));
    return { ok: false, error: { kind: 'timeout', message: `task ran past its ${timeoutMs} ms time limit on the modelled device` }, fuel: burned, wallMs };
  }

  /** Finish what is done, then set the timer for the next finish at the present clock. */
  private poll(): void {
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    if (this.waiting.size === 0 || this.closed) return;
    const now = this.clock();
    const { clockS, freqRatio } = this.sensors.model;
    const scale = this.sensors.timeScale;
    let nextMs = Infinity;
    for (const w of this.waiting) {
      const left = w.needClockS - (clockS - w.startClockS);
      if (left <= 1e-9 || now >= w.timeoutAt) {
        this.waiting.delete(w);
        w.finish(left > 1e-9);
        continue;
      }
      const ms = freqRatio > 0 ? ((left / freqRatio) / scale) * 1000 : Infinity;
      nextMs = Math.min(nextMs, ms, w.timeoutAt - now);
    }
    if (Number.isFinite(nextMs)) {
      this.timer = setTimeout(() => { this.timer = null; this.sensors.sync(); }, Math.max(1, Math.ceil(nextMs)));
    }
  }

  /**
   * Stops the device's CPU: tasks still on it never finish (as when a device is switched off;
   * their leases run out). The host runner is not ours to close.
   */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    this.waiting.clear();
  }
}
