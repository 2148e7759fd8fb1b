/**
 * The worker thread behind the pool. Two jobs: 'instrument' (binaryen, in the pool's
 * instrumentation worker: instrumenter.ts) and 'run' (tasks, each on a fresh instance, in a
 * task worker). The pool terminates a task worker on a deadline.
 */
import { parentPort } from 'node:worker_threads';
import { execute, takeDroppedBytes, type ExecuteLimits, type MemoryShape } from './execute.js';
import { GarbageBudget } from './gc-budget.js';
import { errorText, instrument, loadBinaryen, UnsupportedModuleError } from './meter.js';
import { Lru, WORKER_MODULE_CACHE } from './lru.js';

export type WorkerRequest =
  | { type: 'instrument'; id: number; wasm: Uint8Array }
  /** Load binaryen and instrument a small module once (compiling binaryen's own code), then answer 'ready'. */
  | { type: 'warm' }
  /**
   * Jobs run in order; each is answered as it ends, with its index (`first` + position).
   * `module` is null when this worker was sent it before (under `key`, the module's hash).
   */
  | { type: 'run'; id: number; first: number; jobs: RunJob[] };

export interface RunJob { key: string; module: WebAssembly.Module | null; input: Uint8Array; limits: ExecuteLimits; shape: MemoryShape }

export type WorkerReply =
  | { type: 'instrumented'; id: number; ok: true; wasm: Uint8Array }
  | { type: 'instrumented'; id: number; ok: false; kind: 'invalid-module' | 'timeout'; message: string }
  | { type: 'ran'; id: number; index: number; outcome: import('./types.js').RunOutcome }
  /** The module of job `index` is not here (never expected: the pool mirrors this cache); the rest of the batch is not run. */
  | { type: 'missing'; id: number; index: number }
  | { type: 'ready'; ok: true }
  | { type: 'ready'; ok: false; message: string };

/** A small ABI module (a loop, a call, memory.fill and memory.grow) instrumented once to warm binaryen up. */
const WARM_UP = Buffer.from('AGFzbQEAAAABFgRgBH9/f38AYAF/AX9gAn9/AX5gAAACDQEDZW52BWFib3J0AAADBAMBAgMFAwEAAQcYAwZtZW1vcnkCAAVhbGxvYwABA3J1bgACCjsDBQBBgAgLLwEBfwNAIAJBAWohAhADIAJBAkkNAAtBAEEAQQj8CwBBAEAAGiABBEBCAQ8LQgALAwABCw==', 'base64');

/** Collect after this much garbage per task thread (a full GC of a worker's small heap: a few ms). */
const GC_EVERY_BYTES = 2 << 20;

const port = parentPort;
if (!port) throw new Error('agent/runtime/worker.js must run in a worker thread');

const modules = new Lru<string, WebAssembly.Module>(WORKER_MODULE_CACHE);
/** A task's input copy and any wasm memory it grew are garbage once it ends. */
const garbage = new GarbageBudget(GC_EVERY_BYTES);

port.on('message', (msg: WorkerRequest) => {
  if (msg.type === 'run') {
    for (let k = 0; k < msg.jobs.length; k++) {
      const job = msg.jobs[k]!;
      const index = msg.first + k;
      let module = job.module;
      if (module) modules.set(job.key, module);
      else module = modules.get(job.key) ?? null;
      if (!module) { port.postMessage({ type: 'missing', id: msg.id, index } satisfies WorkerReply); return; }
      const outcome = execute(module, job.input, job.limits, job.shape);
      const transfer = outcome.ok ? [outcome.output.buffer as ArrayBuffer] : [];
      port.postMessage({ type: 'ran', id: msg.id, index, outcome } satisfies WorkerReply, transfer);
      garbage.add(job.input.byteLength + takeDroppedBytes());
    }
    return;
  }
  if (msg.type === 'warm') {
    loadBinaryen().then((b) => {
      instrument(b, new Uint8Array(WARM_UP));
      port.postMessage({ type: 'ready', ok: true } satisfies WorkerReply);
    }).catch((e: unknown) => {
      port.postMessage({ type: 'ready', ok: false, message: `cannot load binaryen: ${errorText(e)}` } satisfies WorkerReply);
    });
    return;
  }
  loadBinaryen().then((b) => {
    try {
      const { wasm } = instrument(b, msg.wasm);
      port.postMessage({ type: 'instrumented', id: msg.id, ok: true, wasm } satisfies WorkerReply, [wasm.buffer as ArrayBuffer]);
    } catch (e) {
      const message = e instanceof UnsupportedModuleError ? e.message : `instrumentation failed: ${errorText(e)}`;
      port.postMessage({ type: 'instrumented', id: msg.id, ok: false, kind: 'invalid-module', message } satisfies WorkerReply);
    }
  }, (e: unknown) => {
    // Not the module's fault: this machine cannot instrument anything.
    port.postMessage({ type: 'instrumented', id: msg.id, ok: false, kind: 'timeout', message: `cannot load binaryen: ${errorText(e)}` } satisfies WorkerReply);
  });
});
