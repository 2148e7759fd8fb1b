/**
 * The durable outbox: every sealed result waits here, on disk, until the gateway
 * acknowledges it. It is also where the receipt chain head lives, because the two must
 * move together: if a restart could see a newer chain head than the results on disk, or
 * an older one, the node would fork its own chain or skip a sequence number.
 *
 * Format: one append-only journal file of records `[u32 length][u32 crc32][CBOR payload]`:
 *   {t:'p', s: seq, i: receiptId, k: taskId, d: result item bytes}   a result (also moves the head)
 *   {t:'d', i: receiptId}                                          the gateway acknowledged it
 *   {t:'h', s: seq, i: receiptId}                                  the chain head (after compaction)
 * A put record carries the new chain head itself, so head and entry are persisted by one
 * write and can never disagree. A torn record at the tail (power cut mid-write) fails its
 * CRC and is cut off on open; it was never acknowledged as durable, so never published.
 *
 * Group commit spares SD cards and flash: records queue while a write+fsync is in flight
 * and go out together in the next one; acknowledgements (deletes) are not urgent (losing
 * one only means a resend the gateway de-duplicates) and are batched on a timer. The
 * journal is compacted (rewritten with only live entries, then renamed) once it is mostly
 * dead records.
 */
import { open as openFile, rename, mkdir, readFile, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { crc32 } from '../util/crc32.js';
import { decode, encode, type DecodeLimits } from '../protocol/codec.js';
import { toHex } from '../protocol/hash.js';
import { GENESIS, type ChainHead } from '../protocol/receipt.js';

export interface OutboxEntry {
  seq: number;
  id: Uint8Array;
  idHex: string;
  taskId: string;
  /** The encoded result (a `result` message item), published as is. */
  data: Uint8Array;
  /** True once the record is on disk (fsync done): only then may it be published. */
  durable: boolean;
  /** When it was last published (0 = never in this process). */
  sentAt: number;
}

export interface OutboxOptions {
  maxEntries: number;
  maxBytes: number;
  /** Delay before batched deletes are written. */
  deleteFlushMs?: number;
  /** Compact once the journal exceeds this many bytes and is at least half dead. */
  compactMinBytes?: number;
  /** Applied to each entry's data as the journal is replayed (older journal formats). */
  upgrade?: (data: Uint8Array) => Uint8Array;
  /** Called when a write fails (disk full, I/O error): the outbox stops taking entries. */
  onError?: (e: Error) => void;
}

export interface OutboxStats {
  entries: number;
  bytes: number;
  headSeq: number;
  /** write+fsync batches so far, and records written by them: records/commits is the batching gain. */
  commits: number;
  records: number;
  compactions: number;
  truncatedBytes: number;
}

const FILE = 'outbox.log';
/** Outbox folders open in this process: two agents sharing one would fork each other's chain. */
const openDirs = new Set<string>();
const HEADER = 8;
const LIMITS: DecodeLimits = { maxBytes: 4 * 1024 * 1024, maxDepth: 2, maxLength: 8, maxStringBytes: 4 * 1024 * 1024, maxItems: 16 };

interface Pending { buf: Buffer; done?: { resolve: () => void; reject: (e: Error) => void } }

function frame(payload: Record<string, unknown>): Buffer {
  const body = encode(payload);
  const buf = Buffer.allocUnsafe(HEADER + body.length);
  buf.writeUInt32BE(body.length, 0);
  buf.writeUInt32BE(crc32(body), 4);
  buf.set(body, HEADER);
  return buf;
}

export class Outbox {
  private readonly live = new Map<string, OutboxEntry>();
  private liveBytes = 0;
  private headState: ChainHead = GENESIS;
  private queue: Pending[] = [];
  private lazy: Buffer[] = [];
  private lazyTimer: NodeJS.Timeout | null = null;
  private holdTimer: NodeJS.Timeout | null = null;
  private writing: Promise<void> | null = null;
  private fileBytes = 0;
  private failed: Error | null = null;
  private closed = false;
  private readonly s = { commits: 0, records: 0, compactions: 0, truncatedBytes: 0 };

  private constructor(private readonly dir: string, private fh: FileHandle, private readonly opts: OutboxOptions) {}

  /** Open (creating if needed) the outbox in `dir`, replaying the journal. */
  static async open(dir: string, opts: OutboxOptions): Promise<Outbox> {
    const key = resolve(dir);
    if (openDirs.has(key)) throw new Error(`outbox ${dir} is already open in this process (each agent needs its own dataDir)`);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, FILE);
    let data: Buffer;
    try { data = await readFile(path); } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      data = Buffer.alloc(0);
    }
    if (openDirs.has(key)) throw new Error(`outbox ${dir} is already open in this process (each agent needs its own dataDir)`);
    openDirs.add(key);
    let fh: FileHandle;
    try { fh = await openFile(path, 'a+', 0o600); } catch (e) { openDirs.delete(key); throw e; }
    const ob = new Outbox(dir, fh, opts);
    const good = ob.replay(data);
    if (good < data.length) {
      // A torn or corrupt tail: cut it off so new records are not appended after garbage.
      ob.s.truncatedBytes = data.length - good;
      await fh.truncate(good);
      await fh.datasync();
    }
    ob.fileBytes = good;
    return ob;
  }

  /** Returns how many bytes of `data` were good records. */
  private replay(data: Buffer): number {
    let pos = 0;
    while (pos + HEADER <= data.length) {
      const len = data.readUInt32BE(pos);
      const crc = data.readUInt32BE(pos + 4);
      if (pos + HEADER + len > data.length) break;
      const body = data.subarray(pos + HEADER, pos + HEADER + len);
      if (crc32(body) !== crc) break;
      let r: Record<string, unknown>;
      try { r = decode(body, LIMITS) as Record<string, unknown>; } catch { break; }
      if (!this.applyRecord(r)) break;
      pos += HEADER + len;
    }
    return pos;
  }

  private applyRecord(r: Record<string, unknown>): boolean {
    const id = r.i;
    if (!(id instanceof Uint8Array) || id.length !== 32) return false;
    const idHex = toHex(id);
    if (r.t === 'p' && typeof r.s === 'number' && typeof r.k === 'string' && r.d instanceof Uint8Array) {
      this.add({ seq: r.s, id, idHex, taskId: r.k, data: this.opts.upgrade ? this.opts.upgrade(r.d) : r.d, durable: true, sentAt: 0 });
      if (r.s > this.headState.seq) this.headState = { seq: r.s, id };
      return true;
    }
    if (r.t === 'd') {
      this.drop(idHex);
      return true;
    }
    if (r.t === 'h' && typeof r.s === 'number') {
      if (r.s >= this.headState.seq) this.headState = { seq: r.s, id };
      return true;
    }
    return false;
  }

  private add(e: OutboxEntry): void {
    if (this.live.has(e.idHex)) return;
    this.live.set(e.idHex, e);
    this.liveBytes += e.data.length;
  }

  private drop(idHex: string): OutboxEntry | undefined {
    const e = this.live.get(idHex);
    if (e) {
      this.live.delete(idHex);
      this.liveBytes -= e.data.length;
    }
    return e;
  }

  /** The chain head: highest seq handed out, and that receipt's id. */
  head(): ChainHead {
    return this.headState;
  }

  get size(): number {
    return this.live.size;
  }

  isFull(): boolean {
    return this.failed !== null || this.live.size >= this.opts.maxEntries || this.liveBytes >= this.opts.maxBytes;
  }

  get error(): Error | null {
    return this.failed;
  }

  /**
   * Add one entry built from the current chain head. `build` runs synchronously with the
   * head, so concurrent tasks each get their own seq, in the order they are appended;
   * the new head takes effect at once. The promise resolves once the entry is on disk.
   * `lingerMs` > 0: the write may wait that long for more entries to share it (one write
   * and one fsync for all); an append without it, or a flush, writes at once.
   */
  append(build: (head: ChainHead) => { seq: number; id: Uint8Array; taskId: string; data: Uint8Array }, lingerMs = 0): Promise<OutboxEntry> {
    if (this.closed) return Promise.reject(new Error('outbox is closed'));
    if (this.failed) return Promise.reject(new Error(`outbox failed earlier: ${this.failed.message}`));
    const head = this.headState;
    const r = build(head);
    if (r.seq !== head.seq + 1) throw new Error(`outbox: entry seq ${r.seq} does not follow head ${head.seq}`);
    const entry: OutboxEntry = { seq: r.seq, id: r.id, idHex: toHex(r.id), taskId: r.taskId, data: r.data, durable: false, sentAt: 0 };
    this.headState = { seq: r.seq, id: r.id };
    this.add(entry);
    const buf = frame({ t: 'p', s: r.seq, i: r.id, k: r.taskId, d: r.data });
    return new Promise<OutboxEntry>((resolve, reject) => {
      this.queue.push({ buf, done: { resolve: () => { entry.durable = true; resolve(entry); }, reject } });
      if (lingerMs <= 0) this.kick();
      else if (!this.holdTimer && !this.writing) this.holdTimer = setTimeout(() => { this.holdTimer = null; this.kick(); }, lingerMs);
      // (while a write is in flight, the queue goes out right after it anyway)
    });
  }

  /** Forget an acknowledged entry (written lazily, in a batch). Returns the entry if it was here. */
  remove(idHex: string): OutboxEntry | undefined {
    const e = this.drop(idHex);
    if (!e || this.closed) return e;
    this.lazy.push(frame({ t: 'd', i: e.id }));
    this.lazyTimer ??= setTimeout(() => {
      this.lazyTimer = null;
      this.kick(true);
    }, this.opts.deleteFlushMs ?? 250);
    this.lazyTimer.unref?.();
    return e;
  }

  get(idHex: string): OutboxEntry | undefined {
    return this.live.get(idHex);
  }

  /** Durable entries, in seq order (the order the gateway's chain check needs). */
  pending(): OutboxEntry[] {
    return [...this.live.values()].filter((e) => e.durable).sort((a, b) => a.seq - b.seq);
  }

  stats(): OutboxStats {
    return { entries: this.live.size, bytes: this.liveBytes, headSeq: this.headState.seq, ...this.s };
  }

  private kick(takeLazy = false): void {
    if (this.writing || this.closed) return;
    if (this.queue.length === 0 && !(takeLazy && this.lazy.length)) return;
    if (this.holdTimer) { clearTimeout(this.holdTimer); this.holdTimer = null; }
    this.writing = this.writeBatch().finally(() => {
      this.writing = null;
      if (this.queue.length) this.kick();
    });
  }

  private async writeBatch(): Promise<void> {
    const batch = this.queue;
    this.queue = [];
    // Deletes ride along with any write; they never need a write of their own sooner.
    const bufs = [...this.lazy, ...batch.map((p) => p.buf)];
    this.lazy = [];
    if (this.lazyTimer) { clearTimeout(this.lazyTimer); this.lazyTimer = null; }
    const all = Buffer.concat(bufs);
    try {
      await this.fh.write(all, 0, all.length, null);
      await this.fh.datasync();
      this.fileBytes += all.length;
      this.s.commits++;
      this.s.records += bufs.length;
    } catch (e) {
      this.failed = e as Error;
      for (const p of batch) p.done?.reject(e as Error);
      this.opts.onError?.(e as Error);
      return;
    }
    for (const p of batch) p.done?.resolve();
    await this.maybeCompact();
  }

  private async maybeCompact(): Promise<void> {
    const min = this.opts.compactMinBytes ?? 1024 * 1024;
    if (this.fileBytes < min || this.fileBytes < 2 * this.liveBytes + min / 2) return;
    const durable = this.pending();
    const bufs = [frame({ t: 'h', s: this.headState.seq, i: this.headState.id })];
    // Entries still waiting in the queue are written to the new file after the swap.
    for (const e of durable) bufs.push(frame({ t: 'p', s: e.seq, i: e.id, k: e.taskId, d: e.data }));
    const all = Buffer.concat(bufs);
    const path = join(this.dir, FILE);
    const tmp = `${path}.compact`;
    try {
      const t = await openFile(tmp, 'w', 0o600);
      try {
        await t.write(all, 0, all.length, 0);
        await t.datasync();
      } finally {
        await t.close();
      }
      await rename(tmp, path);
      const d = await openFile(this.dir, 'r');
      try { await d.sync(); } finally { await d.close(); }
      const old = this.fh;
      this.fh = await openFile(path, 'a+', 0o600);
      await old.close();
      this.fileBytes = all.length;
      this.s.compactions++;
    } catch (e) {
      // The old journal is still complete: keep using it and try again later.
      this.opts.onError?.(new Error(`outbox compaction failed (continuing): ${(e as Error).message}`));
    }
  }

  /** Write everything queued (including batched deletes) and wait for it. */
  async flush(): Promise<void> {
    while (!this.closed && (this.writing || this.queue.length || this.lazy.length)) {
      if (!this.writing) this.kick(true);
      await this.writing;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    if (this.lazyTimer) clearTimeout(this.lazyTimer);
    if (this.holdTimer) clearTimeout(this.holdTimer);
    openDirs.delete(resolve(this.dir));
    await this.fh.close();
  }

  /** Like a crash: queued records are lost, nothing more is written. For tests and kill(). */
  abandon(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.lazyTimer) clearTimeout(this.lazyTimer);
    if (this.holdTimer) clearTimeout(this.holdTimer);
    openDirs.delete(resolve(this.dir));
    this.queue = [];
    this.lazy = [];
    const w = this.writing ?? Promise.resolve();
    void w.finally(() => this.fh.close().catch(() => {}));
  }
}
