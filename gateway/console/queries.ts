/**
 * Read-only SQL behind the console's lists and drill-down, on the gateway's store: pages
 * of jobs, of a job's tasks, of batches and of a node's receipts, a node's leases and
 * billing, and batch totals. Every query is bounded (LIMIT, and indexes the store has:
 * jobs by state, tasks by job, receipts by node and sequence, attempts by node and state,
 * ledger by node). Nothing here writes.
 */
import { sha256Hex } from '../../protocol/hash.js';
import type { Db, Statement } from '../sqlite.js';
import type { JobRow, Store } from '../store.js';
import { jobView, type JobView } from '../jobs.js';
import { likePrefix, type Page } from './paging.js';

export const JOB_SORTS = ['created', 'finished', 'task', 'state'] as const;
export const JOB_STATES = ['running', 'revising', 'done', 'failed', 'cancelled'] as const;
export const TASK_SORTS = ['index', 'state', 'node', 'attempts'] as const;
/** ok: done with its output; failed: a result that is a failure (a trap, fuel or memory exhausted) or none (attempts used up, deadline, cancelled). */
export const TASK_FILTERS = ['open', 'ok', 'failed'] as const;
export const BATCH_SORTS = ['batch', 'count', 'fuel'] as const;
export const RECEIPT_STATUSES = ['accepted', 'rejected'] as const;

/** Outputs up to this size get a SHA-256 in task pages (hashing a page of 512 KiB outputs would hold the event loop). */
const HASH_OUTPUT_MAX = 64 * 1024;
const OUTPUT_HEAD = 64;

export interface TaskItem {
  index: number;
  state: 'open' | 'done' | 'failed';
  ok: boolean | null;
  error: string | null;
  outputHex: string | null;
  outputBytes: number | null;
  outputSha256: string | null;
  nodeId: string | null;
  receiptId: string | null;
  verified: boolean;
  attempts: number;
}

export class ConsoleQueries {
  private readonly s: Record<string, Statement>;
  private readonly cache = new Map<string, Statement>();

  constructor(private readonly store: Store) {
    const p = (sql: string) => store.db.prepare(sql);
    this.s = {
      batchTotals: p('SELECT COUNT(*) AS batches, TOTAL(count) AS receipts, TOTAL(fuel_total) AS fuel FROM batches'),
      leases: p(`SELECT a.task_id, a.attempt, a.lease_until, a.price, t.job_id FROM attempts a JOIN tasks t ON t.id = a.task_id
        WHERE a.node_id = ? AND a.state = 'leased' ORDER BY a.lease_until LIMIT 200`),
      receipts: p(`SELECT id, seq, task_id, job_id, fuel, status, reason, batch_no, accepted_at FROM receipts WHERE node_id = ? ORDER BY seq DESC LIMIT ? OFFSET ?`),
      receiptsByStatus: p(`SELECT id, seq, task_id, job_id, fuel, status, reason, batch_no, accepted_at FROM receipts WHERE node_id = ? AND status = ? ORDER BY seq DESC LIMIT ? OFFSET ?`),
      receiptCount: p('SELECT COUNT(*) AS n FROM receipts WHERE node_id = ?'),
      billing: p(`SELECT COUNT(*) - TOTAL(voided) AS receipts, TOTAL(CASE WHEN voided = 0 THEN fuel ELSE 0 END) AS fuel,
        TOTAL(CASE WHEN voided = 0 THEN credits ELSE 0 END) AS credits, TOTAL(voided) AS voided FROM ledger WHERE node_id = ?`),
      node: p('SELECT node_id, reputation, quarantined, good, bad, chain_seq, last_seen FROM nodes WHERE node_id = ?'),
      jobExists: p('SELECT 1 FROM jobs WHERE id = ?'),
    };
  }

  private prep(sql: string): Statement {
    let st = this.cache.get(sql);
    if (!st) {
      st = this.store.db.prepare(sql);
      if (this.cache.size < 256) this.cache.set(sql, st);
    }
    return st;
  }

  jobExists(id: string): boolean {
    return this.s.jobExists!.get(id) !== undefined;
  }

  batchTotals(): { batches: number; receipts: number; fuel: number } {
    return this.s.batchTotals!.get() as { batches: number; receipts: number; fuel: number };
  }

  jobs(p: Page<(typeof JOB_SORTS)[number]>): { total: number; items: JobView[] } {
    const where: string[] = [];
    const args: unknown[] = [];
    if (p.filters.state) { where.push('state = ?'); args.push(p.filters.state); }
    if (p.q) { where.push("(id LIKE ? ESCAPE '\\' OR task_name LIKE ? ESCAPE '\\')"); args.push(likePrefix(p.q), likePrefix(p.q)); }
    const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const col = { created: 'created_at', finished: 'finished_at', task: 'task_name', state: 'state' }[p.sort];
    const total = (this.prep(`SELECT COUNT(*) AS n FROM jobs ${w}`).get(...args) as { n: number }).n;
    const rows = this.prep(`SELECT * FROM jobs ${w} ORDER BY ${col} ${p.desc ? 'DESC' : 'ASC'}, created_at DESC LIMIT ? OFFSET ?`).all(...args, p.limit, p.offset) as JobRow[];
    return { total, items: rows.map((r) => jobView(this.store, r, false)) };
  }

