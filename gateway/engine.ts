/**
 * The job lifecycle: submit -> split -> queue for placement -> results in -> verify ->
 * accept -> job done. Open jobs live in memory and every change is written through to the
 * store; `load()` rebuilds them after a restart from what was committed (tasks, leases,
 * reported results), so a job survives a killed gateway with nothing lost or billed twice
 * (billing is keyed by receipt id and by (task, node)).
 */
import { check } from '../util/valid.js';
import type { Logger } from '../util/log.js';
import type { AcceptedResult } from './intake.js';
import { JobSpecSchema, DEFAULT_DEADLINE_MS, DEFAULT_MAX_PRICE, newJobId, splitJob, type JobSpec, type JobState, type ResultRec, type TaskState } from './jobs.js';
import { restoreJob } from './restore.js';
import { reviseNode, type RevisionHost } from './revision.js';
import type { Reputation } from './trust.js';
import type { Scheduler } from './scheduler.js';
import type { Store } from './store.js';
import { decide, judgeAgainst, type LocalChecker } from './verifier.js';
import type { GatewayMetrics } from './metrics.js';
import type { Grants } from './grants.js';
import type { Bill } from './store.js';

export interface ModuleRef {
  name: string;
  hash: Uint8Array;
  hashHex: string;
}

export interface EngineDeps {
  store: Store;
  rep: Reputation;
  /** Observed capacity per node (fleet.grants): results grow it, expired leases shrink it. */
  grants: Grants;
  log: Logger;
  metrics: GatewayMetrics;
  checker: LocalChecker | null;
  resolveModule(nameOrHash: string): ModuleRef | undefined;
  defaultRegion: string;
  regions: readonly string[];
  spotCheck: number;
  fuelLimit: number;
  timeoutMs: number;
  memoryPages: number;
  leaseMs: number;
  /** 'trust' (default): check rates follow each node's verified record (trust.ts); 'flat': every node at the job's spot-check share (the old policy, kept as the benchmark's baseline). */
  checking?: 'trust' | 'flat';
}

export class BadJob extends Error {
  override readonly name = 'BadJob';
}

/** Attempts a task may use beyond its redundancy before it is given up. */
const SPARE_ATTEMPTS = 5;
/**
 * A result claiming more than this many times the most fuel the gateway has verified for a
 * task of the same job is re-executed before it is accepted (the tasks of a job run one
 * module on similar inputs; an inflated fuel claim stands out).
 */
const FUEL_OUTLIER_FACTOR = 8;
/** Weight of the newest lease-to-result time in a job's smoothed latency. */
const LATENCY_EWMA = 0.2;

export class Engine {
  readonly jobs = new Map<string, JobState>();
  private readonly tasks = new Map<string, TaskState>();
  private readonly waiters = new Map<string, Array<() => void>>();
  scheduler!: Scheduler;
  /** Set on shutdown: checks still running then change nothing. */
  stopped = false;

  /** What revising a caught node's work needs of the engine (revision.ts). */
  private readonly revision: RevisionHost;

  constructor(private readonly d: EngineDeps) {
    this.revision = {
      jobs: this.jobs, store: d.store, log: d.log,
      task: (id) => this.tasks.get(id),
      restore: (jobId, now) => this.restore(jobId, now),
      recheck: (t, job) => { for (const res of t.results.values()) this.considerCheck(t, job, res); },
      evaluate: (t) => this.evaluate(t),
    };
  }

  job = (id: string): JobState | undefined => this.jobs.get(id);

  private usable(task: TaskState): number {
    let n = 0;
    for (const r of task.results.values()) if (!this.d.rep.isQuarantined(r.nodeId) && r.errorKind !== 'timeout') n++;
    return n;
  }

  need = (task: TaskState): number => {
    const job = this.jobs.get(task.jobId);
    if (!job || task.state !== 'open') return 0;
    let live = 0;
    for (const l of task.leases.values()) if (!l.stalled) live++;
    return job.redundancy + task.extra - this.usable(task) - live;
  };

