/**
 * Thermal-aware placement: each task goes to the node expected to finish it first, from
 * what its advert says about speed and heat (fuel rate, clock, the governor's budget, the
 * clock it can sustain and for how long it can sprint) and what the gateway knows (the
 * leases it holds there, what it has earned). When the best node is full the task waits at
 * the gateway for it rather than going to a worse one now (late binding), unless that node
 * would miss the job's deadline, or has yet to deliver anything (a claim alone makes no task
 * wait: a node that never answers would hold the queue). The caller counts a waiting task against the node it waits
 * for (a virtual lease for the rest of the round), so the tasks behind it see that queue and
 * go to the next best node once waiting is no longer worth it (earliest finish time first).
 *
 * Finish time of a task of W fuel on a node (real seconds), with k = the tasks it would then
 * run (our leases + 1, at most its budget b): at full clock r while its sprint at k tasks
 * lasts, then at its sustained clock s_k·r; if all of its budget is taken by our L leases,
 * after the (L − b + 1)-th of them ends, about T·(L − b + 1)/(b + 1) from now (b tasks in
 * flight, started at random times). So a cool Pi 5 beats a hot bare Pi 4, a Pi 4 with a
 * heatsink beats a bare one for long work, a lightly loaded node beats one that another task
 * would push to its ceiling (heat spreads over the fleet), and a router gets work only when
 * the fast nodes' queues are long.
 */
import type { CapacityAdvert } from '../protocol/messages.js';

export interface FastNode {
  nodeId: string;
  region: string;
  /** Tasks it runs at once: the governor's budget, bounded by its advertised and earned slots. */
  budget: number;
  /** Most leases of ours it may hold: its budget plus up to one queued per slot (hides dispatch gaps), as earned. */
  window: number;
  /** Leases of ours it holds now. */
  leases: number;
  /** Fuel per second of one slot at full clock (as claimed; bounded by the caller). */
  fullRate: number;
  /** Share of the full clock a slot sustains with k tasks running (entry k-1; 0..1). */
  sustain: readonly number[];
  /** Seconds it can run k tasks at full clock before reaching its ceiling (entry k-1). */
  sprintS: readonly number[];
  price: number;
  reputation: number;
  tempC: number | null;
  /** It has delivered results on our leases (its speed is seen, not only claimed): only such a node is worth waiting for. */
  proven: boolean;
  /** The most fuel and memory it gives one task, as advertised (absent: no stated limit); jobs needing more go elsewhere. */
  limits?: { fuel: number; memoryPages: number };
}

/** Lowest clock ratio taken at its word (DVFS floors are 0.4 on a Pi 4, 0.6 on a Pi 5). */
const MIN_CLOCK = 0.2;
/** Finish estimates this close (relative) are a tie. */
const SAME_FINISH = 0.05;
/** A task waits for a busy node only if that finishes it in under this share of the best free node's time. */
const WAIT_GAIN = 0.8;
/** Most queued leases per running one a node may hold. */
export const QUEUE_PER_SLOT = 1;
/** Fuel assumed for a task of a job before the gateway has measured one (one second of a fast core). */
const UNKNOWN_TASK_SECONDS = 1;

/** The placement view of one node from its advert, or null when it takes no work now. */
export function fastNode(a: CapacityAdvert, leases: number, earnedSlots: number, reputation: number): FastNode | null {
  const th = a.thermal;
  // Hot without a governor of its own (an older agent): no new work, as before governors.
  if (a.state === 'critical' || (a.state === 'hot' && !th)) return null;
  const budget = Math.max(0, Math.min(th ? th.budget : a.slots, a.slots, earnedSlots));
  if (budget === 0) return null;
  // The full-clock rate is the claimed rate / clock: a claimed crawl must not inflate it without bound.
  const clock = th ? Math.max(MIN_CLOCK, th.clock) : 1;
  return {
    // Queued work only on what it has earned beyond one slot: a node yet to deliver holds no queue.
    nodeId: a.nodeId, region: a.region, budget, window: budget + Math.min(budget * QUEUE_PER_SLOT, Math.max(0, earnedSlots - 1)), leases,
    fullRate: a.fuelRate / clock, sustain: th?.sustain?.length ? th.sustain : [1], sprintS: th?.sprintS?.length ? th.sprintS : [0],
    price: a.priceFloor, reputation, tempC: a.tempC, proven: false,
    ...(a.limits ? { limits: a.limits } : {}),
  };
}

/** The forecast entry for k tasks running (the last one for more than it lists). */
const at = (list: readonly number[], k: number): number => list[Math.min(list.length, Math.max(1, k)) - 1] ?? 0;

