/**
 * The pool's instrumentation worker: binaryen (about 15 MB, loaded on first use) runs on a
 * worker thread of its own, so a large module cannot stall the main thread and a crash
 * costs one worker. A new worker first loads binaryen and warms it up on a small module
 * (compiling binaryen's own code takes longer than instrumenting a task); jobs then go one
 * at a time, and each job's `onStart` is called when its own instrumentation begins: that
 * is when a task's deadline starts to count it. binaryen is wasm and JS, which a worker's
 * terminate() interrupts, so a job (or the warm-up) past the time limit ends the worker and
 * the next job gets a fresh one.
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

interface Job { wasm: Uint8Array; resolve: (r: InstrumentResult) => void; onStart?: (() => void) | undefined }

export class Instrumenter {
  private worker: Worker | null = null;
  /** The worker has loaded and warmed binaryen. */
  private ready = false;
  private warming: NodeJS.Timeout | null = null;
  private readonly queue: Job[] = [];
  private running: { job: Job; timer: NodeJS.Timeout; id: number } | null = null;
  private nextId = 1;
  private closed = false;

  constructor(private readonly timeoutMs = INSTRUMENT_TIMEOUT_MS) {}

  instrument(wasm: Uint8Array, onStart?: () => void): Promise<InstrumentResult> {
    if (this.closed) return Promise.resolve({ ok: false, kind: 'timeout', message: 'instrumentation worker closed' });
    return new Promise((resolve) => {
      this.queue.push({ wasm: wasm.slice(), resolve, onStart });
      this.next();
    });
  }

  private spawn(): Worker {
    const worker = new Worker(WORKER_URL, { resourceLimits: RESOURCE_LIMITS });
    this.ready = false;
    worker.on('message', (r: WorkerReply) => {
      if (this.worker !== worker) return;
      if (r.type === 'ready') {
        this.stopWarming();
        if (r.ok) {
          this.ready = true;
          this.next();
        } else {
          this.fail(r.message);
        }
        return;
      }
      if (r.type !== 'instrumented' || !this.running || r.id !== this.running.id) return;
      this.finish(r.ok ? { ok: true, wasm: r.wasm } : { ok: false, kind: r.kind, message: r.message });
    });
    const dead = (why: string) => {
      if (this.worker !== worker) return;
      this.worker = null;
      this.stopWarming();
      if (this.running) this.finish({ ok: false, kind: 'timeout', message: why });
      else this.fail(why);
    };
    worker.on('error', (e) => dead(`instrumentation worker failed: ${e.message}`));
    worker.on('exit', (code) => dead(`instrumentation worker exited (${code})`));
    worker.postMessage({ type: 'warm' } satisfies WorkerRequest);
    this.warming = setTimeout(() => {
      this.warming = null;
      this.worker = null;
      void worker.terminate();
      this.fail(`loading binaryen took over ${this.timeoutMs} ms`);
    }, this.timeoutMs);
    return worker;
  }

  private stopWarming(): void {
    if (this.warming) clearTimeout(this.warming);
    this.warming = null;
  }

  /** binaryen could not be made ready: every waiting job ends (this machine's fault, not the modules'). */
  private fail(why: string): void {
    for (const job of this.queue.splice(0)) job.resolve({ ok: false, kind: 'timeout', message: why });
  }

  private next(): void {
    if (this.running || this.closed) return;
    if (this.queue.length === 0) {
      this.worker?.unref();
      return;
    }
    const worker = (this.worker ??= this.spawn());
    worker.ref();
    if (!this.ready) return; // 'ready' calls next() again
    const job = this.queue.shift()!;
    job.onStart?.();
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
    this.stopWarming();
    this.finish({ ok: false, kind: 'timeout', message: 'instrumentation worker closed' });
    if (w) await w.terminate();
  }
}
