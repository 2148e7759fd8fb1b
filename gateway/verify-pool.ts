/**
 * Signature verification in worker threads. Ed25519 verification is most of the intake's
 * cost and is independent per message, so a group of results is split across workers
 * while the main thread keeps the stateful half (chain, SQLite, acks) in order; adverts and
 * statuses (one signature each, hundreds a second from a large fleet) go the same way.
 * Small groups are parsed inline: posting to a worker costs more than a few verifications.
 * A worker that dies is replaced; its chunk is parsed inline so nothing is lost.
 */
import { Worker } from 'node:worker_threads';
import { compact } from '../util/bytes.js';
import { parseResultMessage, parseSoftState, type ParseOutcome, type SoftItem, type SoftOutcome } from './parse.js';

/** Below this many messages (each up to 64 results) a group is verified on the main thread. */
export const INLINE_BELOW = 4;
/** Below this many adverts/statuses (one signature each) they are verified on the main thread. */
export const SOFT_INLINE_BELOW = 8;

interface Pending {
  resolve(out: unknown[]): void;
  /** Parse the chunk here (its worker died). */
  inline(): unknown[];
}

export class VerifyPool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, { w: number } & Pending>();
  private seq = 0;
  private next = 0;
  private closed = false;

  constructor(readonly size: number) {
    for (let i = 0; i < size; i++) this.workers.push(this.spawn(i));
  }

  private spawn(i: number): Worker {
    const w = new Worker(new URL('./verify-worker.js', import.meta.url));
    w.unref();
    w.on('message', (m: { id: number; out: unknown[] }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      // Keep the process alive only while a worker has work in hand.
      if (![...this.pending.values()].some((x) => x.w === p.w)) this.workers[p.w]?.unref();
      p.resolve(m.out);
    });
    w.on('error', () => { /* handled on exit */ });
    w.on('exit', () => {
      // Parse what the dead worker held inline, then replace it.
      for (const [id, p] of this.pending) if (p.w === i) { this.pending.delete(id); p.resolve(p.inline()); }
      if (!this.closed) this.workers[i] = this.spawn(i);
    });
    return w;
  }

  private run(w: number, items: Uint8Array[]): Promise<ParseOutcome[][]> {
    return new Promise((resolve) => {
      const id = ++this.seq;
      this.pending.set(id, { w, inline: () => items.map(parseResultMessage), resolve: resolve as (out: unknown[]) => void });
      this.workers[w]!.ref();
      this.workers[w]!.postMessage({ id, items: items.map(compact) });
    });
  }

  /** Open adverts and statuses (see parse.ts parseSoftState); outcomes in the items' order. */
  async parseSoft(items: readonly SoftItem[]): Promise<SoftOutcome[]> {
    if (this.closed || this.size === 0 || items.length < SOFT_INLINE_BELOW) return items.map(parseSoftState);
    const n = Math.min(this.size, Math.ceil(items.length / SOFT_INLINE_BELOW));
    const per = Math.ceil(items.length / n);
    const parts: Promise<SoftOutcome[]>[] = [];
    for (let k = 0; k < n; k++) {
      const list = items.slice(k * per, (k + 1) * per).map((it) => ({ ...it, payload: compact(it.payload) }));
      const w = this.next++ % this.size;
      parts.push(new Promise((resolve) => {
        const id = ++this.seq;
        this.pending.set(id, { w, inline: () => list.map(parseSoftState), resolve: resolve as (out: unknown[]) => void });
        this.workers[w]!.ref();
        this.workers[w]!.postMessage({ id, soft: list });
      }));
    }
    return (await Promise.all(parts)).flat();
  }

  /** Parse result messages: per message, its items' outcomes (see parse.ts). */
  async parse(items: readonly Uint8Array[]): Promise<ParseOutcome[][]> {
    if (this.closed || this.size === 0 || items.length < INLINE_BELOW) return items.map(parseResultMessage);
    const n = Math.min(this.size, Math.ceil(items.length / INLINE_BELOW));
    const per = Math.ceil(items.length / n);
    const parts: Promise<ParseOutcome[][]>[] = [];
    for (let k = 0; k < n; k++) {
      const w = this.next++ % this.size;
      parts.push(this.run(w, items.slice(k * per, (k + 1) * per)));
    }
    return (await Promise.all(parts)).flat();
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
