/**
 * Task modules by content hash: from memory, from the disk cache, or fetched from the
 * retained topic swarm/v1/modules/{sha256} where a publisher put a signed `module`
 * envelope. A fetched module is accepted only if its envelope verifies, the signer is a
 * trusted publisher, and both the named hash and the sha256 of the bytes match the hash
 * asked for. The memory cache is shared by every agent in the process (hundreds of
 * simulated agents need one copy of each module), and each entry remembers its
 * publisher, so an agent never uses a module signed by a key it does not trust.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decode } from '../protocol/codec.js';
import { ENVELOPE_LIMITS } from '../protocol/envelope.js';
import { bytesEqual, fromHex, sha256, toHex } from '../protocol/hash.js';
import { isProtocolError } from '../protocol/errors.js';
import { topics } from '../protocol/topics.js';
import type { Logger } from '../util/log.js';
import { verifyPublishedModule } from './runtime/publish.js';

interface Cached { wasm: Uint8Array; publisher: string }

/** Process-wide LRU of verified modules (Map order = recency). */
const shared = new Map<string, Cached>();
let sharedBytes = 0;
const SHARED_MAX_BYTES = 64 * 1024 * 1024;

function remember(hex: string, c: Cached): void {
  if (shared.has(hex)) shared.delete(hex);
  else sharedBytes += c.wasm.length;
  shared.set(hex, c);
  while (sharedBytes > SHARED_MAX_BYTES && shared.size > 1) {
    const [k, v] = shared.entries().next().value as [string, Cached];
    shared.delete(k);
    sharedBytes -= v.wasm.length;
  }
}

export interface ModuleLink {
  subscribe(topic: string): void;
  unsubscribe(topic: string): void;
}

export interface ModuleStoreOptions {
  dir: string;
  /** Hex public keys of trusted publishers. */
  trusted: readonly string[];
  link: ModuleLink;
  timeoutMs: number;
  logger: Logger;
  /** How long a failed fetch is remembered (no bids for that module meanwhile). */
  negativeTtlMs?: number;
}

interface Waiter { promise: Promise<Uint8Array>; resolve: (b: Uint8Array) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }

export class ModuleStore {
  private readonly trusted: Set<string>;
  private readonly trustedKeys: Uint8Array[];
  private readonly onDisk = new Set<string>();
  private readonly waiting = new Map<string, Waiter>();
  private readonly bad = new Map<string, number>();
  private diskReady: Promise<void> | null = null;

  constructor(private readonly o: ModuleStoreOptions) {
    this.trusted = new Set(o.trusted.map((k) => k.toLowerCase()));
    this.trustedKeys = [...this.trusted].map((k) => fromHex(k));
  }

  /** Index the disk cache (file names only; bytes are checked when read). */
  async init(): Promise<void> {
    this.diskReady ??= (async () => {
      await mkdir(this.o.dir, { recursive: true, mode: 0o700 });
      const { readdir } = await import('node:fs/promises');
      for (const f of await readdir(this.o.dir)) {
        const m = /^([0-9a-f]{64})\.wasm$/.exec(f);
        if (m) this.onDisk.add(m[1]!);
      }
    })();
    return this.diskReady;
  }

  /** Whether the module can be had without the network. */
  has(hex: string): boolean {
    const c = shared.get(hex);
    return (c !== undefined && this.trusted.has(c.publisher)) || this.onDisk.has(hex);
  }

  /** Recently failed to fetch or verify: do not bid on it for a while. */
  isKnownBad(hex: string): boolean {
    const until = this.bad.get(hex);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.bad.delete(hex);
    return false;
  }

  /** Start fetching in the background (on an offer), so the assignment finds it ready. */
  prefetch(hex: string): void {
    if (this.has(hex) || this.waiting.has(hex) || this.isKnownBad(hex)) return;
    this.get(hex).catch(() => { /* logged in get; remembered as bad */ });
  }

