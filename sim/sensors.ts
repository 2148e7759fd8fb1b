/**
 * A simulated SensorSource driven by the thermal model. It implements the same interface as
 * the real one, so the agent cannot tell the difference. Simulated time advances lazily on
 * every call by (clock delta × timeScale): with `timeScale: 60` a minute of device time
 * passes each real second, and tests pass their own `clock` to move time by hand.
 */
import type { DeviceProfile, SensorReading, SensorSource } from '../agent/capacity/types.js';
import { powerW } from '../agent/capacity/thermal-math.js';
import { getProfile } from './profiles.js';
import { ThermalModel } from './thermal.js';

export interface SimSensorOptions {
  /** Simulated seconds per real second (default 1). */
  timeScale?: number;
  ambientC?: number;
  startTempC?: number;
  /** Milliseconds clock (default Date.now). */
  clock?: () => number;
}

export type SimSensorSource = SensorSource & {
  setUtilization(f: number): void;
  setClockCeiling(ceilingC: number | null): void;
  readonly clockSteps: readonly number[];
  model: ThermalModel;
  /** Bring the model up to now (simulated time is otherwise advanced lazily, on every call). */
  sync(): void;
  /** Called after the model moved on (the modelled CPU checks its running tasks then). */
  onAdvance(fn: () => void): void;
  readonly timeScale: number;
  setAmbient(c: number): void;
  /** Switch between mains and battery (profiles without a battery refuse 'battery'). */
  setPowerSource(source: 'ac' | 'battery'): void;
  setBatteryPct(pct: number): void;
};

export function createSimSensors(profileOrName: DeviceProfile | string, opts: SimSensorOptions = {}): SimSensorSource {
  const profile = typeof profileOrName === 'string' ? getProfile(profileOrName) : profileOrName;
  const timeScale = opts.timeScale ?? 1;
  if (!Number.isFinite(timeScale) || timeScale <= 0) throw new Error(`sim sensors: timeScale must be a positive number (got ${String(opts.timeScale)})`);
  const clock = opts.clock ?? Date.now;
  const modelOpts: { ambientC?: number; startTempC?: number } = {};
  if (opts.ambientC !== undefined) modelOpts.ambientC = opts.ambientC;
  if (opts.startTempC !== undefined) modelOpts.startTempC = opts.startTempC;
  const model = new ThermalModel(profile, modelOpts);
  let source: 'ac' | 'battery' = profile.battery?.startSource ?? 'ac';
  let batteryPct: number | null = profile.battery ? profile.battery.startPct : null;
  let last = clock();
  const listeners: Array<() => void> = [];

  /** Bring the model up to now under the conditions that held since the last call. */
  function advance(): void {
    step();
    for (const fn of listeners) fn();
  }

  function step(): void {
    const now = clock();
    const dtS = Math.max(0, (now - last) / 1000) * timeScale;
    last = now;
    if (dtS === 0) return;
    if (source === 'battery' && batteryPct !== null && profile.battery) {
      // Drain by the SoC heat (all the power ends up as heat); the rest of the board is ignored.
      const usedWh = (powerW(profile.thermal, model.utilization, model.freqRatio) * dtS) / 3600;
      batteryPct = Math.max(0, batteryPct - (usedWh / profile.battery.capacityWh) * 100);
    }
    model.step(dtS);
  }

  const sources = ['sim.thermal', 'sim.load', 'sim.cpufreq', ...(profile.firmwareFlags ? ['sim.get_throttled'] : []), ...(profile.battery ? ['sim.battery'] : [])];

  return {
    kind: 'sim',
    sources,
    model,
    timeScale,
    clockSteps: profile.throttle.steps,
    sync: advance,
    onAdvance(fn: () => void): void {
      listeners.push(fn);
    },
    setClockCeiling(ceilingC: number | null): void {
      if (ceilingC !== null && (typeof ceilingC !== 'number' || !Number.isFinite(ceilingC) || ceilingC < -60 || ceilingC > 200)) {
        throw new Error(`sim sensors: clock ceiling must be within -60..200 C or null (got ${String(ceilingC)})`);
      }
      if (ceilingC === model.ceilingC) return;
      step();
      model.setClockCeiling(ceilingC);
      for (const fn of listeners) fn(); // the clock may have changed: running tasks' finish times move
    },
    async read(): Promise<SensorReading> {
      advance();
      return {
        at: clock(),
        tempC: Math.round(model.tempC * 1000) / 1000, // millidegree resolution, like the kernel
        load: model.utilization,
        memFreeMb: profile.memFreeMb,
        power: { source, batteryPct: batteryPct === null ? null : Math.round(batteryPct * 10) / 10 },
        throttled: model.throttledFlags,
        cpuFreqRatio: model.freqRatio,
      };
    },
    setUtilization(f: number): void {
      if (typeof f !== 'number' || !Number.isFinite(f) || f < 0) throw new Error(`sim sensors: utilization must be a number within 0..1 (got ${String(f)})`);
      advance();
      model.setUtilization(Math.min(1, f));
      if (model.ceilingC !== null) {
        // The governor reacts to the new load at once (as a kernel governor does to a load change).
        const before = model.freqRatio;
        model.setClockCeiling(model.ceilingC);
        if (model.freqRatio !== before) for (const fn of listeners) fn();
      }
    },
    setAmbient(c: number): void {
      if (typeof c !== 'number' || !Number.isFinite(c) || c < -60 || c > 80) throw new Error(`sim sensors: ambient must be within -60..80 C (got ${String(c)})`);
      advance();
      model.ambientC = c;
    },
    setPowerSource(s: 'ac' | 'battery'): void {
      if (s !== 'ac' && s !== 'battery') throw new Error(`sim sensors: power source must be 'ac' or 'battery' (got ${String(s)})`);
      if (s === 'battery' && !profile.battery) throw new Error(`sim sensors: profile ${profile.name} has no battery`);
      advance();
      source = s;
    },
    setBatteryPct(pct: number): void {
      if (!profile.battery) throw new Error(`sim sensors: profile ${profile.name} has no battery`);
      if (typeof pct !== 'number' || !Number.isFinite(pct) || pct < 0 || pct > 100) throw new Error(`sim sensors: battery percentage must be within 0..100 (got ${String(pct)})`);
      advance();
      batteryPct = pct;
    },
    close(): void {},
  };
}
