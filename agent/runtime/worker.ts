/**
 * The worker thread behind the pool. Two jobs: 'instrument' (binaryen, kept off the main
 * thread so a huge or pathological module cannot stall it, and a crash costs one worker) and
 * 'run' (one task on a fresh instance). The pool terminates this thread on a deadline.
 */
import { parentPort } from 'node:worker_threads';
import { execute, type ExecuteLimits, type MemoryShape } from './execute.js';
import { instrument, loadBinaryen, UnsupportedModuleError } from './meter.js';
import { Lru, WORKER_MODULE_CACHE } from './lru.js';

export type WorkerRequest =
  | { type: 'instrument'; id: number; wasm: Uint8Array }
  /** `module` is null when this worker was sent it before (under `key`, the module's hash). */
  | { type: 'run'; id: number; key: string; module: WebAssembly.Module | null; input: Uint8Array; limits: ExecuteLimits; shape: MemoryShape };

export type WorkerReply =
  | { type: 'instrumented'; id: number; ok: true; wasm: Uint8Array }
  | { type: 'instrumented'; id: number; ok: false; message: string }
  | { type: 'ran'; id: number; outcome: import('./types.js').RunOutcome }
  /** The module named by key is not here (never expected: the pool mirrors this cache). */
  | { type: 'missing'; id: number };

const port = parentPort;
if (!port) throw new Error('agent/runtime/worker.js must run in a worker thread');

const modules = new Lru<string, WebAssembly.Module>(WORKER_MODULE_CACHE);

port.on('message', (msg: WorkerRequest) => {
  if (msg.type === 'run') {
    let module = msg.module;
    if (module) modules.set(msg.key, module);
    else module = modules.get(msg.key) ?? null;
    if (!module) { port.postMessage({ type: 'missing', id: msg.id } satisfies WorkerReply); return; }
    const outcome = execute(module, msg.input, msg.limits, msg.shape);
    const transfer = outcome.ok ? [outcome.output.buffer as ArrayBuffer] : [];
    port.postMessage({ type: 'ran', id: msg.id, outcome } satisfies WorkerReply, transfer);
    return;
  }
  loadBinaryen().then((b) => {
    try {
      const { wasm } = instrument(b, msg.wasm);
      port.postMessage({ type: 'instrumented', id: msg.id, ok: true, wasm } satisfies WorkerReply, [wasm.buffer as ArrayBuffer]);
    } catch (e) {
      const message = e instanceof UnsupportedModuleError ? e.message : `instrumentation failed: ${(e as Error)?.message ?? String(e)}`;
      port.postMessage({ type: 'instrumented', id: msg.id, ok: false, message } satisfies WorkerReply);
    }
  }, (e: unknown) => {
    port.postMessage({ type: 'instrumented', id: msg.id, ok: false, message: `cannot load binaryen: ${(e as Error)?.message}` } satisfies WorkerReply);
  });
});
