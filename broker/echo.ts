/**
 * Loop prevention for the bridge. MQTT 3.1.1 has no "no local" flag, so a broker echoes
 * a bridge's own publish back to it whenever the bridge also subscribes to that topic.
 * Whenever the bridge hands a message to one side on a topic it also forwards FROM that
 * side, it expects that copy to come back once and cancels exactly one arrival of the
 * same (topic, payload). Counting copies (not a time window) means two genuine identical
 * messages are both forwarded; expectations that never come back (a broker that does
 * suppress echoes) expire after `ttlMs`.
 */
import { createHash } from 'node:crypto';

export function echoKey(topic: string, payload: Uint8Array): string {
  return topic + '\0' + createHash('sha1').update(payload).digest('base64');
}

export class EchoCanceller {
  private readonly pending = new Map<string, number[]>(); // key -> expiry times, oldest first
  private size = 0;
  constructor(private readonly ttlMs = 30_000, private readonly max = 100_000) {}

  /** We just sent this message to the side that will echo it back. */
  expect(key: string, now = Date.now()): void {
    if (this.size >= this.max) this.prune(now, true);
    const list = this.pending.get(key);
    if (list) list.push(now + this.ttlMs);
    else this.pending.set(key, [now + this.ttlMs]);
    this.size++;
  }

  /** True (and consumed) when this arrival is the echo of something we sent. */
  consume(key: string, now = Date.now()): boolean {
    const list = this.pending.get(key);
    if (!list) return false;
    while (list.length && list[0]! < now) {
      list.shift();
      this.size--;
    }
    const hit = list.length > 0;
    if (hit) {
      list.shift();
      this.size--;
    }
    if (list.length === 0) this.pending.delete(key);
    return hit;
  }

  get pendingCount(): number {
    return this.size;
  }

  private prune(now: number, force: boolean): void {
    for (const [k, list] of this.pending) {
      while (list.length && (list[0]! < now || force)) {
        list.shift();
        this.size--;
        force = false;
      }
      if (list.length === 0) this.pending.delete(k);
      if (this.size < this.max) return;
    }
  }
}
