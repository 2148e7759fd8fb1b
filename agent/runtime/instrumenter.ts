/**
 * The pool's instrumentation worker: binaryen (about 15 MB, loaded on first use) runs on a
 * worker thread of its own, so a large module cannot stall the main thread and a crash
 * costs one worker. Jobs go one at a time. binaryen is wasm and JS, which a worker's
 * terminate() interrupts, so a job past INSTRUMENT_TIMEOUT_MS ends the worker and the next
 * job gets a fresh one.
 *
 * A failure of the module (outside ABI v1, over a static limit) is 'invalid-module'. A
 * failure of this machine (too slow, the worker died) is 'timeout': the gateway does not
 * take a timeout as evidence against a device, and this one says nothing about the module.
 */
import { Worker } from 'node:worker_threads';
import type { FailureKind } from '../../protocol/messages.js';
import type { WorkerReply, WorkerRequest } from './worker.js';

const WORKER_URL = new URL('./worker.js', import.meta.url);
/** Instrumenting the largest admissible module takes a few seconds here; past this it is given up. */
export const INSTRUMENT_TIMEOUT_MS = 30_000;
/**
 * binaryen's heap is wasm memory, outside these. The stack is what binaryen and walk()
 * recurse on: STATIC_LIMITS.nesting uses under a tenth of it, cold or warm.
 */
const RESOURCE_LIMITS = { maxOldGenerationSizeMb: 512, maxYoungGenerationSizeMb: 32, stackSizeMb: 8 };

export type InstrumentResult = { ok: true; wasm: Uint8Array } | { ok: false; kind: FailureKind; message: string };

interface Job { wasm: Uint8Array; resolve: (r: InstrumentResult) => void }

export class Instrumenter {
  private worker: Worker | null = null;
  private readonly queue: Job[] = [];
  private running: { job: Job; timer: NodeJS.Timeout; id: number } | null = null;
  private nextId = 1;
  private closed = false;

  constructor(private readonly timeoutMs = INSTRUMENT_TIMEOUT_MS) {}

  instrument(wasm: Uint8Array): Promise<InstrumentResult> {
    if (this.closed) return Promise.resolve({ ok: false, kind: 'timeout', message: 'instrumentation worker closed' });
    return new Promise((resolve) => {
      this.queue.push({ wasm: wasm.slice(), resolve });
      this.next();
    });
  }

  private spawn(): Worker {
    const worker = new Worker(WORKER_URL, { resourceLimits: RESOURCE_LIMITS });
    worker.on('message', (r: WorkerReply) => {
      if (r.type !== 'instrumented' || !this.running || r.id !== this.running.id) return;
      this.finish(r.ok ? { ok: true, wasm: r.wasm } : { ok: false, kind: r.kind, message: r.message });
    });
    const dead = (why: string) => {
      if (this.worker !== worker) return;
      this.worker = null;
      this.finish({ ok: false, kind: 'timeout', message: why });
    };
    worker.on('error', (e) => dead(`instrumentation worker failed: ${e.message}`));
    worker.on('exit', (code) => dead(`instrumentation worker exited (${code})`));
    return worker;
  }

  private next(): void {
    if (this.running || this.closed) return;
    const job = this.queue.shift();
    if (!job) {
      this.worker?.unref();
      return;
    }
    const worker = (this.worker ??= this.spawn());
    worker.ref();
    const id = this.nextId++;
    const timer = setTimeout(() => {
      this.worker = null;
      void worker.terminate();
      this.finish({ ok: false, kind: 'timeout', message: `instrumentation took over ${this.timeoutMs} ms` });
    }, this.timeoutMs);
    this.running = { job, timer, id };
    worker.postMessage({ type: 'instrument', id, wasm: job.wasm } satisfies WorkerRequest, [job.wasm.buffer as ArrayBuffer]);
  }

  private finish(r: InstrumentResult): void {
    const run = this.running;
    if (!run) return;
    this.running = null;
    clearTimeout(run.timer);
    run.job.resolve(r);
    this.next();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.resolve({ ok: false, kind: 'timeout', message: 'instrumentation worker closed' });
    const w = this.worker;
    this.worker = null;
    this.finish({ ok: false, kind: 'timeout', message: 'instrumentation worker closed' });
    if (w) await w.terminate();
  }
}
