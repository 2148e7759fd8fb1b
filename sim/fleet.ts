/**
 * A simulated fleet: N real agents (real MQTT link, real runtime, real receipts and
 * outboxes) with simulated sensors, sharing one worker pool, so one machine carries
 * hundreds of devices. Cheaters sign wrong outputs for a share of tasks (to exercise the
 * gateway's verification).
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
import { getProfile, profileNames } from './profiles.js';
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
  /** Simulated seconds per real second (thermal model). */
  timeScale?: number;
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
}

export interface Fleet {
  devices: SimDevice[];
  /** Crash one device (no drain; its last will marks it offline). */
  kill(index: number): void;
  stop(): Promise<void>;
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
  const here = o.only ? new Set(o.only) : null;
  const skip = new Set(o.skip ?? []);
  try {
    for (const d of devices) {
      if ((here && !here.has(d.index)) || skip.has(d.index)) continue;
      const dir = join(o.dataDir, `dev-${String(d.index).padStart(3, '0')}`);
      const cfg: AgentConfigInput = {
        brokers: o.brokers,
        meshId: o.meshId ?? 'swarmlet',
        region: o.region ?? 'local',
        dataDir: dir,
        keyFile: join(dir, 'node.key'),
        profile: d.profile,
        timeScale: o.timeScale ?? 1,
        trustedPublishers: o.trustedPublishers,
        ...(o.advertIntervalMs ? { advertIntervalMs: o.advertIntervalMs } : {}),
        ...(d.cheater ? { cheat: { rate: o.cheatRate ?? 1 } } : {}),
        ...o.agent,
      };
      d.handle = await startAgent(cfg, { identity: ids[d.index]!, runner, logger: log.child({ device: d.index, profile: d.profile }) });
      started.push(d.handle);
    }
  } catch (e) {
    await Promise.allSettled(started.map((h) => h.stop()));
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
      }
    },
    async stop() {
      await Promise.allSettled(devices.map((d) => d.handle?.stop()));
      for (const d of devices) d.handle = null;
      if (ownRunner) await runner.close();
    },
  };
}
