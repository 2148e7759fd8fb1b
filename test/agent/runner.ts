/**
 * The task runner and task modules the agent tests use: the real worker pool from
 * agent/runtime and the real compiled tasks from tasks/build/.
 * TEMPORARY (until agent/runtime/index.ts lands): a stand-in computing sha256 in JS.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bytesEqual, sha256 } from '../../protocol/hash.js';
import { tasksBuildDir } from '../../util/paths.js';
import type { RunLimits, RunOutcome, TaskRunner } from '../../agent/runtime/types.js';

export function taskWasm(name: string): Uint8Array {
  const f = join(tasksBuildDir(), `${name}.wasm`);
  if (existsSync(f)) return new Uint8Array(readFileSync(f));
  return new TextEncoder().encode(`stand-in module ${name}`);
}

export async function testRunner(size = 2): Promise<TaskRunner> {
  const spec = '../../agent/runtime/index.js';
  try {
    const m = (await import(spec)) as { createWorkerPool: (o: { size: number }) => TaskRunner | Promise<TaskRunner> };
    if (existsSync(join(tasksBuildDir(), 'sha256.wasm'))) return await m.createWorkerPool({ size });
  } catch { /* not there yet */ }
  return {
    size,
    async run(module: Uint8Array, input: Uint8Array, _l?: Partial<RunLimits>, o?: { expectedHash?: Uint8Array }): Promise<RunOutcome> {
      await new Promise((r) => setTimeout(r, 20));
      if (o?.expectedHash && !bytesEqual(sha256(module), o.expectedHash)) return { ok: false, error: { kind: 'invalid-module', message: 'hash' }, fuel: 0, wallMs: 0 };
      return { ok: true, output: sha256(input), fuel: 1000 + input.length, wallMs: 20 };
    },
    async close() {},
  };
}
