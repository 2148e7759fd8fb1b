/**
 * LedgerProver: the gateway's side of the recursive prover. A BatchSink: the batcher tells
 * it about each sealed batch, which costs O(1) and never waits. The queue is the store
 * itself: batches sealed but not yet folded (height < sealed). While the prover process is
 * idle it is handed the next batch's receipts, or the next two when two are waiting (one
 * proof step folds both for about the cost of one); proofs lag under load (the lag is reported)
 * and intake goes on at full speed. The prover process runs at a lower CPU priority.
 *
 * Without o1js (an optional dependency) the gateway runs with proofs disabled: one log
 * line, and GET /api/proofs/latest says why. A prover process that dies is restarted with
 * back-off; a batch that fails to fold is retried after a delay.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { setPriority } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BATCHES_PER_STEP, LEDGER_INCLUSION_FORMAT, priceToMicro, RECEIPTS_PER_BATCH, type LedgerInclusion, type LedgerProof, type LedgerStatus,
} from '../../protocol/ledger-proof.js';
import type { Logger } from '../../util/log.js';
import type { BatchSink, SealedBatch } from '../batcher.js';
import type { Store } from '../store.js';
import type { ProverReceipt } from './folder.js';
import { LedgerDb } from './ledger-db.js';
import type { FromProver, ToProver } from './messages.js';
import { defaultZkCache } from './o1js.js';

export interface LedgerProverOptions {
  store: Store;
  dataDir: string;
  log: Logger;
  /** Compiled-key cache (default $SWARMLET_ZK_CACHE or ~/.cache/swarmlet/zk). */
  cacheDir?: string;
  /** false: run the circuit logic on values with dummy proofs (tests). */
  proofsEnabled?: boolean;
  /** Why proving cannot run here, or null (default: whether o1js resolves). */
  unavailable?: () => string | null;
  /** Proofs turned off by configuration, with this reason (logged at debug: nothing is wrong). */
  off?: string;
  /** Delay before a failed fold is retried or a dead prover restarted (doubles up to 60 s). */
  retryMs?: number;
}

export type LedgerInclusionAnswer =
  | { status: 'included'; proof: LedgerInclusion }
  | { status: 'pending'; height: number }
  | { status: 'unknown' }
  | { status: 'not-accepted'; reason: string }
  | { status: 'disabled'; reason: string };


function o1jsMissing(): string | null {
  try {
    createRequire(import.meta.url).resolve('o1js');
    return null;
  } catch {
    return 'o1js is not installed (an optional dependency): ledger proofs are disabled';
  }
}

/** A batch's receipts in leaf order, with the price each was billed at (0 when not billed). */
export function proverReceipts(store: Store, batchNo: number): ProverReceipt[] {
  const rows = store.db.prepare<[number], { id: string; node_id: string; task_id: string; fuel: number | bigint; price: number | null }>(
    'SELECT r.id, r.node_id, r.task_id, r.fuel, l.price FROM receipts r LEFT JOIN ledger l ON l.receipt_id = r.id WHERE r.batch_no = ? ORDER BY r.leaf',
  ).all(batchNo);
  return rows.map((r) => ({ id: r.id, nodeId: r.node_id, taskId: r.task_id, fuel: String(r.fuel), price: String(priceToMicro(r.price ?? 0)) }));
}

export class LedgerProver implements BatchSink {
  readonly name = 'ledger-prover';
  private child: ChildProcess | null = null;
  private ready = false;
  private busy = false;
  /** Receipts in the batch being folded. */
  private inFlight = 0;
  private stopped = false;
  private disabled: string | null = null;
  private error: string | null = null;
  private gatewayKey: string | null = null;
  private height = -1;
  private sealed: number;
  private latest: LedgerProof | null = null;
  private db: LedgerDb | null = null;
  private retry: NodeJS.Timeout | null = null;
  private delay: number;
  /** Last fold: how long it took and the prover's memory then. */
  lastFold: { batchNo: number; ms: number; cpuMs: number; rssMb: number; receipts: number } | null = null;
  /** Folds by this gateway's prover processes so far: count, wall and CPU ms. */
  readonly folds = { count: 0, ms: 0, cpuMs: 0 };
  /** The prover process's start: compile and genesis (wall and CPU ms; the genesis is 0 when resumed). */
  startup: { compileMs: number; compileCpuMs: number; genesisCpuMs: number } | null = null;

