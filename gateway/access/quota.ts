/**
 * Job quotas: how much work one operator (and everyone together) may hold open in the
 * gateway. An open job keeps its inputs and task state in memory until it finishes, so
 * these bound the gateway's memory: tasks and input bytes per job (413 when a job is too
 * big), and open jobs, open tasks and open input bytes per operator and overall (429 while
 * they are in use). Who submitted which job is written to the access database, so a
 * restarted gateway still counts open jobs against their operators.
 */
import type { Db } from '../sqlite.js';

export interface QuotaLimits {
  /** Tasks (inputs) in one job. */
  tasksPerJob: number;
  /** Input bytes (decoded) in one job. */
  bytesPerJob: number;
  openJobsPerOperator: number;
  openTasksPerOperator: number;
  openBytesPerOperator: number;
  /** Across all operators. */
  openJobs: number;
  openTasks: number;
  openBytes: number;
}

const MiB = 1024 * 1024;
/**
 * One operator at these limits holds a gateway well under 1 GB (see gateway/README.md:
 * about 3-4 KB of memory per open task besides its input bytes, on a ~200 MB base).
 */
export const DEFAULT_QUOTA: QuotaLimits = {
  tasksPerJob: 20_000,
  bytesPerJob: 32 * MiB,
  openJobsPerOperator: 16,
  openTasksPerOperator: 50_000,
  openBytesPerOperator: 128 * MiB,
  openJobs: 64,
  openTasks: 200_000,
  openBytes: 512 * MiB,
};

export class QuotaError extends Error {
  override readonly name = 'QuotaError';
  constructor(readonly status: 413 | 429, message: string) {
    super(message);
  }
}

interface Owned { operator: string; tasks: number; bytes: number }

export interface QuotaDeps {
  /** Tasks still open in a job, or undefined once it has finished (or is unknown). */
  openTasksOf(jobId: string): number | undefined;
  /** Every open job's and task's count, including jobs not submitted over HTTP. */
  totals(): { openJobs: number; openTasks: number };
  /** The owner row could not be written (the job stands; only a restart would forget its owner). */
  onError?(e: Error): void;
}

const KEEP_DAYS = 30;

export class Quota {
  readonly limits: QuotaLimits;
  private readonly owned = new Map<string, Owned>();

  constructor(private readonly db: Db, private readonly deps: QuotaDeps, limits: Partial<QuotaLimits> = {}) {
    this.limits = { ...DEFAULT_QUOTA, ...limits };
    for (const [k, n] of Object.entries(this.limits)) {
      if (!Number.isSafeInteger(n) || n < 1) throw new Error(`quota ${k} must be a positive integer, got ${n}`);
    }
    db.prepare('DELETE FROM job_owners WHERE created_at < ?').run(Date.now() - KEEP_DAYS * 86_400_000);
    for (const r of db.prepare<[], { job_id: string; operator: string; tasks: number; bytes: number }>('SELECT * FROM job_owners').all()) {
      if (deps.openTasksOf(r.job_id) !== undefined) this.owned.set(r.job_id, { operator: r.operator, tasks: r.tasks, bytes: r.bytes });
    }
  }

  /** Who submitted a job over HTTP (a token id), from the access database; undefined when unknown. */
  ownerOf(jobId: string): string | undefined {
    const open = this.owned.get(jobId);
    if (open) return open.operator;
    return this.db.prepare<[string], { operator: string }>('SELECT operator FROM job_owners WHERE job_id = ?').get(jobId)?.operator;
  }

  /** What `operator` (and everyone) holds open now; finished jobs are forgotten on the way. */
  usage(operator: string): { jobs: number; tasks: number; bytes: number; allBytes: number } {
    const u = { jobs: 0, tasks: 0, bytes: 0, allBytes: 0 };
    for (const [id, o] of this.owned) {
      const open = this.deps.openTasksOf(id);
      if (open === undefined) { this.owned.delete(id); continue; }
      u.allBytes += o.bytes;
      if (o.operator !== operator) continue;
      u.jobs++;
      u.tasks += open;
      u.bytes += o.bytes;
    }
    return u;
  }

  /**
   * Check a job of `tasks` inputs and `bytes` input bytes for `operator`, run `submit`
   * (synchronous, so no other request slips in between), record the owner. Throws QuotaError.
   */
  admit<T extends { id: string }>(operator: string, tasks: number, bytes: number, submit: () => T): T {
    const L = this.limits;
    if (tasks > L.tasksPerJob) throw new QuotaError(413, `job has ${tasks} tasks; at most ${L.tasksPerJob} per job here (split it)`);
    if (bytes > L.bytesPerJob) throw new QuotaError(413, `job has ${bytes} input bytes; at most ${L.bytesPerJob} per job here (split it)`);
    const u = this.usage(operator);
    if (u.jobs + 1 > L.openJobsPerOperator) throw new QuotaError(429, `you have ${u.jobs} open jobs; at most ${L.openJobsPerOperator} (wait for one to finish)`);
    if (u.tasks + tasks > L.openTasksPerOperator) throw new QuotaError(429, `you have ${u.tasks} open tasks; ${tasks} more would pass your limit of ${L.openTasksPerOperator} (wait for jobs to finish)`);
    if (u.bytes + bytes > L.openBytesPerOperator) throw new QuotaError(429, `your open jobs hold ${u.bytes} input bytes; ${bytes} more would pass your limit of ${L.openBytesPerOperator}`);
    const all = this.deps.totals();
    if (all.openJobs + 1 > L.openJobs || all.openTasks + tasks > L.openTasks || u.allBytes + bytes > L.openBytes) {
      throw new QuotaError(429, `the gateway is full (${all.openJobs} open jobs, ${all.openTasks} open tasks); try again when jobs finish`);
    }
    const job = submit();
    this.owned.set(job.id, { operator, tasks, bytes });
    try {
      this.db.prepare('INSERT OR REPLACE INTO job_owners (job_id, operator, tasks, bytes, created_at) VALUES (?, ?, ?, ?, ?)').run(job.id, operator, tasks, bytes, Date.now());
    } catch (e) {
      this.deps.onError?.(e as Error);
    }
    return job;
  }
}