  /** A node let a lease expire: it loses standing and observed capacity (benched after several in a row). */
  leaseExpired = (nodeId: string, taskId: string): void => {
    this.d.rep.slip(nodeId);
    if (this.d.grants.expired(nodeId)) {
      this.d.log.warn({ nodeId, taskId, ...this.d.grants.view(nodeId) }, 'node lets its leases expire: benched (no new work) for a while');
    }
  };

  maxAttempts = (_task: TaskState, job: JobState): number => job.redundancy + SPARE_ATTEMPTS;

  submit(raw: JobSpec, now = Date.now()): JobState {
    const parsed = check(JobSpecSchema, raw);
    if (!parsed.ok) throw new BadJob(`${parsed.path || 'job'}: ${parsed.message}`);
    const spec = parsed.value;
    const mod = this.d.resolveModule(spec.task);
    if (!mod) throw new BadJob(`unknown task ${JSON.stringify(spec.task)} (not a catalogue task, a published name@version or a module hash)`);
    const region = spec.region ?? this.d.defaultRegion;
    if (!this.d.regions.includes(region)) throw new BadJob(`region ${JSON.stringify(region)} is not served here (serving ${this.d.regions.join(', ')})`);
    const id = newJobId();
    const job = splitJob({
      id, taskName: mod.name, moduleHash: mod.hash, inputs: spec.inputs, redundancy: spec.redundancy ?? 1,
      spotCheck: spec.spotCheck ?? this.d.spotCheck, maxPrice: spec.maxPrice ?? DEFAULT_MAX_PRICE, region,
      deadline: now + (spec.deadlineMs ?? DEFAULT_DEADLINE_MS), fuelLimit: spec.fuelLimit ?? this.d.fuelLimit, now, delivery: spec.delivery ?? 'fast',
    });
    this.d.store.insertJob({
      id, task_name: job.taskName, module_hash: job.moduleHashHex, redundancy: job.redundancy, spot_check: job.spotCheck,
      max_price: job.maxPrice, region, deadline: job.deadline, fuel_limit: job.fuelLimit, created_at: now, n_tasks: job.tasks.length, delivery: job.delivery,
    }, job.tasks.map((t) => ({ id: t.id, idx: t.index, input: t.input, inputHash: t.inputHash, spot: t.spot })));
    this.adopt(job);
    this.d.metrics.jobs.inc({ event: 'submitted' });
    this.d.log.info({ jobId: id, task: mod.name, tasks: job.tasks.length, redundancy: job.redundancy }, 'job submitted');
    for (const t of job.tasks) this.scheduler.enqueue(t);
    return job;
  }

  private adopt(job: JobState): void {
    this.jobs.set(job.id, job);
    for (const t of job.tasks) this.tasks.set(t.id, t);
  }

  /** Rebuild open (and revising) jobs from the store after a restart. */
  load(now = Date.now()): number {
    const rows = this.d.store.openJobs();
    for (const row of rows) {
      const job = this.restore(row.id, now);
      if (!job) continue;
      if (job.remaining === 0) { this.finishJob(job, now); continue; }
      for (const t of job.tasks) if (t.state === 'open') this.evaluate(t);
    }
    if (rows.length) this.d.log.info({ jobs: rows.length }, 'open jobs restored from the store');
    return rows.length;
  }

  /** Bring a stored job into memory (its live leases back to the scheduler). */
  private restore(jobId: string, now: number): JobState | undefined {
    const row = this.d.store.getJob(jobId);
    if (!row) return undefined;
    const { job, leases } = restoreJob(this.d.store, row, this.d.leaseMs, now);
    this.adopt(job);
    for (const { task, lease } of leases) this.scheduler.restoreLease(task, lease);
    return job;
  }

