/**
 * The receipt intake pipeline: result messages queue in arrival order and are handled in
 * groups: signatures checked in the verifier workers (stateless), then enrollment, chain and
 * task checks, the engine's updates and one commit here (intake.ts), and acks only once that
 * commit is on disk. Groups go strictly in arrival order (a node's chain depends on it); while
 * one group commits, the next one's signatures are being checked.
 */
import { fromHex } from '../protocol/hash.js';
import type { Logger } from '../util/log.js';
import type { AckQueue } from './acks.js';
import type { AcceptedResult, ReceiptIntake } from './intake.js';
import type { GatewayMetrics } from './metrics.js';
import type { ParseOutcome } from './parse.js';
import type { Store } from './store.js';
import type { VerifyPool } from './verify-pool.js';

/** Result messages handled together (one verification batch, one commit). */
const INTAKE_GROUP = 1024;

type Message = { bytes: Uint8Array; region: string };
type Taken = { group: Message[]; parsed: Promise<ParseOutcome[][]>; end: () => void };

export interface IntakePipelineDeps {
  intake: ReceiptIntake;
  verifyPool: VerifyPool;
  acks: AckQueue;
  store: Store;
  metrics: GatewayMetrics;
  log: Logger;
  /** Accepted results, inside the group's transaction (task and reputation updates commit with the receipts). */
  onAccepted(accepted: AcceptedResult[]): void;
  /** A receipt of this node was stored. */
  onStored(nodeId: string): void;
  /** This many receipts were stored by a group (the batcher may seal). */
  storedMany(n: number): void;
}

export class IntakePipeline {
  private inbox: Message[] = [];
  private draining: Promise<void> | null = null;

  constructor(private readonly d: IntakePipelineDeps) {}

  /** A result message from the link. */
  push(bytes: Uint8Array, region: string): void {
    this.inbox.push({ bytes, region });
    if (!this.draining) setImmediate(() => void this.flush());
  }

  /** Handle everything queued (also what arrives meanwhile). */
  flush(): Promise<void> {
    this.draining ??= this.drain().finally(() => { this.draining = null; });
    return this.draining;
  }

  private take(): Taken | null {
    if (this.inbox.length === 0) return null;
    const group = this.inbox.length > INTAKE_GROUP ? this.inbox.splice(0, INTAKE_GROUP) : this.inbox;
    if (group === this.inbox) this.inbox = [];
    return { group, parsed: this.d.verifyPool.parse(group.map((g) => g.bytes)), end: this.d.metrics.intakeBatch.startTimer() };
  }

  private async drain(): Promise<void> {
    let next = this.take();
    while (next) {
      const cur = next;
      next = this.take();
      try {
        this.handle(cur.group, await cur.parsed, cur.end);
      } catch (e) {
        this.d.log.error({ err: (e as Error).message, results: cur.group.length }, 'intake group failed; senders will resend');
      }
      next ??= this.take();
    }
  }

  private handle(group: Message[], perMessage: ParseOutcome[][], end: () => void): void {
    const { metrics, acks } = this.d;
    metrics.resultMessages.inc(group.length);
    const regionOf: string[] = [];
    perMessage.forEach((items, m) => { for (let k = 0; k < items.length; k++) regionOf.push(group[m]!.region); });
    const { outcomes } = this.d.intake.processParsed(perMessage.flat(), Date.now(), (acc) => this.d.onAccepted(acc));
    end();
    for (const o of outcomes) {
      metrics.receipts.inc({ status: o.status });
      if (o.status === 'rejected') this.d.log.warn({ nodeId: o.nodeId, taskId: o.taskId, reason: o.reason }, 'receipt rejected');
    }
    // Acks only once the commit is on disk.
    this.d.store.afterSync(() => {
      outcomes.forEach((o, i) => {
        // Only a receipt whose signature verified gets an ack: a forged one names nobody.
        if (!o.nodeId || !o.receiptId || !o.taskId) return;
        acks.add(o.nodeId, regionOf[i]!, { receiptId: fromHex(o.receiptId), taskId: o.taskId, status: o.status, reason: o.reason?.slice(0, 256) ?? null });
      });
      acks.added();
    });
    let stored = 0;
    for (const o of outcomes) if (o.status === 'stored') { stored++; if (o.nodeId) this.d.onStored(o.nodeId); }
    if (stored) this.d.storedMany(stored);
  }
}
