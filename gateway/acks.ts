/**
 * Receipt acks, coalesced per node. Every ack is for a receipt already committed (intake
 * hands them over only after its transaction), so holding one back for a few
 * milliseconds changes no guarantee: the node keeps the result in its outbox until the
 * ack comes, and a lost ack only means a resend the gateway answers with 'duplicate'.
 * Coalescing means one signature here and one verification on the device per
 * `delayMs` per node, instead of one per intake group.
 */
import type { ReceiptAck } from '../protocol/messages.js';

export type AckEntry = ReceiptAck['acks'][number];

export interface AckQueueOptions {
  /** How long an ack may wait for others to the same node (0 = send at once). */
  delayMs: number;
  /** Acks per message at most (a full list goes out at once). */
  maxPerMessage: number;
  publish(region: string, nodeId: string, acks: AckEntry[]): void;
}

export class AckQueue {
  private readonly waiting = new Map<string, { region: string; list: AckEntry[] }>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly o: AckQueueOptions) {}

  get pending(): number {
    let n = 0;
    for (const w of this.waiting.values()) n += w.list.length;
    return n;
  }

  add(nodeId: string, region: string, ack: AckEntry): void {
    let w = this.waiting.get(nodeId);
    if (!w) this.waiting.set(nodeId, (w = { region, list: [] }));
    w.region = region;
    w.list.push(ack);
    if (w.list.length >= this.o.maxPerMessage) this.flushNode(nodeId);
    else if (this.o.delayMs <= 0) return;
    else this.timer ??= setTimeout(() => { this.timer = null; this.flush(); }, this.o.delayMs);
  }

  /** Call after a group's acks were added: with no delay they go out now. */
  added(): void {
    if (this.o.delayMs <= 0) this.flush();
  }

  private flushNode(nodeId: string): void {
    const w = this.waiting.get(nodeId);
    if (!w) return;
    this.waiting.delete(nodeId);
    for (let i = 0; i < w.list.length; i += this.o.maxPerMessage) this.o.publish(w.region, nodeId, w.list.slice(i, i + this.o.maxPerMessage));
  }

  /** Send everything waiting now. */
  flush(): void {
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    for (const nodeId of [...this.waiting.keys()]) this.flushNode(nodeId);
  }
}
