/**
 * WAL checkpoints off the main thread. SQLite's auto-checkpoint runs inside whichever
 * commit crosses its threshold, on the committing thread: copying pages back into the
 * database file and its fsync were more than half of what a receipt's commit cost
 * (bench: 30 us a row with it, 14 us without). Here the main connection has
 * auto-checkpoint off and a worker thread with its own connection checkpoints instead.
 * If the worker fails, the main connection takes auto-checkpoint back, so the log can
 * never grow without bound.
 */
import { Worker } from 'node:worker_threads';
import type { Db } from './sqlite.js';

/** Checkpoint once the log is past this size (SQLite's own default is 1000 pages, ~4 MB). */
const MIN_BYTES = 4 * 1024 * 1024;
const INTERVAL_MS = 100;
/** A log reset leaves the file this size at most (SQLite would otherwise keep it at its peak). */
const JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024;

export class Checkpointer {
  private worker: Worker | null;
  private stopped: Promise<void> | null = null;

  constructor(private readonly db: Db, dbPath: string, walPath: string, onError: (e: Error) => void = () => {}) {
    db.pragma(`journal_size_limit = ${JOURNAL_SIZE_LIMIT}`);
    db.pragma('wal_autocheckpoint = 0');
    const w = new Worker(new URL('./checkpoint-worker.js', import.meta.url), { workerData: { dbPath, walPath, minBytes: MIN_BYTES, intervalMs: INTERVAL_MS } });
    w.unref();
    w.on('message', (m: { type: string; message?: string }) => { if (m.type === 'error') onError(new Error(`WAL checkpoint failed: ${m.message}`)); });
    const fallBack = (why: string) => {
      if (this.worker !== w) return;
      this.worker = null;
      if (this.db.open) this.db.pragma('wal_autocheckpoint = 1000');
      onError(new Error(`WAL checkpoint thread gone (${why}); checkpointing on the main thread again`));
    };
    w.on('error', (e) => fallBack(e.message));
    w.on('exit', (code) => fallBack(`exit ${code}`));
    this.worker = w;
  }

  /** The checkpoint thread, null once stopped or gone (tests). */
  get thread(): Worker | null {
    return this.worker;
  }

  /** Stop the worker (its connection closes cleanly); call before closing the main connection. */
  stop(): Promise<void> {
    const w = this.worker;
    if (!w) return this.stopped ?? Promise.resolve();
    this.worker = null;
    this.stopped = new Promise<void>((resolve) => {
      w.once('exit', () => resolve());
      w.ref(); // the caller waits for it: keep the process up until it is gone
      w.postMessage({ type: 'stop' });
    });
    return this.stopped;
  }
}
