/**
 * Runs assignments: at most `slots` at once (fewer while the thermal budget says so: none
 * while the device is critical), a short queue behind them. Each run gets
 * its module (cache or fetch), runs on the shared TaskRunner under the tighter of the
 * assignment's limits and the agent's own, and ends as a sealed result in the durable
 * outbox; only once that write is on disk is the result handed on for publishing.
 */
import { toHex } from '../protocol/hash.js';
import type { Identity } from '../protocol/identity.js';
import type { Assignment } from '../protocol/messages.js';
import type { Logger } from '../util/log.js';
import type { TaskRunner } from './runtime/types.js';
import type { ModuleStore } from './modules.js';
import type { Outbox, OutboxEntry } from './outbox.js';
import { corrupt, sealResult, type SealedResult } from './receipts.js';

export interface ExecutorOptions {
  identity: Identity;
  runner: TaskRunner;
  modules: ModuleStore;
  outbox: Outbox;
  limits: { fuel: number; memoryPages: number; timeoutMs: number };
  slots: number;
  /** Assignments waiting beyond the running ones; more are refused (the lease will expire). */
  maxQueue: number;
  /** How long a result's journal write may wait for others' while more tasks run (0 = never). */
  lingerMs: number;
  logger: Logger;
  /** Latest temperature reading, for the receipt. */
  temperature: () => number | null;
  /** Tasks that may start running now (the capacity tracker's budget; 0 while critical). Default: slots. */
  budget?: () => number;
  /** Running or queued count changed (simulated sensors heat up with the running ones). */
  onBusy: (running: number, busy: number) => void;
  /** A result is durable: publish it. */
  onDurable: (entry: OutboxEntry, sealed: SealedResult) => void;
  onFailure: (what: string, err: Error) => void;
  cheatRate: number;
}

export class Executor {
  private running = 0;
  private readonly queue: Assignment[] = [];
  private readonly seen = new Set<string>();
  private idleWaiters: (() => void)[] = [];
  private accepting = true;
  private readonly s = { accepted: 0, completed: 0, failed: 0, refused: 0, cheated: 0 };

  constructor(private readonly o: ExecutorOptions) {}

  /** Running plus queued. */
  get busy(): number {
    return this.running + this.queue.length;
  }

  get runningCount(): number {
    return this.running;
  }

  /** Upper bound of fuel still to burn for queued work (for bid finish-time estimates). */
  get queuedFuel(): number {
    return this.queue.reduce((n, a) => n + Math.min(a.fuelLimit, this.o.limits.fuel), 0);
  }

  stats() {
    return { running: this.running, queued: this.queue.length, ...this.s };
  }

  /** Stop taking new assignments (drain). */
  stopAccepting(): void {
    this.accepting = false;
  }

  /** Take an assignment; returns null when taken, or why it was refused. */
  submit(a: Assignment, now = Date.now()): string | null {
    const key = `${a.taskId}/${a.attempt}`;
    if (this.seen.has(key)) return 'duplicate assignment (already taken)';
    if (!this.accepting) return 'draining';
    if (a.leaseUntil < now) return 'lease already expired';
    // Running it under smaller limits than asked would give a result that differs from a
    // re-execution under the asked ones (fuel-exhausted, memory-limit): a false mismatch.
    if (a.fuelLimit > this.o.limits.fuel || a.memoryPages > this.o.limits.memoryPages) { this.s.refused++; return 'needs more fuel or memory than this device gives a task'; }
    if (this.queue.length >= this.o.maxQueue) { this.s.refused++; return 'queue full'; }
    this.seen.add(key);
    if (this.seen.size > 4096) this.seen.delete(this.seen.values().next().value!);
    this.s.accepted++;
    this.queue.push(a);
    this.o.onBusy(this.running, this.busy);
    this.pump();
    return null;
  }

