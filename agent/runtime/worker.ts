/**
 * The worker thread behind the pool. Two jobs: 'instrument' (binaryen, kept off the main
 * thread so a huge or pathological module cannot stall it, and a crash costs one worker) and
 * 'run' (one task on a fresh instance). The pool terminates this thread on a deadline.
 */
import { parentPort } from 'node:worker_threads';
import { execute, type ExecuteLimits, type MemoryShape } from './execute.js';
import { instrument, loadBinaryen, UnsupportedModuleError } from './meter.js';

export type WorkerRequest =
  | { type: 'instrument'; id: number; wasm: Uint8Array }
  | { type: 'run'; id: number; module: WebAssembly.Module; input: Uint8Array; limits: ExecuteLimits; shape: MemoryShape };

export type WorkerReply =
  | { type: 'instrumented'; id: number; ok: true; wasm: Uint8Array }
  | { type: 'instrumented'; id: number; ok: false; message: string }
  | { type: 'ran'; id: number; outcome: import('./types.js').RunOutcome };

const port = parentPort;
if (!port) throw new Error('agent/runtime/worker.js must run in a worker thread');

port.on('message', (msg: WorkerRequest) => {
  if (msg.type === 'run') {
    const outcome = execute(msg.module, msg.input, msg.limits, msg.shape);
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
