/**
 * One scheduling round's fast path: tasks placed straight from standing capacity adverts,
 * no auction. In a region small enough to scan (THERMAL_SCAN_MAX nodes, `thermal` placement)
 * by thermal forecast (placement.ts: the node that finishes first; a task may wait for a busy
 * fast node); past that, or with `fill`, from the candidate index (candidates.ts, ranked as the
 * auction ranks), so a task costs the same at 10,000 devices. The round keeps its views of each
 * region, so leases given earlier in the round count for the tasks after them.
 */
import type { CandidateIndex } from './candidates.js';
import type { Fleet } from './fleet.js';
import type { JobState, TaskState } from './jobs.js';
import { place, taskFuel, type FastNode } from './placement.js';

/** Regions of up to this many nodes are placed by forecast; larger ones by the index. */
export const THERMAL_SCAN_MAX = 256;

export interface FastRoundOptions {
  thermal: boolean;
  thermalScanMax: number;
  memoryPages: number;
  timeoutMs: number;
}

export interface FastPick {
  nodeId: string;
  price: number;
}

export class FastRound {
  /** Regions (with a job's terms) the index had nothing left in this round. */
  private readonly full = new Set<string>();
  /** Nodes the index gave work to in this round. */
  private readonly filling = new Set<string>();
  private readonly fastIn = new Map<string, boolean>();
  private readonly views = new Map<string, FastNode[]>();
  private readonly fitting = new Map<string, FastNode[]>();

  constructor(private readonly fleet: Fleet, private readonly cands: CandidateIndex, private readonly o: FastRoundOptions, private readonly now: number) {}

  private byForecast(region: string): boolean {
    return this.o.thermal && this.cands.regionSize(region) <= this.o.thermalScanMax;
  }

  /** Some node in the region advertises a slot soon (asked once per region per round). */
  private hasFast(region: string): boolean {
    let v = this.fastIn.get(region);
    if (v === undefined) this.fastIn.set(region, (v = this.byForecast(region) ? this.fleet.hasFastNodes(region, this.now, true) : this.cands.hasFast(region, this.now)));
    return v;
  }

  /**
   * The same node objects in every job's view of a region (a lease counts in all of them);
   * each job sees only the nodes whose advertised limits fit it.
   */
  private viewOf(region: string, needs: { fuel: number; memoryPages: number }): FastNode[] {
    const key = `${region}|${needs.fuel}|${needs.memoryPages}`;
    let f = this.fitting.get(key);
    if (f) return f;
    let v = this.views.get(region);
    if (!v) this.views.set(region, (v = this.fleet.fastNodes(region, this.now)));
    this.fitting.set(key, (f = v.filter((n) => !n.limits || (n.limits.fuel >= needs.fuel && n.limits.memoryPages >= needs.memoryPages))));
    return f;
  }

  /**
   * Up to `need` nodes to lease `task` to now, and whether what is left of it should wait
   * for a node that will free a slot soon rather than go to auction (no offer flood).
   */
  place(task: TaskState, job: JobState, need: number): { picks: FastPick[]; wait: boolean } {
    const needs = { fuel: job.fuelLimit, memoryPages: this.o.memoryPages };
    const picks: FastPick[] = [];
    if (this.byForecast(job.region)) {
      const nodes = this.viewOf(job.region, needs);
      const p = place(nodes, need, taskFuel(job.fuelRef, nodes), (job.deadline - this.now) / 1000, task.tried, this.o.timeoutMs / 1000);
      for (const n of p.now) {
        picks.push({ nodeId: n.nodeId, price: n.price });
        n.leases++;
      }
      if (picks.length >= need) return { picks, wait: false };
      // A busy node will finish it sooner (the tasks behind see it queued there), or every
      // node is full or cooling down: wait.
      if (p.waitFor) { p.waitFor.leases++; return { picks, wait: true }; }
      return { picks, wait: this.hasFast(job.region) };
    }
    const terms = `${job.region}|${job.fuelLimit}|${job.maxPrice}`;
    if (!this.full.has(terms)) {
      // The best `need` nodes from the index, as pickWinners would rank Fleet.fastCandidates.
      const { winners, empty } = this.cands.pick(job.region, need, { maxPrice: job.maxPrice, exclude: task.tried }, needs, this.filling, this.now);
      if (empty) this.full.add(terms);
      for (const w of winners) picks.push({ nodeId: w.candidate.nodeId, price: w.candidate.price });
      if (picks.length >= need) return { picks, wait: false };
    }
    return { picks, wait: this.hasFast(job.region) };
  }
}