/** Tasks the node would run with one more of ours: our leases + 1, at most its budget. */
const loadWithOne = (n: FastNode): number => Math.min(n.budget, n.leases + 1);

/** Seconds to run `fuel` on one slot of the node at load k: full clock while the sprint lasts, then the sustained clock. */
export function runSeconds(n: FastNode, fuel: number, k = loadWithOne(n)): number {
  if (!(n.fullRate > 0)) return Infinity;
  const sprintS = at(n.sprintS, k);
  const sprintFuel = n.fullRate * sprintS;
  if (fuel <= sprintFuel) return fuel / n.fullRate;
  const slow = n.fullRate * at(n.sustain, k);
  return slow > 0 ? sprintS + (fuel - sprintFuel) / slow : Infinity;
}

/** Seconds until a task of `fuel` given now would be finished there (queue included). */
export function finishSeconds(n: FastNode, fuel: number): number {
  const t = runSeconds(n, fuel);
  if (n.leases < n.budget) return t;
  return t + (t * (n.leases - n.budget + 1)) / (n.budget + 1);
}

/** The fuel a task of the job is expected to burn: what the gateway measured, else a guess. */
export function taskFuel(measured: number, nodes: readonly FastNode[]): number {
  if (measured > 0) return measured;
  let fastest = 0;
  for (const n of nodes) if (n.fullRate > fastest) fastest = n.fullRate;
  return fastest * UNKNOWN_TASK_SECONDS;
}

export interface Placement {
  /** Nodes to lease it to now (best first). */
  now: FastNode[];
  /** A full node that would finish it sooner than any free one: leave the task queued for it. */
  waitFor: FastNode | null;
}

/**
 * Where `need` copies of a task should go: the nodes that finish it first, excluding
 * `exclude` and nodes too slow to run it within its time limit (`timeoutS`: it would be
 * killed; unless no node is fast enough); only those with room take it now. If a full node
 * would finish sooner than every free one the task waits for it, unless it would miss the
 * deadline that a free node makes. One pass over the nodes per copy (this runs for every
 * queued task on every pump).
 */
export function place(nodes: readonly FastNode[], need: number, fuel: number, deadlineS: number, exclude: ReadonlySet<string>, timeoutS = Infinity): Placement {
  const now: FastNode[] = [];
  let waitFor: FastNode | null = null;
  const taken = new Set<string>();
  const inTime = (n: FastNode) => runSeconds(n, fuel) <= timeoutS;
  const limitTime = Number.isFinite(timeoutS) && nodes.some((n) => !exclude.has(n.nodeId) && inTime(n));
  while (now.length < need) {
    let best: FastNode | null = null;
    let bestS = Infinity;
    let free: FastNode | null = null;
    let freeS = Infinity;
    for (const n of nodes) {
      if (exclude.has(n.nodeId) || taken.has(n.nodeId) || (limitTime && !inTime(n))) continue;
      const s = finishSeconds(n, fuel);
      if (!Number.isFinite(s)) continue;
      const room = n.leases < n.window;
      // A full node is worth waiting for only if it has shown its speed and still makes the deadline.
      if ((room || (n.proven && s <= deadlineS)) && better(n, s, best, bestS)) { best = n; bestS = s; }
      if (room && better(n, s, free, freeS)) { free = n; freeS = s; }
    }
    if (!best) break;
    // The best is full but finishes clearly sooner even after its queue, and makes the deadline: wait for it.
    if (best !== free && bestS < WAIT_GAIN * freeS) { waitFor = best; break; }
    const n = free ?? best;
    now.push(n);
    taken.add(n.nodeId);
  }
  return { now, waitFor };
}

/**
 * Sooner first (within SAME_FINISH of each other counts as a tie: estimates are rough); ties
 * to the less loaded node (spreads heat over the fleet: each runs cooler, nearer full clock),
 * then the longer sprint (the cooler one), the better reputation, the lower price, the node id.
 */
function better(n: FastNode, s: number, best: FastNode | null, bestS: number): boolean {
  if (!best) return true;
  if (Math.abs(s - bestS) > SAME_FINISH * Math.min(s, bestS)) return s < bestS;
  const load = n.leases / n.budget;
  const bestLoad = best.leases / best.budget;
  if (load !== bestLoad) return load < bestLoad;
  const sprint = at(n.sprintS, loadWithOne(n));
  const bestSprint = at(best.sprintS, loadWithOne(best));
  if (sprint !== bestSprint) return sprint > bestSprint;
  if (n.reputation !== best.reputation) return n.reputation > best.reputation;
  if (n.price !== best.price) return n.price < best.price;
  return n.nodeId < best.nodeId;
}
