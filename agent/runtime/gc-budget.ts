/**
 * Garbage collection by the byte, for the task-runner process (its threads only).
 *
 * Task inputs and outputs, IPC and worker messages and a task's grown wasm memory are
 * external memory: a few JS-heap bytes each, so the young generation fills slowly and V8
 * collects them only once ~64 MB of external memory piled up per isolate (a constant, no
 * flag changes it). Under a burst of 64 KiB tasks the runner process grew by ~50 MB of such
 * garbage with 2 slots (bench/agent). A GarbageBudget runs a collection every `limit` bytes
 * dropped instead, which bounds that garbage to about `limit` per thread.
 *
 * The global `gc` exists only where the runner process was started with --expose-gc
 * (ProcessRunner does): the tasks are wasm with a frozen import object, so they cannot reach
 * it. Elsewhere (a WorkerPool inside the agent or a test) the budget does nothing and V8
 * decides, unless the caller passes a function from exposedGc().
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export type Gc = (opts?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async' }) => unknown;

let exposed: Gc | null | undefined;
/**
 * A gc function for a process started without --expose-gc (the agent's own): the flag set
 * at run time applies to contexts made afterwards, so a new context has it. Null if V8
 * refuses.
 */
export function exposedGc(): Gc | null {
  if (exposed === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      exposed = runInNewContext('gc') as Gc;
    } catch {
      exposed = null;
    }
  }
  return exposed;
}

/**
 * Give back what a burst of work left in a process that just went idle (the agent, after its
 * runner process ended): a plain full GC frees dead objects but keeps every old-space page
 * that still holds a live one, and a forced GC in V8 11 compacts only with
 * --compact-on-every-full-gc, so it is on for this collection. A second, plain, one a second
 * later, when allocation has stopped, lets V8 shrink the young generation the burst grew (it
 * does that only at a low allocation rate): ~0.6 MB less 60 s after a burst than the
 * compacting one alone (bench/agent). Measured and not kept: four more to age out the burst's
 * bytecode and baseline code (--flush-baseline-code), ~0.1 MB. No-op without a gc function.
 */
export function compactNow(gc: Gc | null = exposedGc()): boolean {
  if (!gc) return false;
  setFlagsFromString('--compact-on-every-full-gc');
  try {
    gc();
  } finally {
    setFlagsFromString('--no-compact-on-every-full-gc');
  }
  setTimeout(() => gc(), 1000).unref();
  return true;
}

export class GarbageBudget {
  private dropped = 0;
  /** Collections run so far. */
  runs = 0;

  /** `async`: incremental marking that finishes between tasks, for a thread that dispatches work. */
  constructor(
    private readonly limit: number,
    private readonly execution: 'sync' | 'async' = 'sync',
    private readonly gc: Gc | undefined = (globalThis as { gc?: Gc }).gc,
  ) {}

  get active(): boolean {
    return this.gc !== undefined;
  }

  /** `bytes` of external memory just became garbage; collect once past the limit. */
  add(bytes: number): void {
    if (!this.gc) return;
    this.dropped += bytes;
    if (this.dropped < this.limit) return;
    this.dropped = 0;
    this.runs++;
    // Plain gc() for a full collection: V8 11 ignores {type: 'major', execution: 'sync'}.
    if (this.execution === 'async') void this.gc({ type: 'major', execution: 'async' });
    else this.gc();
  }
}
