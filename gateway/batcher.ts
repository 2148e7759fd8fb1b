/**
 * Groups accepted receipts into batches: a Merkle root over their ids and a signed
 * `batch-header` chained to the previous batch (prevBatchHash = id of the previous header
 * body), carrying the count and fuel total. A batch is cut when `maxReceipts` are waiting
 * or `maxDelayMs` after the first one arrived; receipts left unbatched by a crash are
 * picked up on start.
 *
 * The batching sits behind two interfaces so a later issue can fold batches into recursive
 * proofs without touching intake or the store:
 *   - BatchSink: told about every sealed batch (today: publish on gw/proofs; later: a
 *     prover that folds the header into a recursive proof).
 *   - Prover: answers "prove receipt X is included" (today: Merkle path + signed header).
 */
import { seal } from '../protocol/envelope.js';
import { fromHex, toHex, ZERO_HASH } from '../protocol/hash.js';
import type { Identity } from '../protocol/identity.js';
import { MAX_BATCH_RECEIPTS, MAX_TASK_FUEL, type BatchHeader } from '../protocol/messages.js';
import type { Logger } from '../util/log.js';
import { merklePath, merkleRoot } from './merkle.js';
import { buildInclusionProof, type InclusionProof } from './proof.js';
import type { Store } from './store.js';

export interface SealedBatch {
  header: BatchHeader;
  /** The signed batch-header envelope. */
  envelope: Uint8Array;
  /** sha256 of the header body: what the next batch chains to. */
  id: Uint8Array;
  receiptIds: Uint8Array[];
}

export interface BatchSink {
  readonly name: string;
  accept(batch: SealedBatch): void | Promise<void>;
}

export type ProofAnswer =
  | { status: 'included'; proof: InclusionProof }
  | { status: 'pending' }
  | { status: 'unknown' }
  | { status: 'not-accepted'; reason: string };

export interface Prover {
  proveInclusion(receiptIdHex: string): ProofAnswer;
}

export interface BatcherOptions {
  store: Store;
  identity: Identity;
  region: string;
  maxReceipts?: number;
  maxDelayMs?: number;
  sinks?: BatchSink[];
  log: Logger;
}

export class Batcher implements Prover {
  readonly maxReceipts: number;
  readonly maxDelayMs: number;
  private timer: NodeJS.Timeout | null = null;
  private readonly sinks: BatchSink[];
  /** Accepted receipts not yet in a batch: counted once from the store, then kept here (a COUNT per intake group cost more than the group). */
  private waiting: number | null = null;
  private stopped = false;

  constructor(private readonly o: BatcherOptions) {
    this.maxReceipts = Math.max(1, Math.min(o.maxReceipts ?? 1000, MAX_BATCH_RECEIPTS));
    this.maxDelayMs = Math.max(1, o.maxDelayMs ?? 1000);
    this.sinks = [...(o.sinks ?? [])];
  }

  addSink(s: BatchSink): void {
    this.sinks.push(s);
  }

