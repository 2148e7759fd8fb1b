/**
 * Placement: tasks waiting for a node get one, by the fast path (straight from standing
 * capacity adverts) or by an auction (offer -> bid window -> score -> assign). The fast path
 * is thermal-aware by default (placement.ts: the node that finishes the task first, from
 * its advertised speed, budget and heat forecast; a task waits for a busy fast node rather
 * than go to a slow one), or `fill` (the baseline it is measured against: every node's
 * window of depth x slots, best auction score first). Every
 * assignment carries a lease; leases are written to SQLite (one transaction per pump)
 * BEFORE the assignments are published, so a restarted gateway knows who holds what.
 * A lease that expires, or whose node's last will says it is gone, puts the task back in
 * the queue; the node that held it is never asked again for that task.
 *
 * A task never has more leases + usable results than it needs (redundancy), so no task is
 * run by more devices than asked except when one is re-offered after a lost lease.
 */
import { randomBytes } from 'node:crypto';
import { assignMessage, packBatches, type AssignMessage, type Assignment, type Bid, type Offer } from '../protocol/messages.js';
import type { Logger } from '../util/log.js';
import { pickWinners, type Candidate, type LatLon, type Weights } from './auction.js';
import { CandidateIndex } from './candidates.js';
import type { Fleet } from './fleet.js';
import { FastRound, THERMAL_SCAN_MAX } from './fast-round.js';

export { THERMAL_SCAN_MAX };
import type { JobState, Lease, TaskState } from './jobs.js';
import type { Store } from './store.js';

export interface SchedulerDeps {
  store: Store;
  fleet: Fleet;
  log: Logger;
  weights: Weights;
  leaseMs: number;
  bidWindowMs: number;
  fastPath: boolean;
  /** Inputs up to this size may go by the fast path. */
  fastPathMaxBytes: number;
  /** Fast-path window per node, in multiples of its slots (1 = only what it can run at once); `fill` placement only. */
  fastPathDepth: number;
  /** Fast-path policy: `thermal` (default) or `fill` (the naive baseline). */
  placement?: PlacementPolicy;
  /** Regions of up to this many nodes are placed by forecast (thermal), larger ones by the index (default THERMAL_SCAN_MAX). */
  thermalScanMax?: number;
  gatewayLocation: LatLon | null;
  memoryPages: number;
  timeoutMs: number;
  job(jobId: string): JobState | undefined;
  /** How many more leases the task needs now (0 = none). */
  need(task: TaskState): number;
  /** The task has used up its attempts. */
  exhausted(task: TaskState): void;
  maxAttempts(task: TaskState, job: JobState): number;
  /** A node let a lease of ours expire (it costs the node standing and capacity). */
  leaseExpired(nodeId: string, taskId: string): void;
  publishOffer(offer: Offer): void;
  /** One message per node: the tasks it won in one round (see packAssignments). */
  publishAssign(m: AssignMessage): void;
}

export type PlacementPolicy = 'thermal' | 'fill';

/** Offers open at once at most; more tasks wait in the queue. */
const MAX_OPEN_OFFERS = 512;
/** ...and at most this many per online node (a few in flight each), at least MIN_OPEN_OFFERS. */
const OFFERS_PER_NODE = 4;
const MIN_OPEN_OFFERS = 16;
/** Longest wait before a task that drew no bids is offered again (the wait doubles per silent offer). */
const MAX_OFFER_BACKOFF_MS = 5000;
/** Tasks a pump walks past that must wait, before it stops walking the queue. */
const MAX_WAITING_SCAN = 512;
/** A node silent this long on a lease (at least) is stalled: its task may go elsewhere too. */
const MIN_STALL_MS = 2000;
/** Silence allowed, in multiples of the job's typical lease-to-result time. */
const STALL_FACTOR = 4;
/** A lease this many stall periods old is stalled even if its node answers other tasks. */
const HARD_STALL_FACTOR = 8;

interface OpenOffer {
  task: TaskState;
  job: JobState;
  bids: Map<string, Bid>;
  bidUntil: number;
  timer: NodeJS.Timeout;
}

/**
 * Group a round's assignments per node and region, in order, into messages of at most
 * MAX_BATCH_ITEMS tasks and MAX_BATCH_BYTES of input: one signature per node per round.
 */
export function packAssignments(list: readonly Assignment[]): Assignment[][] {
  const byNode = new Map<string, Assignment[]>();
  for (const a of list) {
    const key = `${a.region}/${a.nodeId}`;
    const mine = byNode.get(key);
    if (mine) mine.push(a);
    else byNode.set(key, [a]);
  }
  return [...byNode.values()].flatMap((mine) => packBatches(mine, (a) => a.input.length));
}

let offerSeq = 0;
const newOfferId = (prefix: string) => `${prefix}${(++offerSeq).toString(36)}${randomBytes(4).toString('hex')}`;

