/** The real task runner (agent/runtime worker pool) and real compiled tasks (tasks/build/) for agent tests. */
import { createWorkerPool, loadCatalogue, type TaskRunner } from '../../agent/runtime/index.js';

export function taskWasm(name: string): Uint8Array {
  const e = loadCatalogue().byName(name);
  if (!e) throw new Error(`task ${name} not built (run: swarmlet task build)`);
  return e.wasm;
}

export async function testRunner(size = 2): Promise<TaskRunner> {
  return createWorkerPool({ size });
}