  tasks(jobId: string, p: Page<(typeof TASK_SORTS)[number]>): { total: number; items: TaskItem[] } {
    const where = ['job_id = ?'];
    const args: unknown[] = [jobId];
    switch (p.filters.state) {
      case 'open': where.push("state NOT IN ('done', 'failed')"); break;
      case 'ok': where.push("state = 'done'"); break;
      case 'failed': where.push("state = 'failed'"); break;
    }
    if (p.q) {
      // A number is a task index; anything else a node or receipt id prefix.
      if (/^\d{1,9}$/.test(p.q)) { where.push('idx = ?'); args.push(Number(p.q)); }
      else { where.push("(node_id LIKE ? ESCAPE '\\' OR receipt_id LIKE ? ESCAPE '\\')"); args.push(likePrefix(p.q.toLowerCase()), likePrefix(p.q.toLowerCase())); }
    }
    const w = `WHERE ${where.join(' AND ')}`;
    const col = { index: 'idx', state: 'state', node: 'node_id', attempts: 'attempts' }[p.sort];
    const total = (this.prep(`SELECT COUNT(*) AS n FROM tasks ${w}`).get(...args) as { n: number }).n;
    const rows = this.prep(`SELECT idx, state, ok, error, substr(output, 1, ${OUTPUT_HEAD}) AS head, length(output) AS size,
        CASE WHEN length(output) <= ${HASH_OUTPUT_MAX} THEN output END AS small, node_id, receipt_id, verified, attempts
      FROM tasks ${w} ORDER BY ${col} ${p.desc ? 'DESC' : 'ASC'}, idx ASC LIMIT ? OFFSET ?`).all(...args, p.limit, p.offset) as Array<{
      idx: number; state: string; ok: number | null; error: string | null; head: Buffer | null; size: number | null; small: Buffer | null;
      node_id: string | null; receipt_id: string | null; verified: number; attempts: number;
    }>;
    return {
      total,
      items: rows.map((r) => {
        const done = r.state === 'done' || r.state === 'failed';
        const ok = done ? r.state === 'done' && r.ok === 1 : null;
        return {
          index: r.idx, state: done ? (r.state as 'done' | 'failed') : 'open', ok, error: r.error,
          outputHex: ok && r.head ? r.head.toString('hex') : null, outputBytes: ok ? r.size : null,
          outputSha256: ok && r.small ? sha256Hex(r.small) : null,
          nodeId: r.node_id, receiptId: r.receipt_id, verified: r.verified === 1, attempts: r.attempts,
        };
      }),
    };
  }

  batches(p: Page<(typeof BATCH_SORTS)[number]>): { total: number; items: Array<{ batchNo: number; count: number; fuelTotal: number; merkleRoot: string; headerId: string; createdAt: number; header: string }> } {
    const where: string[] = [];
    const args: unknown[] = [];
    if (p.q) {
      if (/^\d{1,15}$/.test(p.q)) { where.push('batch_no = ?'); args.push(Number(p.q)); }
      else { where.push("(merkle_root LIKE ? ESCAPE '\\' OR header_id LIKE ? ESCAPE '\\')"); args.push(likePrefix(p.q.toLowerCase()), likePrefix(p.q.toLowerCase())); }
    }
    const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const col = { batch: 'batch_no', count: 'count', fuel: 'fuel_total' }[p.sort];
    const total = (this.prep(`SELECT COUNT(*) AS n FROM batches ${w}`).get(...args) as { n: number }).n;
    const rows = this.prep(`SELECT batch_no, count, fuel_total, merkle_root, header_id, created_at, header FROM batches ${w}
      ORDER BY ${col} ${p.desc ? 'DESC' : 'ASC'}, batch_no DESC LIMIT ? OFFSET ?`).all(...args, p.limit, p.offset) as Array<{
      batch_no: number; count: number; fuel_total: number; merkle_root: string; header_id: string; created_at: number; header: Buffer;
    }>;
    return {
      total,
      items: rows.map((b) => ({
        batchNo: b.batch_no, count: b.count, fuelTotal: b.fuel_total, merkleRoot: b.merkle_root, headerId: b.header_id, createdAt: b.created_at, header: b.header.toString('hex'),
      })),
    };
  }

  leases(nodeId: string): Array<{ taskId: string; jobId: string; attempt: number; leaseUntil: number; price: number }> {
    return (this.s.leases!.all(nodeId) as Array<{ task_id: string; job_id: string; attempt: number; lease_until: number; price: number }>)
      .map((r) => ({ taskId: r.task_id, jobId: r.job_id, attempt: r.attempt, leaseUntil: r.lease_until, price: r.price }));
  }

  receipts(nodeId: string, limit: number, offset: number, status?: string): { total: number; items: Array<{ id: string; seq: number; taskId: string; jobId: string; fuel: number; status: string; reason: string | null; batchNo: number | null; at: number }> } {
    const rows = (status ? this.s.receiptsByStatus!.all(nodeId, status, limit, offset) : this.s.receipts!.all(nodeId, limit, offset)) as Array<{
      id: string; seq: number; task_id: string; job_id: string; fuel: number; status: string; reason: string | null; batch_no: number | null; accepted_at: number;
    }>;
    const total = (this.s.receiptCount!.get(nodeId) as { n: number }).n;
    return { total, items: rows.map((r) => ({ id: r.id, seq: r.seq, taskId: r.task_id, jobId: r.job_id, fuel: r.fuel, status: r.status, reason: r.reason, batchNo: r.batch_no, at: r.accepted_at })) };
  }

  billing(nodeId: string): { receipts: number; fuel: number; credits: number; voided: number } {
    const b = this.s.billing!.get(nodeId) as { receipts: number; fuel: number; credits: number; voided: number };
    return { receipts: b.receipts, fuel: b.fuel, credits: Math.round(b.credits * 1e6) / 1e6, voided: b.voided };
  }

  standing(nodeId: string): { good: number; bad: number; chainSeq: number } | undefined {
    const r = this.s.node!.get(nodeId) as { good: number; bad: number; chain_seq: number } | undefined;
    return r ? { good: r.good, bad: r.bad, chainSeq: r.chain_seq } : undefined;
  }
}

export type { Db };