/** A lease whose task no longer needs it (its job finished): still held by the node until it answers or the lease runs out. */
interface Outstanding {
  nodeId: string;
  taskId: string;
  attempt: number;
  leaseUntil: number;
}

export class Scheduler {
  private readonly queue = new Set<TaskState>();
  private readonly offers = new Map<string, OpenOffer>();
  private readonly leasedBy = new Map<string, Set<TaskState>>();
  /**
   * Leases of finished jobs, by `taskId|nodeId`: they still fill the node's window and,
   * left to run out unanswered, still cost the node (else a device could hoard the tail of
   * every job for free).
   */
  private readonly outstanding = new Map<string, Outstanding>();
  private pumpScheduled = false;
  private sweepTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** Fast-path candidates, best first, kept as nodes change (candidates.ts): no scan of the fleet per task. */
  private readonly cands: CandidateIndex;
  /** Offers in a row that drew no usable bid, per task (for the backoff). */
  private readonly silentOffers = new WeakMap<TaskState, number>();

  constructor(private readonly d: SchedulerDeps) {
    this.cands = new CandidateIndex(d.fleet, { depth: d.fastPathDepth, weights: d.weights, gatewayLocation: d.gatewayLocation });
    const tick = Math.max(20, Math.min(250, Math.floor(d.leaseMs / 4), d.bidWindowMs));
    this.sweepTimer = setInterval(() => this.sweep(), tick);
    this.sweepTimer.unref?.();
  }

  get queued(): number {
    return this.queue.size;
  }

  get openOffers(): number {
    return this.offers.size;
  }

  enqueue(task: TaskState): void {
    this.queue.add(task);
    this.schedulePump();
  }

