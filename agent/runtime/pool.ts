/**
 * The worker pool: admission, a cache of instrumented and compiled modules keyed by hash,
 * and a fixed number of worker threads that each run one task at a time on a fresh
 * instance. A task past its deadline has its worker terminated and replaced; a worker that
 * dies for any reason is replaced too, so the pool survives every failure.
 *
 * A task's deadline covers instrumenting its module (the first time this pool sees it) and
 * running it; time queued behind other tasks or other modules, and binaryen's own start,
 * do not count.
 * V8 compiles a module's functions lazily, each on its first call, inside the task: the
 * static limits (static-limits.ts) bound what one function costs the optimising compiler,
 * which is how long a task terminated at its deadline can go on using the CPU.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { FailureKind } from '../../protocol/messages.js';
import { bytesEqual, sha256, toHex } from '../../protocol/hash.js';
import { compact } from '../../util/bytes.js';
import { createLogger } from '../../util/log.js';
import { checkAbi } from './abi-check.js';
import { resolveLimits } from './limits.js';
import { Lru, WORKER_MODULE_CACHE } from './lru.js';
import { preferOptimizingCompiler } from './tiering.js';
import type { MeteredStore } from './metered-store.js';
import type { RunLimits, RunOutcome, TaskRunner } from './types.js';
import { Instrumenter } from './instrumenter.js';
import type { WorkerReply, WorkerRequest } from './worker.js';

const WORKER_URL = new URL('./worker.js', import.meta.url);
/** A task worker's stack: the metered call stack budget (meter.ts STACK_SLOTS) uses at most ~0.7 MiB of it. */
export const STACK_MB = 4;
/** V8 heap per worker: wasm memory is outside it (capped by max pages); this bounds the JS side. */
const RESOURCE_LIMITS = { maxOldGenerationSizeMb: 96, maxYoungGenerationSizeMb: 16, stackSizeMb: STACK_MB };

interface Prepared { key: string; module: WebAssembly.Module; initialPages: number; maximumPages: number | null }
type PrepareResult = { ok: true; prepared: Prepared } | { ok: false; kind: FailureKind; message: string };
/** A module being prepared: `started` resolves when its instrumentation begins. */
interface Preparing { done: Promise<PrepareResult>; started: Promise<void> }

interface Job {
  module: Prepared;
  input: Uint8Array;
  limits: RunLimits;
  /** What is left of the deadline once the module was prepared. */
  timeoutMs: number;
  resolve: (o: RunOutcome) => void;
}

/**
 * A worker runs a batch of queued jobs per message, one after another, and answers each as
 * it ends: a message round trip costs more than a small task, so a long queue is shared out
 * in batches (at most MAX_BATCH per message). `jobs[done]` is the one running; its deadline
 * timer starts when the previous answer arrives.
 * A compiled module is posted to a worker once and then named by its hash. `known` mirrors
 * the worker's own LRU exactly (same capacity, same order of get/set, messages in order).
 */
interface Slot { worker: Worker; jobs: Job[]; done: number; timer: NodeJS.Timeout | null; started: number; id: number; known: Lru<string, true> }

const MAX_BATCH = 8;

export interface PoolOptions {
  size?: number;
  cacheSize?: number;
  /** Keep V8's baseline wasm compiler (default false: compile tasks with TurboFan; see tiering.ts). */
  liftoff?: boolean;
  /**
   * Instrumented modules kept by hash (shipped pre-metered catalogue, a device's own cache):
   * a module found there is not instrumented again, so binaryen (~100 MB resident) loads
   * only for a module this device has never metered.
   */
  metered?: MeteredStore;
}

export class WorkerPool implements TaskRunner {
  readonly size: number;
  private readonly log = createLogger('runtime.pool');
  private readonly cache: Lru<string, PrepareResult>;
  private readonly inflight = new Map<string, Preparing>();
  private readonly slots: (Slot | null)[];
  private readonly queue: Job[] = [];
  private readonly instrumenter = new Instrumenter();
  private nextId = 1;
  private closed = false;
  private readonly metered: MeteredStore | undefined;

  constructor(opts: PoolOptions = {}) {
    const size = opts.size ?? availableParallelism();
    if (!Number.isInteger(size) || size < 1 || size > 256) throw new RangeError(`pool size must be an integer in [1, 256], got ${size}`);
    const cacheSize = opts.cacheSize ?? 64;
    if (!Number.isInteger(cacheSize) || cacheSize < 1) throw new RangeError(`cacheSize must be a positive integer, got ${cacheSize}`);
    this.size = size;
    if (!opts.liftoff) preferOptimizingCompiler();
    this.cache = new Lru(cacheSize);
    this.slots = new Array<Slot | null>(size).fill(null);
    this.metered = opts.metered;
  }

