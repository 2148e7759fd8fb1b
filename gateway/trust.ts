/**
 * Trust is earned from verified results only (adaptive checking, after BOINC's adaptive
 * replication). A node's `verified` count grows each time the gateway's own re-execution
 * confirms one of its results; agreeing with another node, or simply not being caught,
 * earns nothing. How often a node's results are re-executed follows that record:
 *
 *   verified <  PROBATION_FULL      every result is checked (a blatant cheater is caught at once)
 *   verified <  PROBATION_DONE      every other result (CHECK_PROBATION)
 *   after that                      what the check budget leaves (CheckBudget), never less
 *                                   than the job's spot-check share (default 0.05)
 *
 * Why these numbers: a device that cheats on a share c of its tasks survives k checks with
 * probability (1-c)^k. For c = 0.1 and the ~52 checks this schedule makes in a device's
 * first 100 tasks, that is 0.4%: such a cheater is caught within 100 tasks >= 99% of the
 * time. An honest device pays for it once: ~100 tasks at half rate, then the floor.
 *
 * The budget: a device that cheats rarely (2%) survives long at a low check rate, so the
 * checking the gateway can afford (DEFAULT_CHECK_BUDGET of all results) is spent in full:
 * probation checks come first, and the rest is spread over every established device's results
 * (at steady state ~9% each instead of a flat 5%: the cheater's expected run before its first
 * caught result halves). Whatever it did before it was caught is revised anyway (engine.ts).
 *
 * A mismatch quarantines the node (reputation 0); readmitting it starts its record again
 * from zero, so it goes back to full checking. Reputation (0..1, used in bid scoring)
 * follows the verified record (verified / (verified + 20)) and loses SLIP for every lease
 * the node lets expire; verified work pulls it back.
 */
import type { Store } from './store.js';

export const PROBATION_FULL = 5;
export const PROBATION_DONE = 50;
export const CHECK_PROBATION = 0.5;
const SLIP = 0.05;
/** Verified results at which reputation reaches 0.5. */
const HALF_TRUST = 20;
/** How far one verified result pulls reputation toward what the record says. */
const PULL = 0.2;

export interface Standing {
  reputation: number;
  quarantined: boolean;
  /** Results confirmed by the gateway's own re-execution (since enrollment or readmission). */
  verified: number;
  /** Mismatches (each one quarantined the node). */
  bad: number;
}

/** The share of all results the gateway means to re-execute (the budget is 10%; kept below it). */
export const DEFAULT_CHECK_BUDGET = 0.09;
/** Results the budget looks back over. */
const BUDGET_WINDOW = 2000;

/**
 * Spends a re-execution budget: over the last BUDGET_WINDOW results, the checks probation
 * owes are counted first; the rest of `budget x results` is the rate for established nodes.
 */
export class CheckBudget {
  private readonly owed = new Float64Array(BUDGET_WINDOW);
  private n = 0;
  private next = 0;
  private sumOwed = 0;
  private established = 0;

  constructor(readonly budget: number) {
    if (!(budget >= 0 && budget <= 1)) throw new RangeError('checkBudget must be between 0 and 1');
  }

  /** The check rate for an established node's result now. */
  rate(): number {
    if (this.established === 0) return this.budget;
    return Math.min(1, Math.max(0, (this.budget * this.n - this.sumOwed) / this.established));
  }

  /** Count one result: `probation` is the rate its node's record demands (0 once established). */
  note(probation: number): void {
    if (this.n === BUDGET_WINDOW) {
      const old = this.owed[this.next]!;
      this.sumOwed -= old;
      if (old === 0) this.established--;
    } else this.n++;
    this.owed[this.next] = probation;
    this.sumOwed += probation;
    if (probation === 0) this.established++;
    this.next = (this.next + 1) % BUDGET_WINDOW;
  }
}

/** Trust per node, persisted in the nodes table (good = verified). */
export class Reputation {
  private readonly m = new Map<string, Standing>();
  private readonly listeners: Array<(nodeId: string) => void> = [];

  readonly budget: CheckBudget;

  constructor(private readonly store: Store, checkBudget = DEFAULT_CHECK_BUDGET) {
    this.budget = new CheckBudget(checkBudget);
    for (const n of store.listNodes()) this.m.set(n.node_id, { reputation: n.reputation, quarantined: n.quarantined === 1, verified: n.good, bad: n.bad });
  }

  get(nodeId: string): Standing {
    return this.m.get(nodeId) ?? { reputation: 0, quarantined: false, verified: 0, bad: 0 };
  }

  isQuarantined = (nodeId: string): boolean => this.m.get(nodeId)?.quarantined === true;

  /** Every quarantined node. */
  *quarantinedIds(): IterableIterator<string> {
    for (const [id, s] of this.m) if (s.quarantined) yield id;
  }

  /** The share of a node's results its verified record alone demands checked (0 once established). */
  probationRate(nodeId: string): number {
    const v = this.get(nodeId).verified;
    return v < PROBATION_FULL ? 1 : v < PROBATION_DONE ? CHECK_PROBATION : 0;
  }

  /**
   * Share of this node's result to re-execute, never below `floor`; the result is counted
   * against the check budget (call once per result).
   */
  checkRate(nodeId: string, floor: number): number {
    const probation = this.probationRate(nodeId);
    this.budget.note(probation);
    return Math.max(probation > 0 ? probation : this.budget.rate(), floor);
  }

  /** Hear every node whose standing changed (the candidate index re-places it). */
  onChange(f: (nodeId: string) => void): void {
    this.listeners.push(f);
  }

  private save(nodeId: string, s: Standing): void {
    // The node's row exists once it has a standing here (loaded from it, or ensured once).
    if (!this.m.has(nodeId)) this.store.ensureNode(nodeId, null);
    this.m.set(nodeId, s);
    this.store.setReputation(nodeId, s.reputation, s.quarantined, s.verified, s.bad);
    for (const f of this.listeners) f(nodeId);
  }

  /** The gateway's re-execution confirmed a result of each of these nodes. */
  verified(nodeIds: readonly string[]): void {
    for (const id of nodeIds) {
      const s = this.get(id);
      if (s.quarantined) continue;
      const v = s.verified + 1;
      const target = v / (v + HALF_TRUST);
      this.save(id, { ...s, verified: v, reputation: s.reputation + PULL * (target - s.reputation) });
    }
  }

  /** A lapse short of cheating (a lease left to expire): a small loss of standing. */
  slip(nodeId: string): void {
    const s = this.get(nodeId);
    if (s.quarantined) return;
    this.save(nodeId, { ...s, reputation: Math.max(0, s.reputation - SLIP) });
  }

  /** A mismatch. Returns true when the node was not quarantined before (the caller then revises its work). */
  punish(nodeId: string): boolean {
    const s = this.get(nodeId);
    this.save(nodeId, { reputation: 0, quarantined: true, verified: s.verified, bad: s.bad + 1 });
    return !s.quarantined;
  }

  /** Lift a quarantine: the node starts its record again (full checking). Returns false when it was not quarantined. */
  readmit(nodeId: string): boolean {
    const s = this.get(nodeId);
    if (!s.quarantined) return false;
    this.save(nodeId, { reputation: 0, quarantined: false, verified: 0, bad: s.bad });
    return true;
  }
}
