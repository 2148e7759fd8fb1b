/** One task on a one-worker pool, then the pool is closed (CLI, gateway spot checks). */
import { createWorkerPool } from './pool.js';
import type { RunLimits, RunOutcome } from './types.js';

export async function runOnce(module: Uint8Array, input: Uint8Array, limits?: Partial<RunLimits>, opts: { expectedHash?: Uint8Array } = {}): Promise<RunOutcome> {
  const pool = createWorkerPool({ size: 1, cacheSize: 1 });
  try {
    return await pool.run(module, input, limits, opts);
  } finally {
    await pool.close();
  }
}
