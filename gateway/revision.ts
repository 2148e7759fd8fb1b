/**
 * Revision: everything a caught node produced that no re-execution of ours confirmed is
 * worthless. Its pending results leave their tasks; every accepted, billed result of it is
 * voided (its credits reversed) and its task runs again elsewhere, in open jobs and in
 * finished ones alike. A finished job so touched is 'revising' until the re-runs are in, and
 * keeps a revision record (which indexes, which came out different).
 */
import type { Logger } from '../util/log.js';
import { DEFAULT_DEADLINE_MS, type JobState, type TaskState } from './jobs.js';
import type { Store } from './store.js';

/** How long a revised job has to re-run the results it lost (its old deadline may have passed). */
const REVISION_DEADLINE_MS = DEFAULT_DEADLINE_MS;

/** What revising needs of the engine that owns the open jobs. */
export interface RevisionHost {
  readonly jobs: ReadonlyMap<string, JobState>;
  task(id: string): TaskState | undefined;
  readonly store: Store;
  readonly log: Logger;
  /** Bring a finished job back into memory from the store (its reopened tasks open). */
  restore(jobId: string, now: number): JobState | undefined;
  /** Decide again which of the task's remaining results get re-executed. */
  recheck(task: TaskState, job: JobState): void;
  evaluate(task: TaskState): void;
}

export function reviseNode(h: RevisionHost, nodeId: string, now = Date.now()): void {
  const store = h.store;
  for (const job of h.jobs.values()) {
    for (const t of job.tasks) {
      if (t.state === 'open' && t.results.delete(nodeId)) { t.extra = 0; h.evaluate(t); }
    }
  }
  const rows = store.unconfirmedResults(nodeId);
  if (rows.length === 0) return;
  store.voidBilling(rows.map((r) => r.receipt_id));
  const byJob = new Map<string, typeof rows>();
  // A task finished on the node's result: done, or failed by an accepted (billed) failure.
  for (const r of rows) if (r.task_state === 'done' || r.task_state === 'failed') byJob.set(r.job_id, [...(byJob.get(r.job_id) ?? []), r]);
  let reopened = 0;
  for (const [jobId, list] of byJob) {
    let job = h.jobs.get(jobId);
    if (!job) {
      // A finished job: open it again, then bring it back into memory with the tasks reopened.
      store.reviseJob(jobId, now + REVISION_DEADLINE_MS);
      for (const r of list) store.reopenTask(r.task_id);
      job = h.restore(jobId, now);
      if (!job) continue;
    } else {
      job.deadline = Math.max(job.deadline, now + REVISION_DEADLINE_MS);
      for (const r of list) {
        const t = h.task(r.task_id);
        if (!t || !(t.state === 'done' || (t.state === 'failed' && t.final))) continue;
        store.reopenTask(t.id);
        t.state = 'open';
        t.final = null;
        t.error = null;
        t.verified = false;
        job.remaining++;
      }
    }
    store.addRevision(jobId, nodeId, list.map((r) => ({ index: r.idx, hash: r.final_hash })), now);
    for (const r of list) {
      const t = h.task(r.task_id);
      if (!t || t.state !== 'open') continue;
      reopened++;
      t.results.delete(nodeId);
      t.extra = 0;
      t.spot = false;
      h.recheck(t, job);
      h.evaluate(t);
    }
  }
  h.log.info({ nodeId, voided: rows.length, reopened, jobs: byJob.size }, 'results of a caught node voided and run again');
}