  /** Start queued tasks while the budget allows (call again when the budget rises). */
  pump(): void {
    const limit = Math.min(this.o.slots, this.o.budget?.() ?? this.o.slots);
    while (this.running < limit && this.queue.length) {
      const a = this.queue.shift()!;
      this.running++;
      this.o.onBusy(this.running, this.busy);
      void this.runOne(a).finally(() => {
        this.running--;
        this.o.onBusy(this.running, this.busy);
        this.pump();
        if (this.busy === 0) {
          const w = this.idleWaiters;
          this.idleWaiters = [];
          for (const f of w) f();
        }
      });
    }
  }

  private async runOne(a: Assignment): Promise<void> {
    const hex = toHex(a.moduleHash);
    // Made only when something is logged: a child logger per task costs more than the task's sha256.
    const log = () => this.o.logger.child({ taskId: a.taskId, jobId: a.jobId });
    let wasm: Uint8Array;
    try {
      wasm = await this.o.modules.get(hex);
    } catch (e) {
      // Not the module's fault that it did not arrive: no receipt; the lease expires and the task is re-offered.
      this.s.failed++;
      log().warn({ module: hex, err: (e as Error).message }, 'cannot get module for assignment');
      this.o.onFailure('module', e as Error);
      return;
    }
    const startedAt = Date.now();
    const tempStartC = this.o.temperature();
    const limits = {
      fuel: a.fuelLimit,
      memoryPages: a.memoryPages,
      // A shorter deadline only risks a 'timeout', which is never taken as evidence.
      timeoutMs: Math.min(a.timeoutMs, this.o.limits.timeoutMs),
    };
    let outcome;
    try {
      outcome = await this.o.runner.run(wasm, a.input, limits, { expectedHash: a.moduleHash });
    } catch (e) {
      // The runner itself broke (not the task): no receipt; the lease expires and the task is re-offered.
      this.s.failed++;
      log().error({ err: (e as Error).message }, 'task runner failed');
      this.o.onFailure('runner', e as Error);
      return;
    }
    const finishedAt = Date.now();
    let output = outcome.ok ? outcome.output : new Uint8Array(0);
    if (outcome.ok && this.o.cheatRate > 0 && Math.random() < this.o.cheatRate) {
      output = corrupt(output); // TEST/SIM ONLY, see config.cheat
      this.s.cheated++;
    }
    let sealed!: SealedResult;
    let durable: Promise<OutboxEntry>;
    try {
      // While other tasks run, the journal write may wait a little to be shared with theirs.
      durable = this.o.outbox.append((head) => {
        sealed = sealResult({
          assignment: a,
          ok: outcome.ok,
          output,
          error: outcome.ok ? null : outcome.error,
          fuel: outcome.fuel,
          wallMs: outcome.wallMs,
          startedAt,
          finishedAt,
          tempStartC,
          tempEndC: this.o.temperature(),
        }, head, this.o.identity);
        return sealed;
      }, this.running > 1 ? this.o.lingerMs : 0);
    } catch (e) {
      this.s.failed++;
      log().error({ err: (e as Error).message }, 'cannot seal result');
      this.o.onFailure('outbox', e as Error);
      return;
    }
    // The slot is free once the result is sealed and queued; being written is the outbox's job.
    durable.then((entry) => {
      this.s.completed++;
      if (this.o.logger.isLevelEnabled('debug')) log().debug({ seq: entry.seq, outcome: sealed.receipt.outcome, fuel: sealed.receipt.fuel }, 'task done');
      this.o.onDurable(entry, sealed);
    }, (e: unknown) => {
      this.s.failed++;
      log().error({ err: (e as Error).message }, 'cannot store result');
      this.o.onFailure('outbox', e as Error);
    });
  }

  /** Resolves when nothing runs or waits, or after `timeoutMs` (returns false then). */
  idle(timeoutMs: number): Promise<boolean> {
    if (this.busy === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), timeoutMs);
      this.idleWaiters.push(() => { clearTimeout(t); resolve(true); });
    });
  }
}
