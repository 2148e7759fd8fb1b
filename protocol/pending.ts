/**
 * Join requests: keys that proved they hold their private key (a valid connect proof) but
 * are not enrolled. A broker refuses them as before and records them here; an operator
 * approves one (it is enrolled) or refuses it (it is recorded as revoked) from the console
 * or `swarmlet enroll`. Nothing here lets a key in.
 *
 * Anyone who can reach a broker can make keys, so the list is bounded (MAX_PENDING, the
 * request seen longest ago goes first) and holds nothing the requester chooses beyond its
 * public key and a client id the ACL already allows. A device that keeps trying stays at
 * the front, so a flood of new keys pushes out only keys that stopped trying.
 *
 * Across processes (a `swarmlet broker` and a `swarmlet gateway` of their own) the broker
 * writes the list to a file beside the enrollment file (`persistTo`, at most once per
 * `writeDelayMs`) and the gateway follows it (`follow`). One writer: approving or refusing
 * changes the enrollment file, and a broker drops requests of keys enrolled or refused.
 *   { "format": "swarmlet-pending-v1",
 *     "requests": [ { "publicKey": "<64 hex>", "clientId": "…", "address": "192.0.2.7",
 *                     "firstSeen": ms, "lastSeen": ms, "attempts": 3 } ] }
 */
import { EventEmitter } from 'node:events';
import { readFileSync, renameSync, unwatchFile, watchFile, writeFileSync } from 'node:fs';
import * as v from 'valibot';
import { check } from '../util/valid.js';
import { fromHex, toHex } from './hash.js';
import { nodeIdFromPublicKey } from './identity.js';

export const MAX_PENDING = 256;
const MAX_ATTEMPTS = 1e9;

export interface JoinRequest {
  nodeId: string;
  publicKey: Uint8Array;
  clientId: string;
  /** The address it connected from, as the broker saw it (may be a proxy's). */
  address: string | null;
  firstSeen: number;
  lastSeen: number;
  attempts: number;
}

const ms = () => v.pipe(v.number(), v.safeInteger(), v.minValue(0));
const PendingFile = v.object({
  format: v.literal('swarmlet-pending-v1'),
  requests: v.pipe(v.array(v.object({
    publicKey: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/)),
    clientId: v.pipe(v.string(), v.maxLength(128)),
    address: v.nullable(v.pipe(v.string(), v.maxLength(64))),
    firstSeen: ms(),
    lastSeen: ms(),
    attempts: v.pipe(v.number(), v.safeInteger(), v.minValue(1), v.maxValue(MAX_ATTEMPTS)),
  })), v.maxLength(MAX_PENDING)),
});

/** The pending file that goes with an enrollment file: `enrollment.json` -> `enrollment.pending.json`. */
export function pendingFileFor(enrollmentFile: string): string {
  return enrollmentFile.endsWith('.json') ? `${enrollmentFile.slice(0, -5)}.pending.json` : `${enrollmentFile}.pending.json`;
}

/** Emits 'changed' after every change. */
export class PendingJoins extends EventEmitter {
  private readonly m = new Map<string, JoinRequest>();
  private file: string | null = null;
  private writeTimer: NodeJS.Timeout | null = null;
  private writeDelayMs = 1000;
  private unfollow: (() => void) | null = null;

  constructor(private readonly max = MAX_PENDING) {
    super();
  }

  /**
   * A key proved itself but is not enrolled. `address` and `clientId` are cut to what the
   * file format allows; the caller has checked the client id belongs to the key.
   */
  record(publicKey: Uint8Array, clientId: string, address: string | null, now = Date.now()): JoinRequest {
    const nodeId = nodeIdFromPublicKey(publicKey);
    let r = this.m.get(nodeId);
    if (r) {
      this.m.delete(nodeId); // re-inserted below: the map's order is least recently seen first
      r.lastSeen = Math.max(r.lastSeen, now);
      r.attempts = Math.min(MAX_ATTEMPTS, r.attempts + 1);
      r.clientId = clientId.slice(0, 128);
      r.address = address?.slice(0, 64) ?? null;
    } else {
      while (this.m.size >= this.max) this.m.delete(this.m.keys().next().value!);
      r = { nodeId, publicKey, clientId: clientId.slice(0, 128), address: address?.slice(0, 64) ?? null, firstSeen: now, lastSeen: now, attempts: 1 };
    }
    this.m.set(nodeId, r);
    this.changed();
    return r;
  }

  remove(nodeId: string): boolean {
    if (!this.m.delete(nodeId)) return false;
    this.changed();
    return true;
  }

  get(nodeId: string): JoinRequest | undefined {
    return this.m.get(nodeId);
  }

  /** Newest first. */
  list(): JoinRequest[] {
    return [...this.m.values()].reverse();
  }

  get size(): number {
    return this.m.size;
  }

  private changed(): void {
    this.emit('changed');
    if (this.file && !this.writeTimer) {
      this.writeTimer = setTimeout(() => { this.writeTimer = null; this.save(); }, this.writeDelayMs);
      this.writeTimer.unref?.();
    }
  }

  /** Keep `file` up to date with this list (the broker's side): written at most once per `delayMs`. */
  persistTo(file: string, delayMs = 1000): void {
    this.file = file;
    this.writeDelayMs = delayMs;
    this.save();
  }

  /** Write the file now (and stop a pending delayed write). */
  save(): void {
    if (this.writeTimer) { clearTimeout(this.writeTimer); this.writeTimer = null; }
    if (!this.file) return;
    const body = {
      format: 'swarmlet-pending-v1',
      requests: [...this.m.values()].map((r) => ({
        publicKey: toHex(r.publicKey), clientId: r.clientId, address: r.address, firstSeen: r.firstSeen, lastSeen: r.lastSeen, attempts: r.attempts,
      })),
    };
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(body, null, 2) + '\n', { mode: 0o600 });
    renameSync(tmp, this.file);
  }

  /** Replace the list with a file's (the gateway's side). A missing file is an empty list; a bad one throws, naming the field. */
  load(file: string): void {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') raw = { format: 'swarmlet-pending-v1', requests: [] };
      else throw new Error(`cannot read pending file ${file}: ${(e as Error).message}`);
    }
    const parsed = check(PendingFile, raw);
    if (!parsed.ok) throw new Error(`pending file ${file}: ${parsed.reason}`);
    this.m.clear();
    const rows = [...parsed.value.requests].sort((a, b) => a.lastSeen - b.lastSeen);
    for (const r of rows.slice(-this.max)) {
      const publicKey = fromHex(r.publicKey);
      const nodeId = nodeIdFromPublicKey(publicKey);
      this.m.set(nodeId, { nodeId, publicKey, clientId: r.clientId, address: r.address, firstSeen: r.firstSeen, lastSeen: r.lastSeen, attempts: r.attempts });
    }
    this.emit('changed');
  }

  /** Follow `file` (polled, like the enrollment file): reload on every change. A bad file is reported and ignored. */
  follow(file: string, onError: (e: Error) => void = () => {}, intervalMs = 1000): () => void {
    const reload = () => {
      try { this.load(file); } catch (e) { onError(e as Error); }
    };
    reload();
    watchFile(file, { interval: intervalMs, persistent: false }, reload);
    this.unfollow = () => unwatchFile(file, reload);
    return this.unfollow;
  }

  close(): void {
    if (this.writeTimer) this.save();
    this.unfollow?.();
    this.unfollow = null;
    this.file = null;
  }
}