  /**
   * Whether this result gets re-executed before acceptance: by its node's verified record
   * (trust.ts; every result for a 'verified' job), and to calibrate the job's fuel on its
   * first result and catch claims far above what was verified.
   */
  private considerCheck(task: TaskState, job: JobState, r: ResultRec): void {
    if (task.spot || r.errorKind === 'timeout' || !this.d.checker) return;
    let rate = job.spotCheck;
    if (job.delivery === 'verified') rate = 1;
    else if (this.d.checking !== 'flat') {
      rate = this.d.rep.checkRate(r.nodeId, job.spotCheck);
      this.d.metrics.checkRate.set(this.d.rep.budget.rate());
    }
    if (Math.random() < rate) task.spot = true;
    else if (job.fuelRef === 0 ? !job.fuelRefPending : r.fuel > FUEL_OUTLIER_FACTOR * job.fuelRef) task.spot = true;
    if (task.spot && job.fuelRef === 0) job.fuelRefPending = true;
  }

  /** Results that intake has committed. */
  onResults(list: readonly AcceptedResult[], now = Date.now()): void {
    for (const r of list) {
      const task = this.tasks.get(r.taskId);
      if (!task) {
        // Job closed: stored, never billed (the task was billed once, for the result it took);
        // an answer within its lease still earns the node capacity.
        if (this.scheduler.answered(r.taskId, r.nodeId, now)) this.d.grants.delivered(r.nodeId, now);
        continue;
      }
      const lease = this.scheduler.endLease(task, r.nodeId);
      const job = this.jobs.get(task.jobId);
      if (lease) {
        // An answer within its lease: the node earns capacity, the job learns how long answers take.
        this.d.grants.delivered(r.nodeId, now);
        if (job) {
          const ms = Math.max(1, now - lease.grantedAt);
          job.latencyMs = job.latencyMs === 0 ? ms : job.latencyMs + LATENCY_EWMA * (ms - job.latencyMs);
        }
      }
      if (!job || task.state !== 'open' || this.d.rep.isQuarantined(r.nodeId)) continue;
      if (task.results.has(r.nodeId)) continue;
      task.results.set(r.nodeId, {
        nodeId: r.nodeId, attempt: r.attempt, ok: r.ok, output: r.output, compareHash: r.compareHash, errorKind: r.errorKind,
        errorMessage: r.errorMessage ?? null, receiptId: r.receiptId, fuel: r.fuel, price: r.price,
      });
      this.considerCheck(task, job, task.results.get(r.nodeId)!);
      this.evaluate(task);
    }
  }

  evaluate(task: TaskState): void {
    const job = this.jobs.get(task.jobId);
    if (!job || task.state !== 'open') return;
    const dec = decide(task, job.redundancy + task.extra, this.d.rep.isQuarantined, this.d.checker !== null);
    switch (dec.kind) {
      case 'wait':
        if (dec.need > job.redundancy + task.extra - this.usable(task)) task.extra++;
        if (this.need(task) > 0) this.scheduler.enqueue(task);
        return;
      case 'drop':
        for (const n of dec.nodes) task.results.delete(n);
        this.scheduler.enqueue(task);
        return;
      case 'accept':
        // Agreement (or not being checked) earns no trust: only a re-execution does.
        for (const c of dec.cheaters) this.caught(c, task);
        this.accept(task, job, dec.result, dec.verified, dec.agreeing);
        return;
      case 'check':
        this.check(task, job, dec.candidates).catch((e: unknown) => {
          this.d.log.error({ taskId: task.id, err: (e as Error).message }, 'result check failed');
        });
    }
  }