  schedulePump(): void {
    if (this.pumpScheduled || this.stopped) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      if (!this.stopped) this.pump();
    });
  }

  /**
   * How long a node may stay silent on a lease before the lease counts as stalled: a few
   * times the job's typical lease-to-result time, at least MIN_STALL_MS, at most half a
   * lease (before any result: half a lease).
   */
  stallAfter(job: JobState): number {
    const half = this.d.leaseMs / 2;
    return job.latencyMs > 0 ? Math.min(half, Math.max(MIN_STALL_MS, STALL_FACTOR * job.latencyMs)) : half;
  }

  /** A lease restored from the store on start. */
  restoreLease(task: TaskState, lease: Lease, now = Date.now()): void {
    lease.watchedFrom = Math.max(lease.grantedAt, now);
    task.leases.set(lease.nodeId, lease);
    this.track(task, lease.nodeId);
    this.d.fleet.leaseTaken(lease.nodeId);
  }

  private track(task: TaskState, nodeId: string): void {
    let s = this.leasedBy.get(nodeId);
    if (!s) this.leasedBy.set(nodeId, (s = new Set()));
    s.add(task);
  }

  /** The lease ended (result in, expired, lost or cancelled). Returns the lease if it was live. */
  endLease(task: TaskState, nodeId: string, state?: 'expired' | 'lost' | 'cancelled'): Lease | undefined {
    const lease = task.leases.get(nodeId);
    if (!lease) return undefined;
    task.leases.delete(nodeId);
    this.leasedBy.get(nodeId)?.delete(task);
    this.d.fleet.leaseEnded(nodeId);
    if (state) this.d.store.setAttemptState(task.id, lease.attempt, state);
    else {
      // A result: how fast the node really delivers bounds what it claims (placement.ts).
      const fuel = this.d.job(task.jobId)?.fuelRef ?? 0;
      if (fuel > 0) this.d.fleet.observe(nodeId, fuel, (Date.now() - lease.grantedAt) / 1000);
    }
    this.schedulePump(); // a slot freed up
    return lease;
  }

  /**
   * The task's job is finished, but the node still holds this lease: keep counting it in
   * the node's window until the node answers (answered()) or the lease runs out (sweep).
   */
  releaseLease(task: TaskState, nodeId: string): void {
    const lease = task.leases.get(nodeId);
    if (!lease) return;
    task.leases.delete(nodeId);
    this.leasedBy.get(nodeId)?.delete(task);
    this.outstanding.set(`${task.id}|${nodeId}`, { nodeId, taskId: task.id, attempt: lease.attempt, leaseUntil: lease.leaseUntil });
  }

  /** A result for a task of a finished job: true when it answered a lease still running. */
  answered(taskId: string, nodeId: string, now = Date.now()): boolean {
    const key = `${taskId}|${nodeId}`;
    const o = this.outstanding.get(key);
    if (!o) return false;
    this.outstanding.delete(key);
    this.d.fleet.leaseEnded(nodeId);
    this.schedulePump();
    return o.leaseUntil >= now;
  }

  /** End every lease a node holds (it went offline, or was quarantined); re-queue those tasks. */
  dropNode(nodeId: string, state: 'lost' | 'cancelled'): number {
    for (const [key, o] of this.outstanding) {
      if (o.nodeId !== nodeId) continue;
      this.outstanding.delete(key);
      this.d.fleet.leaseEnded(nodeId);
      this.d.store.setAttemptState(o.taskId, o.attempt, state);
    }
    const tasks = [...(this.leasedBy.get(nodeId) ?? [])];
    for (const t of tasks) {
      this.endLease(t, nodeId, state);
      if (t.state === 'open') this.queue.add(t);
    }
    if (tasks.length) this.d.log.info({ nodeId, tasks: tasks.length, state }, 'leases returned to the queue');
    this.schedulePump();
    return tasks.length;
  }

  private lease(task: TaskState, job: JobState, nodeId: string, price: number, offerId: string, now: number): { lease: Lease; region: string } {
    const lease: Lease = { nodeId, attempt: ++task.attempts, offerId, price, leaseUntil: now + this.d.leaseMs, grantedAt: now, stalled: false };
    task.leases.set(nodeId, lease);
    task.tried.add(nodeId);
    this.track(task, nodeId);
    this.d.fleet.leaseTaken(nodeId);
    return { lease, region: this.d.fleet.get(nodeId)?.region ?? job.region };
  }

  /** Persist the leases, then (once they are on disk) publish the assignments. */
  private commit(list: Array<{ task: TaskState; job: JobState; lease: Lease; region: string }>): void {
    if (list.length === 0) return;
    this.d.store.insertAttempts(list.map(({ task, lease }) => ({
      taskId: task.id, attempt: lease.attempt, nodeId: lease.nodeId, offerId: lease.offerId, price: lease.price, leaseUntil: lease.leaseUntil,
    })));
    const assignments: Assignment[] = list.map(({ task, job, lease, region }) => ({
      taskId: task.id, jobId: job.id, offerId: lease.offerId, nodeId: lease.nodeId, region, moduleHash: job.moduleHash,
      input: task.input, fuelLimit: job.fuelLimit, memoryPages: this.d.memoryPages, timeoutMs: this.d.timeoutMs,
      leaseUntil: lease.leaseUntil, price: lease.price, attempt: lease.attempt,
    }));
    this.d.store.afterSync(() => {
      for (const group of packAssignments(assignments)) this.d.publishAssign(assignMessage(group));
    });
  }

  pump(now = Date.now()): void {
    const out: Array<{ task: TaskState; job: JobState; lease: Lease; region: string }> = [];
    let waiting = 0;
    const round = new FastRound(this.d.fleet, this.cands, {
      thermal: (this.d.placement ?? 'thermal') === 'thermal', thermalScanMax: this.d.thermalScanMax ?? THERMAL_SCAN_MAX,
      memoryPages: this.d.memoryPages, timeoutMs: this.d.timeoutMs,
    }, now);
    const maxOffers = Math.min(MAX_OPEN_OFFERS, Math.max(MIN_OPEN_OFFERS, OFFERS_PER_NODE * this.d.fleet.onlineCount()));
    for (const task of this.queue) {
      const job = this.d.job(task.jobId);
      if (!job || task.state !== 'open') { this.queue.delete(task); continue; }
      let need = this.d.need(task);
      if (need <= 0) { this.queue.delete(task); continue; }
      if (task.offered || task.notBefore > now) continue;
      if (task.attempts >= this.d.maxAttempts(task, job) && task.leases.size === 0) {
        this.queue.delete(task);
        this.d.exhausted(task);
        continue;
      }
      if (this.d.fastPath && task.input.length <= this.d.fastPathMaxBytes) {
        const { picks, wait } = round.place(task, job, need);
        for (const p of picks) {
          const { lease, region } = this.lease(task, job, p.nodeId, p.price, newOfferId('fp'), now);
          out.push({ task, job, lease, region });
          need--;
        }
        if (need <= 0) { this.queue.delete(task); continue; }
        if (wait) {
          // A long queue behind full nodes: the rest will wait too; stop walking it (FIFO keeps it fair).
          if (++waiting >= MAX_WAITING_SCAN) break;
          continue;
        }
      }
      if (this.offers.size < maxOffers) this.offer(task, job, now);
      else if (++waiting >= MAX_WAITING_SCAN) break;
    }
    this.commit(out);
  }

  private offer(task: TaskState, job: JobState, now: number): void {
    const offerId = newOfferId('o');
    const bidUntil = now + this.d.bidWindowMs;
    task.offered = true;
    const timer = setTimeout(() => this.closeOffer(offerId), this.d.bidWindowMs);
    timer.unref?.();
    this.offers.set(offerId, { task, job, bids: new Map(), bidUntil, timer });
    this.d.publishOffer({
      offerId, jobId: job.id, taskId: task.id, region: job.region, moduleHash: job.moduleHash, moduleName: job.taskName,
      inputHash: task.inputHash, inputSize: task.input.length, fuelLimit: job.fuelLimit, memoryPages: this.d.memoryPages,
      timeoutMs: this.d.timeoutMs, maxPrice: job.maxPrice, bidUntil, deadline: job.deadline,
    });
  }

  /** A verified bid. Returns why it was ignored, or null when taken. */
  onBid(bid: Bid): string | null {
    const o = this.offers.get(bid.offerId);
    if (!o) return 'no such open offer';
    if (o.task.id !== bid.taskId) return 'bid names another task';
    if (bid.region !== o.job.region) return 'bid from another region';
    o.bids.set(bid.nodeId, bid); // a node's later bid replaces its earlier one
    return null;
  }

  private closeOffer(offerId: string, now = Date.now()): void {
    const o = this.offers.get(offerId);
    if (!o) return;
    this.offers.delete(offerId);
    const { task, job } = o;
    task.offered = false;
    if (task.state !== 'open' || !this.d.job(job.id)) return;
    const need = this.d.need(task);
    const cands: Array<Candidate & { bid: Bid }> = [...o.bids.values()]
      .filter((b) => this.d.fleet.hasRoom(b.nodeId, b.freeSlots))
      .map((b) => ({ ...this.d.fleet.bidCandidate(b), bid: b }));
    const ctx = { maxPrice: job.maxPrice, exclude: task.tried, gatewayLocation: this.d.gatewayLocation };
    const winners = need > 0 ? pickWinners(cands, need, ctx, this.d.weights) : [];
    const out = winners.map((w) => ({ task, job, ...this.lease(task, job, w.candidate.nodeId, w.candidate.price, offerId, now) }));
    this.commit(out);
    if (winners.length < need) {
      // Nobody (eligible) bid: try again later; twice as late each time nobody bid at all (a
      // fleet that is all hot or busy elsewhere gets a trickle of offers, not a storm).
      const silent = o.bids.size === 0 ? (this.silentOffers.get(task) ?? 0) + 1 : 0;
      this.silentOffers.set(task, silent);
      const base = Math.max(2 * this.d.bidWindowMs, 100);
      task.notBefore = now + Math.min(MAX_OFFER_BACKOFF_MS, base * 2 ** Math.max(0, Math.min(silent - 1, 16)));
      this.queue.add(task);
    } else {
      this.silentOffers.delete(task);
    }
    this.d.log.debug({ offerId, taskId: task.id, bids: o.bids.size, winners: winners.map((w) => w.candidate.nodeId) }, 'offer closed');
  }

  /**
   * Expire leases, mark stalled ones (their node has gone silent: the task may go to
   * another node too, so one silent device cannot hold a job for a whole lease), and wake
   * tasks whose retry time came.
   */
  sweep(now = Date.now()): void {
    let wake = false;
    for (const [nodeId, tasks] of this.leasedBy) {
      const lastResult = this.d.fleet.grants.lastResultAt(nodeId);
      for (const t of [...tasks]) {
        const l = t.leases.get(nodeId);
        if (!l) continue;
        if (l.leaseUntil < now) {
          this.endLease(t, nodeId, 'expired');
          this.d.leaseExpired(nodeId, t.id);
          this.d.log.info({ taskId: t.id, nodeId, attempt: l.attempt }, 'lease expired; task back on offer');
          if (t.state === 'open') { this.queue.add(t); wake = true; }
          continue;
        }
        if (l.stalled || t.state !== 'open') continue;
        const job = this.d.job(t.jobId);
        if (!job) continue;
        const stall = this.stallAfter(job);
        const from = l.watchedFrom ?? l.grantedAt;
        if (now - Math.max(from, lastResult) > stall || now - from > HARD_STALL_FACTOR * stall) {
          l.stalled = true;
          this.queue.add(t);
          wake = true;
          this.d.log.debug({ taskId: t.id, nodeId, silentMs: now - Math.max(from, lastResult) }, 'lease stalled; task offered to another node too');
        }
      }
    }
    for (const [key, o] of this.outstanding) {
      if (o.leaseUntil >= now) continue;
      this.outstanding.delete(key);
      this.d.fleet.leaseEnded(o.nodeId);
      this.d.store.setAttemptState(o.taskId, o.attempt, 'expired');
      this.d.leaseExpired(o.nodeId, o.taskId);
      wake = true;
    }
    for (const t of this.queue) if (!t.offered && t.notBefore <= now) { wake = true; break; }
    if (wake) this.schedulePump();
  }

  stop(): void {
    this.stopped = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    for (const o of this.offers.values()) clearTimeout(o.timer);
    this.offers.clear();
  }
}
