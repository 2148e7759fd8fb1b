/**
 * The task runtime's contract (implemented in agent/runtime/, used by the agent and by the
 * gateway's re-execution). See tasks/README.md for the task ABI.
 */
import type { FailureKind } from '../../protocol/messages.js';

export interface RunLimits {
  /** Fuel budget; the run traps with 'fuel-exhausted' past it. */
  fuel: number;
  /** Hard cap on linear memory, in 64 KiB pages (initial and grown). */
  memoryPages: number;
  /** Wall-clock deadline; the worker is terminated past it ('timeout'). */
  timeoutMs: number;
}

export const DEFAULT_RUN_LIMITS: Readonly<RunLimits> = Object.freeze({
  fuel: 2_000_000_000,
  memoryPages: 256, // 16 MiB
  timeoutMs: 10_000,
});

export type RunOutcome =
  | { ok: true; output: Uint8Array; fuel: number; wallMs: number }
  | { ok: false; error: { kind: FailureKind; message: string }; fuel: number; wallMs: number };

export interface TaskRunner {
  /** Number of tasks that can run at once. */
  readonly size: number;
  /**
   * Run one task on a fresh instance. Never rejects for anything the module or input does:
   * every failure is a RunOutcome with ok:false. `expectedHash` (sha256 of the module
   * bytes) is checked before anything runs ('invalid-module' on mismatch).
   */
  run(module: Uint8Array, input: Uint8Array, limits?: Partial<RunLimits>, opts?: { expectedHash?: Uint8Array }): Promise<RunOutcome>;
  close(): Promise<void>;
}