  private async check(task: TaskState, job: JobState, candidates: ResultRec[]): Promise<void> {
    task.state = 'checking';
    this.d.metrics.spotChecks.inc();
    let local: Awaited<ReturnType<LocalChecker['run']>> = null;
    try {
      local = await this.d.checker!.run(job.moduleHashHex, job.moduleHash, task.input, { fuel: job.fuelLimit, timeoutMs: this.d.timeoutMs, memoryPages: this.d.memoryPages });
    } catch (e) {
      this.d.log.warn({ taskId: task.id, err: (e as Error).message }, 'local re-execution failed');
    }
    if (this.stopped || task.state !== 'checking' || !this.jobs.has(job.id)) return;
    task.state = 'open';
    job.fuelRefPending = false;
    if (!local) {
      const hashes = new Set(candidates.map((c) => c.compareHash));
      if (hashes.size === 1) this.accept(task, job, candidates[0]!, false, candidates.map((c) => c.nodeId));
      else { task.extra++; this.scheduler.enqueue(task); }
      return;
    }
    job.fuelRef = Math.max(job.fuelRef, local.fuel);
    const { honest, cheaters } = judgeAgainst(local, candidates);
    this.d.store.tx(() => {
      for (const c of cheaters) this.caught(c, task);
      if (honest.length > 0) {
        this.d.rep.verified(honest.map((h) => h.nodeId));
        this.accept(task, job, honest[0]!, true, honest.map((h) => h.nodeId));
      } else {
        this.evaluate(task);
      }
    });
  }

  /** A node returned a wrong result for `task`: quarantine it and revise its other work. */
  private caught(nodeId: string, task: TaskState): void {
    const wrong = task.results.get(nodeId);
    task.results.delete(nodeId);
    task.extra = 0;
    if (wrong) this.d.store.voidBilling([wrong.receiptId]);
    if (!this.d.rep.punish(nodeId)) return;
    this.d.metrics.cheatsCaught.inc();
    this.d.log.warn({ nodeId, taskId: task.id }, 'wrong result: node quarantined; its unverified results are voided and run again');
    this.scheduler.dropNode(nodeId, 'cancelled');
    reviseNode(this.revision, nodeId);
  }

  /**
   * The task's result is decided: store it and bill it, in one transaction. A task pays for
   * `redundancy` results: the agreeing ones that arrived first, each once (the ledger is
   * keyed by receipt and by (task, node)). Results that come later (a stalled lease that
   * answered after all, a lease that expired, a node that crashed and re-sent its journal)
   * are stored as receipts but not billed: the job owner pays each task exactly once.
   */
  private accept(task: TaskState, job: JobState, r: ResultRec, verified: boolean, agreeing: readonly string[]): void {
    // An accepted result that is a failure (a trap, fuel or memory exhausted, ...) fails the
    // task, as one given up does: the job fails, the API, dashboard, CLI and metrics say so.
    // The work was done, so it is billed all the same.
    const state = r.ok ? 'done' : 'failed';
    task.state = state;
    task.final = r;
    task.verified = verified;
    task.error = r.ok ? null : `${r.errorKind ?? 'failed'}${r.errorMessage ? `: ${r.errorMessage}` : ''}`.slice(0, 300);
    const bills: Bill[] = [];
    for (const nodeId of agreeing) {
      const res = task.results.get(nodeId);
      if (!res || bills.length >= job.redundancy || this.d.rep.isQuarantined(nodeId)) continue;
      bills.push({ receiptId: res.receiptId, jobId: job.id, taskId: task.id, nodeId, fuel: res.fuel, price: res.price });
    }
    this.d.store.tx(() => {
      this.d.store.setTaskFinal(task.id, {
        state, output: r.ok ? r.output : null, outputHash: r.compareHash, ok: r.ok, error: task.error, nodeId: r.nodeId,
        receiptId: r.receiptId, verified,
      });
      this.d.store.bill(bills);
    });
    // Leases still out for this task are not needed any more; their results are stored, not billed.
    job.remaining--;
    this.d.metrics.tasks.inc({ outcome: r.ok ? 'ok' : 'failed' });
    if (job.remaining === 0) this.finishJob(job);
  }

