/**
 * A simulated fleet: N real agents (real MQTT link, real runtime, real receipts and
 * outboxes) with simulated sensors, sharing one worker pool, so one machine carries
 * hundreds of devices. Each device runs its tasks at its modelled speed (sim/cpu.ts): a
 * task's wall time follows the device's profile and clock (throttled = slower), at
 * `fuelRate` fuel per simulated second for one Pi 4 core at full clock. Cheaters sign wrong
 * outputs for a share of tasks (to exercise the gateway's verification).
 *
 * The agents run in this thread, or (`threads` > 0) split across worker threads
 * (sim/fleet-worker.ts), each with its own task pool: a whole mesh in one process then
 * uses more than one core (the gateway and broker on the main thread, the devices'
 * signing, verifying and MQTT work beside them).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { generateIdentity, loadIdentity, saveIdentity, type Identity } from '../protocol/identity.js';
import { startAgent, type AgentHandle, type AgentConfigInput } from '../agent/index.js';
import { LazyRunner } from '../agent/setup.js';
import type { TaskRunner } from '../agent/runtime/types.js';
import { calibratedFuelRate } from '../agent/calibrate.js';
import { getProfile, profileNames } from './profiles.js';
import { createSimSensors, type SimSensorSource } from './sensors.js';
import { ModelledRunner } from './cpu.js';
import { createLogger } from '../util/log.js';

export interface FleetOptions {
  brokers: string[];
  devices: number;
  dataDir: string;
  /** Gateway public keys (hex) the devices trust for modules, offers, assignments and acks. */
  trustedPublishers: string[];
  meshId?: string;
  region?: string;
  /** "pi4-bare:2,pi5-active:1" (weights) or "pi4-bare,router" (equal weights). Default: a mix of every profile. */
  profiles?: string;
  /** How many devices cheat, and on what share of their tasks. */
  cheaters?: number;
  cheatRate?: number;
  /** Simulated seconds per real second (thermal model, task durations, sensor sampling). */
  timeScale?: number;
  /**
   * Fuel one Pi 4 core (profile speed 1) burns per simulated second at full clock; other
   * profiles scale by their speed. Default: the host's own calibrated rate / timeScale (a Pi 4
   * core then takes about as long in real time as the host does). A benchmark sets it low,
   * so that modelled durations, not the host, set the pace.
   */
  fuelRate?: number;
  advertIntervalMs?: number;
  /** Worker threads shared by every device's tasks; default: the machine's cores. */
  poolSize?: number;
  runner?: TaskRunner;
  /** Per-device overrides merged into each agent's config. */
  agent?: Partial<AgentConfigInput>;
  /**
   * Worker threads to run the agents in (0 = this thread). Default: 1 for 16 devices or
   * more (unless a runner is given, which cannot cross threads), else 0.
   */
  threads?: number;
  /** Run only these device indices here (the rest run elsewhere); used by fleet-worker. */
  only?: number[];
  /** Device indices not to start at all (e.g. their keys are revoked); they keep their place and key. */
  skip?: number[];
}

export interface SimDevice {
  index: number;
  nodeId: string;
  publicKey: Uint8Array;
  profile: string;
  cheater: boolean;
  handle: AgentHandle | null;
  /** The device's simulated sensors and thermal model (devices in this thread only). */
  sensors?: SimSensorSource;
}

/** What the thermal model of one device has recorded so far (simulated seconds, deg C, joules). */
export interface DeviceThermals {
  index: number;
  profile: string;
  tempC: number;
  peakC: number;
  /** Simulated seconds of firmware throttling. */
  throttledS: number;
  /** Simulated seconds the agent's governor held the clock under the firmware's. */
  cappedS: number;
  /** Modelled SoC energy (J). */
  energyJ: number;
  /** ∫ clock ratio dt (s). */
  clockS: number;
  clock: number;
  timeS: number;
}

export interface Fleet {
  devices: SimDevice[];
  /** Crash one device (no drain; its last will marks it offline). */
  kill(index: number): void;
  /** Every running device's thermal record, by index. */
  thermals(): Promise<DeviceThermals[]>;
  stop(): Promise<void>;
}

export function thermalsOf(d: SimDevice): DeviceThermals | null {
  if (!d.sensors) return null;
  d.sensors.sync();
  const m = d.sensors.model;
  return {
    index: d.index, profile: d.profile, tempC: m.tempC, peakC: m.peakC, throttledS: m.throttledS, cappedS: m.cappedS,
    energyJ: m.energyJ, clockS: m.clockS, clock: m.freqRatio, timeS: m.timeS,
  };
}

/** The modelled rate of one Pi 4 core per simulated second: as given, else the host runner's calibrated rate / timeScale. */
export async function fleetFuelRate(o: Pick<FleetOptions, 'fuelRate' | 'dataDir' | 'timeScale'>, runner: TaskRunner): Promise<number> {
  if (o.fuelRate !== undefined) {
    if (!Number.isFinite(o.fuelRate) || o.fuelRate <= 0) throw new Error(`fleet: fuelRate must be a positive number (got ${String(o.fuelRate)})`);
    return o.fuelRate;
  }
  return (await calibratedFuelRate(runner, join(o.dataDir, 'calibration.json'))) / (o.timeScale ?? 1);
}