  async run(module: Uint8Array, input: Uint8Array, limits?: Partial<RunLimits>, opts: { expectedHash?: Uint8Array } = {}): Promise<RunOutcome> {
    if (this.closed) throw new Error('worker pool is closed');
    const lim = resolveLimits(limits);
    const started = performance.now();
    const fail = (kind: FailureKind, message: string): RunOutcome => ({ ok: false, error: { kind, message }, fuel: 0, wallMs: performance.now() - started });
    if (!(input instanceof Uint8Array)) return fail('invalid-module', 'input must be a Uint8Array');
    if (!(module instanceof Uint8Array)) return fail('invalid-module', 'module must be a Uint8Array');
    // Hash first: a cache hit skips the static checks (they ran when the entry was made).
    // Hashed on every run (not memoised per array): the bytes, not the object, must match.
    const hash = sha256(module);
    if (opts.expectedHash !== undefined && !bytesEqual(hash, opts.expectedHash)) {
      return fail('invalid-module', `module hash ${toHex(hash)} is not the expected ${toHex(opts.expectedHash)}`);
    }
    const hex = toHex(hash);
    let prepared = this.cache.get(hex);
    let counted = 0;
    if (!prepared) ({ result: prepared, countedMs: counted } = await this.prepareWithin(module, hex, lim.timeoutMs));
    if (!prepared.ok) return fail(prepared.kind, prepared.message);
    if (prepared.prepared.initialPages > lim.memoryPages) {
      return fail('memory-limit', `module asks for ${prepared.prepared.initialPages} initial pages, over the cap of ${lim.memoryPages}`);
    }
    if (this.closed) return fail('trap', 'worker pool closed');
    const timeoutMs = Math.max(1, Math.round(lim.timeoutMs - counted));
    const ready = prepared.prepared;
    return new Promise<RunOutcome>((resolve) => {
      this.queue.push({ module: ready, input: compact(input), limits: lim, timeoutMs, resolve });
      this.pump();
    });
  }

  /**
   * prepare(), or 'timeout' when the deadline passes first, with the time that counted
   * against the deadline: from when this module's instrumentation started (or this caller
   * joined it), not while binaryen loaded or other modules were instrumented. The
   * preparation goes on past the deadline (at most INSTRUMENT_TIMEOUT_MS) and is cached.
   */
  private async prepareWithin(bytes: Uint8Array, hex: string, timeoutMs: number): Promise<{ result: PrepareResult; countedMs: number }> {
    const p = this.prepare(bytes, hex);
    let timer: NodeJS.Timeout | undefined;
    let from = -1;
    let settled = false;
    const late = new Promise<PrepareResult>((resolve) => {
      void p.started.then(() => {
        if (settled) return;
        from = performance.now();
        timer = setTimeout(() => resolve({ ok: false, kind: 'timeout', message: `deadline of ${timeoutMs} ms passed while the module was instrumented` }), timeoutMs);
      });
    });
    try {
      const result = await Promise.race([p.done, late]);
      return { result, countedMs: from < 0 ? 0 : performance.now() - from };
    } finally {
      settled = true;
      clearTimeout(timer);
    }
  }

  /** Instrumented, compiled module for a hash, made once (concurrent callers share). */
  private prepare(bytes: Uint8Array, hex: string): Preparing {
    let p = this.inflight.get(hex);
    if (!p) {
      let start!: () => void;
      const started = new Promise<void>((resolve) => { start = resolve; });
      const done = this.doPrepare(bytes, hex, start).then((r) => {
        this.inflight.delete(hex);
        // Only successes are cached: a failure may be transient (a crashed or slow worker).
        if (r.ok) this.cache.set(hex, r);
        return r;
      });
      p = { done, started };
      this.inflight.set(hex, p);
    }
    return p;
  }

  private async doPrepare(bytes: Uint8Array, key: string, onStart: () => void): Promise<PrepareResult> {
    const check = checkAbi(bytes);
    if (!check.ok) return { ok: false, kind: check.kind, message: check.message };
    const stored = this.metered?.get(key);
    if (stored) {
      // A stored module that does not compile (a damaged file) is made again below.
      try {
        const module = await WebAssembly.compile(stored);
        return { ok: true, prepared: { key, module, initialPages: check.initialPages, maximumPages: check.maximumPages } };
      } catch { /* instrument it afresh */ }
    }
    const reply = await this.instrumenter.instrument(bytes, onStart);
    if (!reply.ok) return reply;
    try {
      const module = await WebAssembly.compile(reply.wasm);
      this.metered?.put(key, reply.wasm);
      return { ok: true, prepared: { key, module, initialPages: check.initialPages, maximumPages: check.maximumPages } };
    } catch (e) {
      return { ok: false, kind: 'invalid-module', message: `instrumented module does not compile: ${(e as Error).message}` };
    }
  }