  exhausted = (task: TaskState): void => {
    const job = this.jobs.get(task.jobId);
    if (!job || task.state !== 'open') return;
    this.failTask(task, job, `no result after ${task.attempts} attempts`);
  };

  private failTask(task: TaskState, job: JobState, why: string): void {
    task.state = 'failed';
    task.error = why;
    this.d.store.setTaskFinal(task.id, { state: 'failed', output: null, outputHash: null, ok: false, error: why, nodeId: null, receiptId: null, verified: false });
    job.remaining--;
    this.d.metrics.tasks.inc({ outcome: 'failed' });
    if (job.remaining === 0) this.finishJob(job);
  }

  private finishJob(job: JobState, now = Date.now(), cancelled?: string): void {
    this.d.store.finishRevisions(job.id, now);
    const failed = job.tasks.filter((t) => t.state === 'failed');
    if (cancelled !== undefined) this.d.store.finishJob(job.id, 'cancelled', cancelled, now);
    else this.d.store.finishJob(job.id, failed.length ? 'failed' : 'done', failed.length ? `${failed.length} of ${job.tasks.length} tasks failed: ${failed[0]!.error}` : null, now);
    this.jobs.delete(job.id);
    for (const t of job.tasks) {
      for (const n of [...t.leases.keys()]) this.scheduler.releaseLease(t, n);
      this.tasks.delete(t.id);
    }
    this.d.metrics.jobs.inc({ event: cancelled !== undefined ? 'cancelled' : failed.length ? 'failed' : 'done' });
    this.d.log.info({ jobId: job.id, tasks: job.tasks.length, failed: failed.length, ms: now - job.createdAt }, 'job finished');
    const waiters = this.waiters.get(job.id) ?? [];
    this.waiters.delete(job.id);
    // Whoever waits hears "done" once the job's last commit is on disk.
    if (waiters.length) this.d.store.afterSync(() => { for (const w of waiters) w(); });
  }

  /** Fail what is left of jobs past their deadline. */
  checkDeadlines(now = Date.now()): void {
    for (const job of [...this.jobs.values()]) {
      if (job.deadline > now) continue;
      for (const t of job.tasks) if (t.state === 'open' || t.state === 'checking') {
        for (const n of [...t.leases.keys()]) this.scheduler.endLease(t, n, 'cancelled');
        if (this.jobs.has(job.id)) this.failTask(t, job, 'deadline passed');
      }
    }
  }

  /**
   * Stop a running job (an operator cancelled it): leases out are cancelled, tasks not
   * finished end as failed with `why`, the job ends 'cancelled'. False when it is not running.
   */
  cancel(jobId: string, why: string, now = Date.now()): boolean {
    const job = this.jobs.get(jobId);
    if (!job) return false;
    this.d.store.tx(() => {
      for (const t of job.tasks) {
        if (t.state !== 'open' && t.state !== 'checking') continue;
        for (const n of [...t.leases.keys()]) this.scheduler.endLease(t, n, 'cancelled');
        t.state = 'failed';
        t.error = why;
        this.d.store.setTaskFinal(t.id, { state: 'failed', output: null, outputHash: null, ok: false, error: why, nodeId: null, receiptId: null, verified: false });
        this.d.metrics.tasks.inc({ outcome: 'cancelled' });
      }
      job.remaining = 0;
      this.finishJob(job, now, why);
    });
    return true;
  }

  /** Resolves when the job is no longer running (immediately if it is not). */
  whenDone(jobId: string): Promise<void> {
    if (!this.jobs.has(jobId)) return this.d.store.synced();
    return new Promise((resolve) => {
      const l = this.waiters.get(jobId) ?? [];
      l.push(resolve);
      this.waiters.set(jobId, l);
    });
  }

  stats(): { openJobs: number; openTasks: number } {
    let openTasks = 0;
    for (const j of this.jobs.values()) openTasks += j.remaining;
    return { openJobs: this.jobs.size, openTasks };
  }
}
