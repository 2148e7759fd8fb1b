/**
 * A bounded on-disk FIFO for the bridge: QoS 1 messages that arrive while the uplink is
 * down wait here and go up, in order, when it returns. Survives a broker restart.
 *
 * One append-only log file plus a small `head` file holding the byte offset of the first
 * message not yet delivered. Record = u32 body length, u32 crc32(body), body; body =
 * u8 flags (qos | retain<<2), u16 topic length, topic, payload. A torn or corrupt tail
 * (power cut mid-write) is detected by length/crc and cut off on open.
 *
 * Bounded by bytes and by count: when full, the OLDEST message is dropped (and counted),
 * because a device agent keeps its own durable outbox for results and re-sends until the
 * gateway acks, while fresh adverts and statuses matter more than stale ones.
 * Writes are flushed with fdatasync at most every `syncMs` (not per message): a power cut
 * can lose the last fraction of a second, a process crash loses nothing.
 */
import { closeSync, existsSync, fdatasyncSync, fstatSync, ftruncateSync, mkdirSync, openSync, readFileSync, readSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from '../util/crc32.js';

export interface SpooledMessage {
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
}

export interface SpoolOptions {
  maxBytes?: number;
  maxMessages?: number;
  syncMs?: number;
}

interface Entry {
  msg: SpooledMessage;
  /** Byte offset just past this record in the log. */
  end: number;
  size: number;
}

const HEADER = 8;

function encodeRecord(m: SpooledMessage): Buffer {
  const topic = Buffer.from(m.topic, 'utf8');
  if (topic.length > 0xffff) throw new Error('topic too long to spool');
  const body = Buffer.allocUnsafe(3 + topic.length + m.payload.length);
  body[0] = (m.qos & 3) | (m.retain ? 4 : 0);
  body.writeUInt16BE(topic.length, 1);
  topic.copy(body, 3);
  m.payload.copy(body, 3 + topic.length);
  const head = Buffer.allocUnsafe(HEADER);
  head.writeUInt32BE(body.length, 0);
  head.writeUInt32BE(crc32(body), 4);
  return Buffer.concat([head, body]);
}

function decodeBody(body: Buffer): SpooledMessage | null {
  if (body.length < 3) return null;
  const tlen = body.readUInt16BE(1);
  if (3 + tlen > body.length) return null;
  return { qos: (body[0]! & 3) as 0 | 1 | 2, retain: (body[0]! & 4) !== 0, topic: body.subarray(3, 3 + tlen).toString('utf8'), payload: Buffer.from(body.subarray(3 + tlen)) };
}

export class Spool {
  private readonly logPath: string;
  private readonly headPath: string;
  private fd: number;
  private entries: Entry[] = [];
  private first = 0; // index of the head entry in `entries`
  private head = 0; // byte offset of the first undelivered record
  private tail = 0; // byte length of the log
  private liveBytes = 0;
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly maxBytes: number;
  private readonly maxMessages: number;
  private readonly syncMs: number;
  /** Messages dropped because the spool was full. */
  dropped = 0;

  constructor(dir: string, o: SpoolOptions = {}) {
    this.maxBytes = o.maxBytes ?? 16 * 1024 * 1024;
    this.maxMessages = o.maxMessages ?? 100_000;
    this.syncMs = o.syncMs ?? 200;
    mkdirSync(dir, { recursive: true });
    this.logPath = join(dir, 'spool.log');
    this.headPath = join(dir, 'spool.head');
    this.fd = openSync(this.logPath, existsSync(this.logPath) ? 'r+' : 'w+', 0o600);
    this.load();
  }

  get length(): number {
    return this.entries.length - this.first;
  }

  get bytes(): number {
    return this.liveBytes;
  }

  push(msg: SpooledMessage): void {
    const rec = encodeRecord(msg);
    if (rec.length > this.maxBytes) {
      this.dropped++;
      return;
    }
    while (this.length > 0 && (this.liveBytes + rec.length > this.maxBytes || this.length + 1 > this.maxMessages)) {
      this.shift();
      this.dropped++;
    }
    writeSync(this.fd, rec, 0, rec.length, this.tail);
    this.tail += rec.length;
    this.liveBytes += rec.length;
    this.entries.push({ msg, end: this.tail, size: rec.length });
    this.scheduleSync();
    if (this.head > this.maxBytes && this.head > this.tail / 2) this.compact();
  }

  peek(): SpooledMessage | undefined {
    return this.entries[this.first]?.msg;
  }

  /** Remove the head message (after it has been delivered). */
  shift(): SpooledMessage | undefined {
    const e = this.entries[this.first];
    if (!e) return undefined;
    this.first++;
    this.head = e.end;
    this.liveBytes -= e.size;
    if (this.length === 0) {
      // Empty: start the log over instead of growing it forever.
      this.entries = [];
      this.first = 0;
      this.head = 0;
      this.tail = 0;
      ftruncateSync(this.fd, 0);
    } else if (this.first > 1024 && this.first > this.entries.length / 2) {
      this.entries = this.entries.slice(this.first);
      this.first = 0;
    }
    writeFileSync(this.headPath, String(this.head));
    return e.msg;
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.dirty) fdatasyncSync(this.fd);
    this.dirty = false;
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }

  private scheduleSync(): void {
    this.dirty = true;
    if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.syncMs);
      this.timer.unref();
    }
  }

  private load(): void {
    let head = 0;
    try {
      head = Number(readFileSync(this.headPath, 'utf8').trim()) || 0;
    } catch { /* no head file: start of log */ }
    const size = fstatSync(this.fd).size;
    if (head > size) head = size;
    const buf = Buffer.allocUnsafe(size - head);
    if (buf.length) readSync(this.fd, buf, 0, buf.length, head);
    let pos = 0;
    while (pos + HEADER <= buf.length) {
      const len = buf.readUInt32BE(pos);
      if (pos + HEADER + len > buf.length) break;
      const body = buf.subarray(pos + HEADER, pos + HEADER + len);
      if (crc32(body) !== buf.readUInt32BE(pos + 4)) break;
      const msg = decodeBody(body);
      if (!msg) break;
      pos += HEADER + len;
      this.entries.push({ msg, end: head + pos, size: HEADER + len });
      this.liveBytes += HEADER + len;
    }
    this.head = head;
    this.tail = head + pos;
    if (this.tail < size) ftruncateSync(this.fd, this.tail); // torn or corrupt tail
    if (this.entries.length === 0 && this.tail > 0) {
      ftruncateSync(this.fd, 0);
      this.head = this.tail = 0;
      writeFileSync(this.headPath, '0');
    }
  }

  /** Rewrite the live records to a fresh log so the file does not grow without bound. */
  private compact(): void {
    const tmp = `${this.logPath}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    let pos = 0;
    const kept: Entry[] = [];
    for (let i = this.first; i < this.entries.length; i++) {
      const rec = encodeRecord(this.entries[i]!.msg);
      writeSync(fd, rec, 0, rec.length, pos);
      pos += rec.length;
      kept.push({ msg: this.entries[i]!.msg, end: pos, size: rec.length });
    }
    fdatasyncSync(fd);
    closeSync(fd);
    writeFileSync(this.headPath, '0');
    renameSync(tmp, this.logPath);
    closeSync(this.fd);
    this.fd = openSync(this.logPath, 'r+');
    this.entries = kept;
    this.first = 0;
    this.head = 0;
    this.tail = pos;
    this.dirty = false;
  }
}