  /**
   * Call with how many receipts were just accepted (and once on start, with none). Never
   * throws: a batch that cannot be sealed (the store failing) is logged and tried again on
   * the next timer; receipts wait in the store meanwhile.
   */
  poke(accepted = 0): void {
    if (this.stopped) return;
    try {
      if (this.waiting === null) this.waiting = this.o.store.countUnbatched();
      else this.waiting += accepted;
      while (this.waiting >= this.maxReceipts && this.cut()) { /* one batch per maxReceipts */ }
    } catch (e) {
      this.o.log.error({ err: (e as Error).message }, 'batch not sealed; receipts wait in the store and are tried again');
      this.waiting = Math.max(this.waiting ?? 0, 1);
    }
    if ((this.waiting ?? 0) > 0 && !this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        if (this.stopped) return;
        try {
          this.cut();
        } catch (e) {
          this.o.log.error({ err: (e as Error).message }, 'batch not sealed; receipts wait in the store and are tried again');
        }
        this.poke();
      }, this.maxDelayMs);
      this.timer.unref?.();
    }
  }

  /** Seal one batch of up to maxReceipts waiting receipts; null when none wait. */
  cut(now = Date.now()): SealedBatch | null {
    const st = this.o.store;
    const all = st.unbatched(this.maxReceipts);
    if (all.length === 0) { this.waiting = 0; return null; }
    // Every receipt's fuel was checked at intake (<= its task's limit <= MAX_TASK_FUEL); a row
    // that is not (a store written by an older gateway, or edited) is set aside, not summed:
    // one poison row must not stop batching, or the gateway.
    const poison = all.filter((r) => !(Number.isSafeInteger(r.fuel) && r.fuel >= 0 && r.fuel <= MAX_TASK_FUEL));
    if (poison.length) {
      st.setAside(poison.map((r) => r.id), `fuel out of range (${poison[0]!.fuel}): set aside by the batcher`);
      this.o.log.error({ receipts: poison.length, example: poison[0]!.id }, 'receipts with out-of-range fuel set aside (rejected, unbilled)');
    }
    // Exact totals: summed as BigInt, and a batch ends before its total would leave the safe range.
    const bad = new Set(poison);
    const rows: typeof all = [];
    let total = 0n;
    for (const r of all) {
      if (bad.has(r)) continue;
      if (total + BigInt(r.fuel) > BigInt(Number.MAX_SAFE_INTEGER)) break;
      total += BigInt(r.fuel);
      rows.push(r);
    }
    if (rows.length === 0) return poison.length ? this.cut(now) : null;
    const ids = rows.map((r) => fromHex(r.id));
    const last = st.lastBatch();
    const header: BatchHeader = {
      gatewayId: this.o.identity.nodeId,
      region: this.o.region,
      batchNo: last ? last.batch_no + 1 : 1,
      prevBatchHash: last ? fromHex(last.header_id) : ZERO_HASH,
      merkleRoot: merkleRoot(ids),
      count: ids.length,
      fuelTotal: Number(total),
      createdAt: now,
    };
    const sealed = seal('batch-header', header, this.o.identity);
    st.insertBatch({
      batch_no: header.batchNo, header: sealed.bytes, header_id: toHex(sealed.id), merkle_root: toHex(header.merkleRoot),
      count: header.count, fuel_total: header.fuelTotal, created_at: now,
    }, rows.map((r) => r.id));
    if (this.waiting !== null) this.waiting = Math.max(0, this.waiting - rows.length - poison.length);
    const batch: SealedBatch = { header, envelope: sealed.bytes, id: sealed.id, receiptIds: ids };
    // Sinks hear of a batch only once it is on disk.
    st.afterSync(() => {
      for (const s of this.sinks) {
        Promise.resolve()
          .then(() => s.accept(batch))
          .catch((e: unknown) => this.o.log.warn({ sink: s.name, err: (e as Error).message }, 'batch sink failed'));
      }
    });
    this.o.log.debug({ batchNo: header.batchNo, count: header.count, fuel: header.fuelTotal }, 'batch sealed');
    return batch;
  }

  proveInclusion(receiptIdHex: string): ProofAnswer {
    const st = this.o.store;
    const r = st.getReceipt(receiptIdHex);
    if (!r) return { status: 'unknown' };
    if (r.status !== 'accepted') return { status: 'not-accepted', reason: r.reason ?? 'receipt was not accepted' };
    if (r.batch_no === null || r.leaf === null) return { status: 'pending' };
    const b = st.getBatch(r.batch_no)!;
    const ids = st.batchReceiptIds(r.batch_no).map(fromHex);
    return {
      status: 'included',
      proof: buildInclusionProof({
        receiptId: r.id, receiptEnvelope: new Uint8Array(r.envelope), batchNo: b.batch_no, leafIndex: r.leaf, count: b.count,
        path: merklePath(ids, r.leaf), merkleRoot: b.merkle_root, headerEnvelope: new Uint8Array(b.header),
        gatewayId: this.o.identity.nodeId, gatewayPublicKey: this.o.identity.publicKey,
      }),
    };
  }

  /** Seal whatever waits (used on a clean stop) and stop the timer. */
  stop(flush = true): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (flush) while (this.cut()) { /* drain */ }
    this.stopped = true;
  }
}
