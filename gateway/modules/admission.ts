/**
 * Admission of a published module, done the way an agent does it, with the agents' own
 * code (agent/runtime), so whatever checks the runtime gains, the registry gains too:
 *
 *  1. `admitModule`: size, well-formed and valid wasm, imports inside ABI v1 (only
 *     env.abort), the ABI exports, initial memory under the gateway's page cap;
 *  2. a dry run on the runtime's worker pool: the pool checks the module again,
 *     instruments it for fuel metering (binaryen, in a worker, bounded in time) and
 *     compiles it, exactly as before a device's first task; the run itself gets an empty
 *     input and 1 unit of fuel, so it stops at the first function it enters. A module the
 *     pool cannot prepare fails here with the pool's own kind and reason.
 */
import { admitModule } from '../../agent/runtime/admit.js';
import type { TaskRunner } from '../../agent/runtime/types.js';
import type { FailureKind } from '../../protocol/messages.js';

/** Outcomes of the dry run that mean the module can never run a task. */
const NOT_RUNNABLE: ReadonlySet<FailureKind> = new Set(['invalid-module', 'forbidden-import', 'memory-limit']);

export type AdmissionResult = { ok: true; hash: Uint8Array } | { ok: false; kind: FailureKind; message: string };

export async function admitForRegistry(
  wasm: Uint8Array, runner: TaskRunner, caps: { memoryPages: number; timeoutMs: number },
): Promise<AdmissionResult> {
  const a = admitModule(wasm, { maxMemoryPages: caps.memoryPages });
  if (!a.ok) return { ok: false, kind: a.error.kind, message: a.error.message };
  const dry = await runner.run(wasm, new Uint8Array(0), { fuel: 1, memoryPages: caps.memoryPages, timeoutMs: caps.timeoutMs }, { expectedHash: a.hash });
  if (!dry.ok && NOT_RUNNABLE.has(dry.error.kind)) return { ok: false, kind: dry.error.kind, message: dry.error.message };
  return { ok: true, hash: a.hash };
}