  async get(hex: string): Promise<Uint8Array> {
    const c = shared.get(hex);
    if (c && this.trusted.has(c.publisher)) {
      remember(hex, c);
      return c.wasm;
    }
    if (this.onDisk.has(hex)) {
      try {
        const wasm = new Uint8Array(await readFile(join(this.o.dir, `${hex}.wasm`)));
        if (toHex(sha256(wasm)) === hex) return wasm;
        this.o.logger.warn({ module: hex }, 'cached module does not match its hash; fetching again');
      } catch (e) {
        this.o.logger.warn({ module: hex, err: (e as Error).message }, 'cannot read cached module');
      }
      this.onDisk.delete(hex);
    }
    return this.fetch(hex);
  }

  private fetch(hex: string): Promise<Uint8Array> {
    const existing = this.waiting.get(hex);
    if (existing) return existing.promise;
    const topic = topics.module(hex);
    let resolve!: (b: Uint8Array) => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<Uint8Array>((res, rej) => { resolve = res; reject = rej; });
    const timer = setTimeout(() => {
      this.finish(hex, topic);
      this.bad.set(hex, Date.now() + (this.o.negativeTtlMs ?? 30_000));
      this.o.logger.warn({ module: hex }, 'module fetch timed out');
      reject(new Error(`module ${hex.slice(0, 16)} did not arrive within ${this.o.timeoutMs} ms`));
    }, this.o.timeoutMs);
    this.waiting.set(hex, { promise, resolve, reject, timer });
    this.o.link.subscribe(topic);
    return promise;
  }

  private finish(hex: string, topic: string): void {
    const w = this.waiting.get(hex);
    if (w) clearTimeout(w.timer);
    this.waiting.delete(hex);
    this.o.link.unsubscribe(topic);
  }

  /**
   * A message on a module topic. Anything wrong is logged and dropped (returns the
   * reason); the fetch keeps waiting, since the genuine module may still come.
   */
  onMessage(hex: string, payload: Uint8Array): string | null {
    if (!this.waiting.has(hex)) return null; // retained copy after we already have it
    if (payload.length === 0) return 'empty module message';
    let wasm: Uint8Array;
    let publisher: string;
    try {
      // The runtime's admission rule for network modules: trusted signer, bytes match the named hash.
      const m = verifyPublishedModule(payload, this.trustedKeys);
      if (!bytesEqual(m.hash, fromHex(hex))) return 'module envelope names another hash';
      wasm = m.wasm;
      // Already verified above; read the signer to tag the shared cache entry with it.
      publisher = toHex((decode(payload, ENVELOPE_LIMITS) as { signer: Uint8Array }).signer);
    } catch (e) {
      return isProtocolError(e) ? `bad module envelope: ${e.code}: ${e.message}` : `bad module envelope: ${(e as Error).message}`;
    }
    const w = this.waiting.get(hex)!;
    this.finish(hex, topics.module(hex));
    remember(hex, { wasm, publisher });
    this.bad.delete(hex);
    void this.saveToDisk(hex, wasm);
    w.resolve(wasm);
    return null;
  }

  private async saveToDisk(hex: string, wasm: Uint8Array): Promise<void> {
    try {
      await this.init();
      const file = join(this.o.dir, `${hex}.wasm`);
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, wasm, { mode: 0o600 });
      await rename(tmp, file);
      this.onDisk.add(hex);
    } catch (e) {
      this.o.logger.warn({ module: hex, err: (e as Error).message }, 'cannot cache module on disk (continuing)');
    }
  }

  close(): void {
    for (const [hex, w] of this.waiting) {
      clearTimeout(w.timer);
      w.reject(new Error('agent stopping'));
      this.waiting.delete(hex);
    }
  }
}

/** For tests: forget the process-wide cache. */
export function clearSharedModuleCache(): void {
  shared.clear();
  sharedBytes = 0;
}
