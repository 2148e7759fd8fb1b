/**
 * Rebuilding a job in memory from what the store committed: its tasks (finished ones with
 * their accepted result), every node that ever held each task, the results reported for
 * open tasks, and the leases still out. Used on start (open jobs) and when a finished job
 * is revised after a cheater is caught (revision.ts).
 */
import { newTaskState, type JobState, type Lease, type TaskState } from './jobs.js';
import type { JobRow, Store } from './store.js';

export interface RestoredJob {
  job: JobState;
  /** Live leases on open tasks, to hand back to the scheduler. */
  leases: Array<{ task: TaskState; lease: Lease }>;
}

export function jobFromRow(row: JobRow): JobState {
  return {
    id: row.id, taskName: row.task_name, moduleHash: new Uint8Array(Buffer.from(row.module_hash, 'hex')), moduleHashHex: row.module_hash,
    redundancy: row.redundancy, spotCheck: row.spot_check, maxPrice: row.max_price, region: row.region, deadline: row.deadline,
    fuelLimit: row.fuel_limit, createdAt: row.created_at, delivery: row.delivery === 'verified' ? 'verified' : 'fast',
    tasks: [], remaining: 0, latencyMs: 0, fuelRef: 0, fuelRefPending: false,
  };
}

/**
 * `leaseMs`: what a restored lease's grant time is taken to be (leaseUntil - leaseMs). Leases
 * already past at `now` are not restored (their task is simply offered again; a node is not
 * charged for a lease that ran out while the gateway was not watching).
 */
export function restoreJob(store: Store, row: JobRow, leaseMs: number, now = Date.now()): RestoredJob {
  const job = jobFromRow(row);
  const byId = new Map<string, TaskState>();
  for (const tr of store.jobTasks(row.id)) {
    const t = newTaskState(row.id, tr.idx, new Uint8Array(tr.input), tr.spot === 1);
    t.attempts = tr.attempts;
    if (tr.state === 'done' || tr.state === 'failed') {
      t.state = tr.state;
      t.verified = tr.verified === 1;
      t.error = tr.error;
      if (tr.node_id && tr.receipt_id) {
        t.final = {
          nodeId: tr.node_id, attempt: 0, ok: tr.ok === 1, output: new Uint8Array(tr.output ?? Buffer.alloc(0)), compareHash: tr.output_hash ?? '',
          errorKind: tr.error, receiptId: tr.receipt_id, fuel: 0, price: 0,
        };
      }
    } else job.remaining++;
    job.tasks.push(t);
    byId.set(t.id, t);
  }
  const leases: RestoredJob['leases'] = [];
  for (const a of store.jobAttempts(row.id)) {
    const t = byId.get(a.task_id);
    if (!t) continue;
    t.tried.add(a.node_id);
    if (t.state !== 'open') continue;
    if (a.state === 'leased' && a.lease_until > now) {
      leases.push({ task: t, lease: { nodeId: a.node_id, attempt: a.attempt, offerId: a.offer_id, price: a.price, leaseUntil: a.lease_until, grantedAt: a.lease_until - leaseMs, stalled: false } });
    } else if (a.state === 'reported' && a.receipt_id && a.output_hash) {
      t.results.set(a.node_id, {
        nodeId: a.node_id, attempt: a.attempt, ok: a.ok === 1, output: new Uint8Array(a.output ?? Buffer.alloc(0)), compareHash: a.output_hash,
        errorKind: a.error_kind, receiptId: a.receipt_id, fuel: a.fuel ?? 0, price: a.price,
      });
    }
  }
  return { job, leases };
}
