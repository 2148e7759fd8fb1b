/**
 * Per-identity budgets, kept across connections: one publish bucket and one connect bucket
 * per authenticated identity (node id; an anonymous dev client's client id), shared by all
 * of its sessions and surviving its reconnects. A per-connection bucket let a node multiply
 * its rate by opening more sessions or by reconnecting after every cut (a fresh burst each
 * time); a shared one holds the limit per node, whatever it does with its connections.
 *
 * Bounded: an entry whose buckets have refilled since their last use is equivalent to no
 * entry, so it is forgotten (swept periodically, and when the map is full). Only when more
 * than `maxEntries` identities are active within one refill window is a still-draining
 * entry evicted (the least recently connected one without a live session).
 */
import { TokenBucket } from './limits.js';

export interface BudgetLimits {
  publishRate: number;
  publishBurst: number;
  connectRate: number;
  connectBurst: number;
}

export interface Budget {
  readonly publish: TokenBucket;
  readonly connects: TokenBucket;
  /** Live sessions of this identity on this broker. */
  live: number;
  /** Last time a refused connect was logged (one line per identity per refill window). */
  lastWarned: number;
}

export class IdentityBudgets {
  private readonly map = new Map<string, Budget>();
  /** How long an unused entry takes to refill completely (then it can be forgotten). */
  readonly refillMs: number;

  constructor(private readonly l: BudgetLimits, private readonly maxEntries = 100_000) {
    this.refillMs = Math.ceil(1000 * Math.max(l.publishBurst / l.publishRate, l.connectBurst / l.connectRate));
  }

  get size(): number {
    return this.map.size;
  }

  /** The budget of `id`, created full if unknown. Moves it to the recently-connected end. */
  get(id: string, now = Date.now()): Budget {
    let b = this.map.get(id);
    if (b) {
      this.map.delete(id);
    } else {
      if (this.map.size >= this.maxEntries) this.makeRoom(now);
      b = {
        publish: new TokenBucket(this.l.publishRate, this.l.publishBurst, now),
        connects: new TokenBucket(this.l.connectRate, this.l.connectBurst, now),
        live: 0,
        lastWarned: 0,
      };
    }
    this.map.set(id, b);
    return b;
  }

  /** Forget entries with no live session that have refilled completely. */
  sweep(now = Date.now()): number {
    let n = 0;
    for (const [id, b] of this.map) {
      if (b.live === 0 && now - Math.max(b.publish.lastUsed, b.connects.lastUsed) >= this.refillMs) {
        this.map.delete(id);
        n++;
      }
    }
    return n;
  }

  private makeRoom(now: number): void {
    if (this.sweep(now) > 0) return;
    for (const [id, b] of this.map) {
      if (b.live === 0) {
        this.map.delete(id);
        return;
      }
    }
  }
}
