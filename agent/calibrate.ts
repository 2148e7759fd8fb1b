/**
 * Fuel-rate calibration: run a real task (the catalogue's sha256 over 256 KiB) a few
 * times on the runner and take fuel per second of the fastest run (the least disturbed
 * by other load). The rate goes into adverts and bid finish-time estimates.
 * The result is cached per runner (hundreds of agents sharing one pool calibrate once)
 * and on disk, so a restarted agent does not spin up the pool just to measure again.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { arch, cpus } from 'node:os';
import { join } from 'node:path';
import type { TaskRunner } from './runtime/types.js';

export const CALIBRATION_TASK = 'sha256';
const INPUT_BYTES = 256 * 1024;
const RUNS = 3;

const perRunner = new WeakMap<TaskRunner, Promise<number>>();

/** Fingerprint of what the rate depends on: a different CPU or Node means measure again. */
function machineKey(): string {
  return `${process.version}|${arch()}|${cpus()[0]?.model ?? '?'}|${cpus().length}`;
}

export async function measureFuelRate(runner: TaskRunner, wasm?: Uint8Array): Promise<number> {
  let module = wasm;
  if (!module) {
    const { loadCatalogue } = await import('./runtime/catalogue.js');
    const entry = loadCatalogue().byName(CALIBRATION_TASK);
    if (!entry) throw new Error(`task ${CALIBRATION_TASK} is not in the catalogue (swarmlet task build)`);
    module = entry.wasm;
  }
  const input = new Uint8Array(INPUT_BYTES).map((_, i) => (i * 31) & 0xff);
  let best = 0;
  for (let i = 0; i < RUNS; i++) {
    const out = await runner.run(module, input, { fuel: 1e12, timeoutMs: 30_000 });
    if (!out.ok) throw new Error(`calibration task failed: ${out.error.kind}: ${out.error.message}`);
    const rate = out.fuel / Math.max(out.wallMs, 0.05) * 1000;
    if (rate > best) best = rate;
  }
  return Math.round(best);
}

/**
 * The fuel rate for this runner: from the process cache, else from `cacheFile`, else
 * measured (and written to `cacheFile`).
 */
export function calibratedFuelRate(runner: TaskRunner, cacheFile?: string): Promise<number> {
  let p = perRunner.get(runner);
  if (!p) {
    p = (async () => {
      if (cacheFile) {
        try {
          const c = JSON.parse(await readFile(cacheFile, 'utf8')) as { key?: unknown; fuelRate?: unknown };
          if (c.key === machineKey() && typeof c.fuelRate === 'number' && c.fuelRate > 0) return c.fuelRate;
        } catch { /* absent or unreadable: measure */ }
      }
      const rate = await measureFuelRate(runner);
      if (cacheFile) {
        try {
          await mkdir(join(cacheFile, '..'), { recursive: true });
          await writeFile(cacheFile, JSON.stringify({ key: machineKey(), fuelRate: rate, at: new Date().toISOString() }) + '\n');
        } catch { /* a cache only */ }
      }
      return rate;
    })();
    perRunner.set(runner, p);
    p.catch(() => perRunner.delete(runner));
  }
  return p;
}
