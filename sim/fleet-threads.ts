/**
 * The main-thread side of a fleet run in worker threads: the devices are split into
 * contiguous parts, each part runs as an ordinary in-thread fleet inside a worker
 * (sim/fleet-worker.ts), and kill/stop are forwarded as messages. Keys are created here
 * first, so workers only ever load them (two threads never race to create one).
 */
import { Worker } from 'node:worker_threads';
import { createLogger } from '../util/log.js';
import { LazyRunner } from '../agent/setup.js';
import { fleetFuelRate, fleetIdentities, profileMix, type DeviceThermals, type Fleet, type FleetOptions, type SimDevice } from './fleet.js';

/** Messages a fleet worker sends back. */
export type FleetWorkerReply = { type: 'ready' } | { type: 'error'; message: string } | { type: 'stopped' }
  | { type: 'thermals'; id: number; list: DeviceThermals[] };
/** Messages a fleet worker takes. */
export type FleetWorkerCommand = { type: 'kill'; index: number } | { type: 'stop' } | { type: 'thermals'; id: number };

interface Part {
  worker: Worker;
  indices: Set<number>;
  exited: Promise<void>;
}

/** Split 0..n-1 into `k` contiguous parts of near-equal size. */
export function splitDevices(n: number, k: number): number[][] {
  const parts: number[][] = [];
  const t = Math.max(1, Math.min(k, n));
  for (let p = 0; p < t; p++) {
    const from = Math.floor((p * n) / t);
    const to = Math.floor(((p + 1) * n) / t);
    parts.push(Array.from({ length: to - from }, (_, i) => from + i));
  }
  return parts;
}

function startPart(o: FleetOptions, indices: number[]): Promise<Part> {
  const { runner: _runner, threads: _threads, ...plain } = o;
  const worker = new Worker(new URL('./fleet-worker.js', import.meta.url), { workerData: { options: { ...plain, threads: 0, only: indices } } });
  const exited = new Promise<void>((r) => worker.once('exit', () => r()));
  return new Promise<Part>((resolve, reject) => {
    const fail = (e: Error) => { cleanup(); void worker.terminate(); reject(e); };
    const onMessage = (m: FleetWorkerReply) => {
      if (m.type === 'ready') { cleanup(); resolve({ worker, indices: new Set(indices), exited }); }
      else if (m.type === 'error') fail(new Error(`fleet worker: ${m.message}`));
    };
    const onError = (e: Error) => fail(e);
    const onExit = (code: number) => fail(new Error(`fleet worker exited with code ${code} before it was ready`));
    const cleanup = () => { worker.off('message', onMessage); worker.off('error', onError); worker.off('exit', onExit); };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}

export async function startThreadedFleet(o: FleetOptions, threads: number): Promise<Fleet> {
  const log = createLogger('sim');
  const n = o.devices;
  const ids = fleetIdentities(o.dataDir, n);
  if (o.fuelRate === undefined) {
    // One rate for every part (each worker would measure its own, a little differently).
    const probe = new LazyRunner(1);
    try { o = { ...o, fuelRate: await fleetFuelRate(o, probe) }; } finally { await probe.close(); }
  }
  const profiles = profileMix(o.profiles, n);
  const cheaters = Math.min(n, o.cheaters ?? 0);
  const devices: SimDevice[] = ids.map((id, i) => ({
    index: i, nodeId: id.nodeId, publicKey: id.publicKey, profile: profiles[i]!, cheater: i >= n - cheaters, handle: null,
  }));
  const skip = new Set(o.skip ?? []);
  const split = splitDevices(n, threads).map((ix) => ix.filter((i) => !skip.has(i))).filter((ix) => ix.length > 0);
  const started = await Promise.allSettled(split.map((ix) => startPart(o, ix)));
  const parts = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  const stopAll = async () => {
    await Promise.all(parts.map(async (p) => {
      const stopped = new Promise<void>((r) => {
        p.worker.on('message', (m: FleetWorkerReply) => { if (m.type === 'stopped') r(); });
        void p.exited.then(r);
      });
      p.worker.postMessage({ type: 'stop' } satisfies FleetWorkerCommand);
      await stopped;
      await p.worker.terminate();
    }));
  };
  if (failed) {
    await stopAll();
    throw failed.reason as Error;
  }
  for (const p of parts) {
    p.worker.on('error', (e) => log.error({ err: e.message }, 'fleet worker failed'));
  }
  log.info({ devices: n, cheaters, threads: parts.length, profiles: [...new Set(profiles)] }, 'fleet started in worker threads');
  let stopping: Promise<void> | null = null;
  let asked = 0;
  const thermalsOfPart = (p: Part) => new Promise<DeviceThermals[]>((resolve) => {
    const id = ++asked;
    const onMessage = (m: FleetWorkerReply) => {
      if (m.type === 'thermals' && m.id === id) { p.worker.off('message', onMessage); resolve(m.list); }
    };
    p.worker.on('message', onMessage);
    void p.exited.then(() => { p.worker.off('message', onMessage); resolve([]); });
    p.worker.postMessage({ type: 'thermals', id } satisfies FleetWorkerCommand);
  });
  return {
    devices,
    async thermals() {
      return (await Promise.all(parts.map(thermalsOfPart))).flat().sort((a, b) => a.index - b.index);
    },
    kill(index) {
      const p = parts.find((x) => x.indices.has(index));
      if (!p) return;
      p.indices.delete(index);
      p.worker.postMessage({ type: 'kill', index } satisfies FleetWorkerCommand);
    },
    stop() {
      stopping ??= stopAll();
      return stopping;
    },
  };
}
