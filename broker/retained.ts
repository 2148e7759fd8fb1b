/**
 * Retained messages indexed by topic, so a subscription costs what it matches, not what
 * the broker holds.
 *
 * aedes' memory persistence (aedes-persistence 11) answers every SUBSCRIBE by testing
 * every retained topic against the filter (`retainedMessagesByPattern`). Each device
 * holds two retained topics (its advert and its status) and subscribes to three exact
 * topics when it connects, so connecting N devices cost O(N²): at 2,000 devices most of
 * the broker's time went there, and the connect backlog grew until proofs went stale.
 *
 * `IndexedMemoryPersistence` is aedes' own memory persistence (sessions, subscriptions,
 * QoS queues and wills unchanged) with the retained store replaced by:
 *   - a Map from topic to packet: a filter without wildcards is one lookup;
 *   - a tree of topic levels: a filter with wildcards walks only the branches it can
 *     match (`swarm/v1/modules/+` visits the module topics, not the adverts).
 * Matching follows the qlobber rules aedes uses (the test suite checks it against aedes'
 * own persistence): `+` is exactly one non-empty level, `#` zero or more levels, and
 * nothing special about topics starting with `$`. An empty payload clears the topic.
 *
 * aedes-persistence-redis (the Redis cluster, cluster.ts) already answers an exact filter
 * with one HGET, so it needs no such index.
 */
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';

const require = createRequire(import.meta.url);

/** The fields of an aedes packet this module reads. */
export interface RetainedPacket {
  topic: string;
  payload: Buffer | Uint8Array | string;
  [k: string]: unknown;
}

interface Level {
  children: Map<string, Level> | null;
  packet: RetainedPacket | null;
}

const newLevel = (): Level => ({ children: null, packet: null });

/** A retained store: exact topics in a Map, every topic also in a tree of levels. */
export class RetainedIndex {
  private readonly exact = new Map<string, RetainedPacket>();
  private readonly root = newLevel();

  get size(): number {
    return this.exact.size;
  }

  /** Store a retained message; an empty payload clears its topic. */
  set(packet: RetainedPacket): void {
    if (packet.payload.length === 0) return this.delete(packet.topic);
    this.exact.set(packet.topic, packet);
    let node = this.root;
    for (const word of packet.topic.split('/')) {
      node.children ??= new Map();
      let next = node.children.get(word);
      if (!next) node.children.set(word, (next = newLevel()));
      node = next;
    }
    node.packet = packet;
  }

  delete(topic: string): void {
    if (!this.exact.delete(topic)) return;
    const words = topic.split('/');
    const path: Level[] = [this.root];
    for (const word of words) path.push(path[path.length - 1]!.children!.get(word)!);
    path[path.length - 1]!.packet = null;
    // Prune levels left with neither a message nor children.
    for (let i = words.length; i > 0; i--) {
      const node = path[i]!;
      if (node.packet || (node.children && node.children.size > 0)) break;
      path[i - 1]!.children!.delete(words[i - 1]!);
    }
  }

  /** Retained messages matching one subscription filter. */
  match(filter: string, out: RetainedPacket[] = []): RetainedPacket[] {
    if (!filter.includes('+') && !filter.includes('#')) {
      const p = this.exact.get(filter);
      if (p) out.push(p);
      return out;
    }
    walk(this.root, filter.split('/'), 0, out);
    return out;
  }
}

function walk(node: Level, words: string[], i: number, out: RetainedPacket[]): void {
  if (i === words.length) {
    if (node.packet) out.push(node.packet);
    return;
  }
  const w = words[i]!;
  if (w === '#') return collect(node, out); // zero or more levels: this one and all below
  if (!node.children) return;
  if (w === '+') {
    for (const [word, child] of node.children) if (word !== '') walk(child, words, i + 1, out);
    return;
  }
  const child = node.children.get(w);
  if (child) walk(child, words, i + 1, out);
}

function collect(node: Level, out: RetainedPacket[]): void {
  if (node.packet) out.push(node.packet);
  if (node.children) for (const child of node.children.values()) collect(child, out);
}

/** aedes-persistence's async memory persistence (CommonJS class). */
type MemoryPersistenceClass = new (opts?: object) => {
  setup(broker: unknown): Promise<void>;
  storeRetained(packet: RetainedPacket): Promise<void>;
  createRetainedStream(pattern: string): Readable;
  createRetainedStreamCombi(patterns: string[]): Readable;
  destroy(): Promise<void>;
};

const MemoryPersistence = require('aedes-persistence/asyncPersistence.js') as MemoryPersistenceClass;

/** aedes' memory persistence with the retained store indexed by topic (see the top of this file). */
export class IndexedMemoryPersistence extends MemoryPersistence {
  readonly retained = new RetainedIndex();

  override async storeRetained(pkt: RetainedPacket): Promise<void> {
    // A copy, as aedes' own store keeps: the packet object aedes passes is reused.
    this.retained.set(Object.assign({}, pkt));
  }

  override createRetainedStreamCombi(patterns: string[]): Readable {
    const out: RetainedPacket[] = [];
    for (const p of patterns) this.retained.match(p, out);
    return Readable.from(out);
  }

  override createRetainedStream(pattern: string): Readable {
    return Readable.from(this.retained.match(pattern));
  }
}