  private spawn(index: number): Slot {
    const worker = new Worker(WORKER_URL, { resourceLimits: RESOURCE_LIMITS });
    const slot: Slot = { worker, jobs: [], done: 0, timer: null, started: 0, id: 0, known: new Lru(WORKER_MODULE_CACHE) };
    worker.on('message', (r: WorkerReply) => {
      if (r.type === 'instrumented' || r.type === 'ready' || r.id !== slot.id || r.index !== slot.done || slot.done >= slot.jobs.length) return;
      if (r.type === 'ran') this.finishOne(index, slot, r.outcome);
      else this.post(slot, true); // 'missing': the mirror slipped; send the rest with their modules
    });
    const died = (why: string, kind: FailureKind) => {
      if (this.slots[index] === slot) this.slots[index] = null;
      // The running job fails with the cause; the ones behind it never started: run them elsewhere.
      if (slot.done < slot.jobs.length) this.finishOne(index, slot, { ok: false, error: { kind, message: why }, fuel: 0, wallMs: performance.now() - slot.started }, true);
      if (!this.closed) this.pump();
    };
    worker.on('error', (e: Error & { code?: string }) => {
      died(`worker failed: ${e.message}`, e.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'memory-limit' : 'trap');
    });
    worker.on('exit', (code) => died(`worker exited (${code})`, 'trap'));
    worker.unref();
    return slot;
  }

  /** The running job of a slot ended; start the next one's clock, or free the slot. `requeue`: the worker is gone. */
  private finishOne(index: number, slot: Slot, outcome: RunOutcome, requeue = false): void {
    const job = slot.jobs[slot.done++]!;
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    if (requeue && slot.done < slot.jobs.length) this.queue.unshift(...slot.jobs.slice(slot.done));
    if (requeue || slot.done >= slot.jobs.length) {
      slot.jobs = [];
      slot.done = 0;
      if (this.slots[index] === slot) slot.worker.unref();
    } else {
      this.startClock(index, slot);
    }
    job.resolve(outcome);
    this.pump();
  }

  private startClock(index: number, slot: Slot): void {
    slot.started = performance.now();
    slot.timer = setTimeout(() => this.expire(index, slot), slot.jobs[slot.done]!.timeoutMs);
  }

  private pump(): void {
    while (this.queue.length > 0 && !this.closed) {
      let index = this.slots.findIndex((s) => s !== null && s.jobs.length === 0);
      if (index < 0) index = this.slots.findIndex((s) => s === null);
      if (index < 0) return;
      let idle = 0;
      for (const s of this.slots) if (s === null || s.jobs.length === 0) idle++;
      const slot = this.slots[index] ?? (this.slots[index] = this.spawn(index));
      // Share the queue out over the idle workers, a batch each.
      slot.jobs = this.queue.splice(0, Math.min(MAX_BATCH, Math.ceil(this.queue.length / idle)));
      slot.done = 0;
      slot.id = this.nextId++;
      slot.worker.ref();
      this.startClock(index, slot);
      this.post(slot, false);
    }
  }

  /** Post the slot's jobs from the running one on (`force`: with every module, known or not). */
  private post(slot: Slot, force: boolean): void {
    const jobs = slot.jobs.slice(slot.done).map((job) => {
      const key = job.module.key;
      const known = !force && slot.known.get(key) !== undefined;
      if (!known) slot.known.set(key, true);
      return {
        key, module: known ? null : job.module.module, input: job.input,
        limits: { fuel: job.limits.fuel, memoryPages: job.limits.memoryPages },
        shape: { initialPages: job.module.initialPages, maximumPages: job.module.maximumPages },
      };
    });
    slot.worker.postMessage({ type: 'run', id: slot.id, first: slot.done, jobs } satisfies WorkerRequest);
  }

  /** Deadline passed: kill the worker (the only way to stop running wasm) and free the slot. */
  private expire(index: number, slot: Slot): void {
    const job = slot.jobs[slot.done];
    if (!job) return;
    const ms = performance.now() - slot.started;
    const limit = job.limits.timeoutMs;
    this.log.warn({ ms, limit }, 'task deadline passed; terminating its worker');
    if (this.slots[index] === slot) this.slots[index] = null;
    // The jobs queued behind it in this worker go back to the front of the queue.
    this.finishOne(index, slot, { ok: false, error: { kind: 'timeout', message: `deadline of ${limit} ms passed` }, fuel: 0, wallMs: ms }, true);
    void slot.worker.terminate();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const job of this.queue.splice(0)) job.resolve({ ok: false, error: { kind: 'trap', message: 'worker pool closed' }, fuel: 0, wallMs: 0 });
    const all: Promise<unknown>[] = [];
    for (const [i, s] of this.slots.entries()) {
      if (!s) continue;
      this.slots[i] = null;
      if (s.timer) clearTimeout(s.timer);
      for (const job of s.jobs.splice(s.done)) job.resolve({ ok: false, error: { kind: 'trap', message: 'worker pool closed' }, fuel: 0, wallMs: 0 });
      all.push(s.worker.terminate());
    }
    all.push(this.instrumenter.close());
    await Promise.allSettled(all);
  }
}

export function createWorkerPool(opts: PoolOptions = {}): TaskRunner {
  return new WorkerPool(opts);
}