/** Expand a profile mix into one profile name per device, deterministic by index. */
export function profileMix(mix: string | undefined, n: number): string[] {
  const known = profileNames();
  const parts = (mix ?? known.join(',')).split(',').map((s) => s.trim()).filter(Boolean);
  const weighted: string[] = [];
  for (const p of parts) {
    const [name, w] = p.split(':');
    getProfile(name!); // throws naming the known profiles
    const weight = w === undefined ? 1 : Number(w);
    if (!Number.isInteger(weight) || weight < 0 || weight > 10_000) throw new Error(`bad weight in profile mix: ${p}`);
    for (let i = 0; i < weight; i++) weighted.push(name!);
  }
  if (weighted.length === 0) throw new Error('profile mix is empty');
  return Array.from({ length: n }, (_, i) => weighted[i % weighted.length]!);
}

/** Load or create the key of every simulated device (so they can be enrolled before start). */
export function fleetIdentities(dataDir: string, n: number): Identity[] {
  const ids: Identity[] = [];
  for (let i = 0; i < n; i++) {
    const dir = join(dataDir, `dev-${String(i).padStart(3, '0')}`);
    const file = join(dir, 'node.key');
    if (existsSync(file)) ids.push(loadIdentity(file));
    else {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const id = generateIdentity();
      saveIdentity(file, id);
      ids.push(id);
    }
  }
  return ids;
}

/** Default worker threads for a fleet of `n` devices. */
export function defaultFleetThreads(n: number, hasRunner: boolean): number {
  return !hasRunner && n >= 16 ? 1 : 0;
}

export async function startFleet(o: FleetOptions): Promise<Fleet> {
  const threads = o.threads ?? (o.only ? 0 : defaultFleetThreads(o.devices, !!o.runner));
  if (threads > 0) {
    if (o.runner) throw new Error('a fleet in worker threads cannot share a runner object; omit runner or set threads: 0');
    const { startThreadedFleet } = await import('./fleet-threads.js');
    return startThreadedFleet(o, threads);
  }
  const log = createLogger('sim');
  const n = o.devices;
  const ids = fleetIdentities(o.dataDir, n);
  const profiles = profileMix(o.profiles, n);
  const cheaters = Math.min(n, o.cheaters ?? 0);
  const ownRunner = !o.runner;
  const runner = o.runner ?? new LazyRunner(o.poolSize ?? Math.max(1, availableParallelism()));
  const devices: SimDevice[] = ids.map((id, i) => ({
    index: i, nodeId: id.nodeId, publicKey: id.publicKey, profile: profiles[i]!, cheater: i >= n - cheaters, handle: null,
  }));
  const started: AgentHandle[] = [];
  const cpus = new Map<number, ModelledRunner>();
  const here = o.only ? new Set(o.only) : null;
  const timeScale = o.timeScale ?? 1;
  const skip = new Set(o.skip ?? []);
  try {
    const pi4Rate = await fleetFuelRate(o, runner);
    for (const d of devices) {
      if ((here && !here.has(d.index)) || skip.has(d.index)) continue;
      const dir = join(o.dataDir, `dev-${String(d.index).padStart(3, '0')}`);
      const profile = getProfile(d.profile);
      const cfg: AgentConfigInput = {
        brokers: o.brokers,
        meshId: o.meshId ?? 'swarmlet',
        region: o.region ?? 'local',
        dataDir: dir,
        keyFile: join(dir, 'node.key'),
        profile: d.profile,
        timeScale,
        // Fuel per real second: what the device delivers, as a gateway sees it.
        fuelRate: pi4Rate * timeScale,
        trustedPublishers: o.trustedPublishers,
        ...(o.advertIntervalMs ? { advertIntervalMs: o.advertIntervalMs } : {}),
        ...(d.cheater ? { cheat: { rate: o.cheatRate ?? 1 } } : {}),
        ...o.agent,
      };
      d.sensors = createSimSensors(profile, { timeScale });
      const cpu = new ModelledRunner(runner, d.sensors, { fuelPerSecond: pi4Rate * profile.speed });
      cpus.set(d.index, cpu);
      d.handle = await startAgent(cfg, { identity: ids[d.index]!, runner: cpu, sensors: d.sensors, logger: log.child({ device: d.index, profile: d.profile }) });
      started.push(d.handle);
    }
  } catch (e) {
    await Promise.allSettled(started.map((h) => h.stop()));
    await Promise.allSettled([...cpus.values()].map((c) => c.close()));
    if (ownRunner) await runner.close();
    throw e;
  }
  log.info({ devices: started.length, skipped: skip.size || undefined, cheaters, profiles: [...new Set(profiles)] }, 'fleet started');
  return {
    devices,
    kill(index) {
      const d = devices[index];
      if (d?.handle) {
        d.handle.kill();
        d.handle = null;
        void cpus.get(index)?.close(); // its running tasks die with it
      }
    },
    async thermals() {
      return devices.flatMap((d) => (d.handle ? [thermalsOf(d)!] : []));
    },
    async stop() {
      await Promise.allSettled(devices.map((d) => d.handle?.stop()));
      for (const d of devices) d.handle = null;
      await Promise.allSettled([...cpus.values()].map((c) => c.close()));
      if (ownRunner) await runner.close();
    },
  };
}