  constructor(private readonly o: LedgerProverOptions) {
    this.sealed = o.store.lastBatch()?.batch_no ?? 0;
    this.delay = o.retryMs ?? 5000;
  }

  /** Start the prover process (or note why proofs are disabled). */
  start(): void {
    if (this.o.off) {
      this.disabled = this.o.off;
      this.o.log.debug({ reason: this.disabled }, 'ledger proofs off');
      return;
    }
    this.disabled = (this.o.unavailable ?? o1jsMissing)();
    if (this.disabled) {
      this.o.log.warn({ reason: this.disabled }, 'ledger proofs disabled');
      return;
    }
    this.spawn();
  }

  private spawn(): void {
    if (this.stopped) return;
    // Its output goes through pipes of ours, not our stdout itself: should this process be
    // killed outright, the prover (deaf to the disconnect until its native step returns) must
    // not keep our parent's pipes open for minutes.
    const child = fork(fileURLToPath(new URL('./child.js', import.meta.url)), [], { serialization: 'advanced', stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    child.stdout?.pipe(process.stdout, { end: false });
    child.stderr?.pipe(process.stderr, { end: false });
    this.child = child;
    // Proving must not take CPU from intake: the prover yields to the gateway.
    if (child.pid) try { setPriority(child.pid, 10); } catch { /* not permitted: run at normal priority */ }
    child.on('message', (m: FromProver) => this.onMessage(m));
    child.on('exit', (code, signal) => {
      if (this.child !== child) return;
      this.child = null;
      this.ready = false;
      this.busy = false;
      if (this.stopped || this.disabled) return;
      this.error = `prover process exited (${signal ?? `code ${code}`}); restarting`;
      this.o.log.error({ code, signal }, 'prover process exited; restarting');
      this.later(() => this.spawn());
    });
    const init: ToProver = { t: 'init', dataDir: this.o.dataDir, cacheDir: this.o.cacheDir ?? defaultZkCache(), proofsEnabled: this.o.proofsEnabled ?? true };
    child.send(init);
  }

  private later(fn: () => void): void {
    if (this.retry) return;
    this.retry = setTimeout(() => { this.retry = null; fn(); }, this.delay);
    this.retry.unref();
    this.delay = Math.min(this.delay * 2, 60_000);
  }

  private onMessage(m: FromProver): void {
    switch (m.t) {
      case 'key':
        this.gatewayKey = m.gatewayKey;
        return;
      case 'ready':
        this.ready = true;
        this.gatewayKey = m.gatewayKey;
        this.height = m.height;
        this.db ??= new LedgerDb(join(this.o.dataDir, 'prover', 'ledger.sqlite'));
        this.latest = this.readLatest();
        this.o.log.info({ gatewayKey: m.gatewayKey, height: m.height, sealed: this.sealed, compileMs: Math.round(m.compileMs), compileCpuMs: Math.round(m.compileCpuMs) }, 'ledger prover ready');
        this.startup = { compileMs: m.compileMs, compileCpuMs: m.compileCpuMs, genesisCpuMs: m.genesisCpuMs };
        this.pump();
        return;
      case 'folded':
        this.busy = false;
        this.error = null;
        this.delay = this.o.retryMs ?? 5000;
        this.height = m.batchNo;
        this.latest = m.proof;
        this.lastFold = { batchNo: m.batchNo, ms: m.ms, cpuMs: m.cpuMs, rssMb: m.rssMb, receipts: this.inFlight };
        this.folds.count++;
        this.folds.ms += m.ms;
        this.folds.cpuMs += m.cpuMs;
        this.o.log.debug({ batchNo: m.batchNo, ms: Math.round(m.ms), cpuMs: Math.round(m.cpuMs), rssMb: m.rssMb, lag: this.sealed - this.height }, 'batch folded into the ledger proof');
        this.pump();
        return;
      case 'failed':
        this.busy = false;
        this.error = `batch ${m.batchNo}: ${m.error}`;
        this.later(() => this.pump());
        return;
      case 'fatal':
        if (m.unavailable) {
          this.disabled = m.error;
          this.o.log.warn({ reason: m.error }, 'ledger proofs disabled');
        } else {
          this.error = `prover failed to start: ${m.error}`;
          this.o.log.error({ err: m.error }, 'prover failed to start');
        }
        return;
    }
  }

  private readLatest(): LedgerProof | null {
    const l = this.db?.latest();
    return l ? (JSON.parse(l.json) as LedgerProof) : null;
  }

  /** Hand the prover the next sealed batch (two when two wait) when it is idle. */
  private pump(): void {
    if (this.stopped || !this.ready || this.busy || !this.child || this.height >= this.sealed) return;
    const batchNo = this.height + 1;
    const batches: ProverReceipt[][] = [];
    for (let no = batchNo; no <= this.sealed && batches.length < BATCHES_PER_STEP; no++) {
      const rows = proverReceipts(this.o.store, no);
      if (rows.length > RECEIPTS_PER_BATCH) {
        // Only a store from a gateway once run with --batch-max above the proven batch size gets here.
        this.error = `batch ${no} holds ${rows.length} receipts; a proven batch holds at most ${RECEIPTS_PER_BATCH}: proving stopped`;
        this.o.log.error({ batchNo: no, receipts: rows.length }, 'batch too large to prove');
        if (batches.length === 0) return;
        break;
      }
      batches.push(rows);
    }
    this.busy = true;
    this.inFlight = batches.reduce((n, b) => n + b.length, 0);
    const msg: ToProver = { t: 'fold', batchNo, rows: batches[0]!, ...(batches[1] ? { next: batches[1] } : {}) };
    this.child.send(msg);
  }

  accept(batch: SealedBatch): void {
    if (batch.header.batchNo > this.sealed) this.sealed = batch.header.batchNo;
    this.pump();
  }

  status(): LedgerStatus {
    if (this.disabled) return { enabled: false, reason: this.disabled };
    const height = Math.max(this.height, 0);
    return {
      enabled: true, error: this.error, gatewayKey: this.gatewayKey, sealed: this.sealed, height,
      lag: Math.max(0, this.sealed - height), latest: this.latest,
    };
  }

  /** A receipt's inclusion in the latest ledger proof. */
  inclusion(receiptId: string): LedgerInclusionAnswer {
    if (this.disabled) return { status: 'disabled', reason: this.disabled };
    const st = this.o.store;
    const r = st.getReceipt(receiptId);
    if (!r) return { status: 'unknown' };
    if (r.status !== 'accepted') return { status: 'not-accepted', reason: r.reason ?? 'receipt was not accepted' };
    if (r.batch_no === null || r.leaf === null || !this.db) return { status: 'pending', height: Math.max(this.height, 0) };
    const inc = this.db.inclusion(r.batch_no, r.leaf);
    if (!inc) return { status: 'pending', height: Math.max(this.height, 0) };
    const price = st.db.prepare<[string], { price: number }>('SELECT price FROM ledger WHERE receipt_id = ?').get(receiptId)?.price ?? 0;
    const b = inc.batch;
    return {
      status: 'included',
      proof: {
        format: LEDGER_INCLUSION_FORMAT, receiptId, receipt: Buffer.from(r.envelope).toString('hex'), price: String(priceToMicro(price)),
        leafIndex: r.leaf, group: inc.group.map(String), receiptPath: inc.receiptPath.map(String),
        batch: { batchNo: b.batchNo, root: String(b.root), count: b.count, fuel: String(b.fuel), credits: String(b.credits) },
        batchesPath: inc.batchesPath.map(String), ledger: JSON.parse(inc.proofJson) as LedgerProof,
      },
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    const child = this.child;
    this.child = null;
    if (child && child.exitCode === null && child.signalCode === null) {
      // Every folded step is committed in one transaction: killing mid-proof loses only that step.
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 5000).unref())]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    this.db?.close();
  }
}
