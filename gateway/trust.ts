/**
 * Trust is earned from verified results only (adaptive checking, after BOINC's adaptive
 * replication). A node's `verified` count grows each time the gateway's own re-execution
 * confirms one of its results; agreeing with another node, or simply not being caught,
 * earns nothing. How often a node's results are re-executed follows that record:
 *
 *   verified <  PROBATION_FULL      every result is checked (a blatant cheater is caught at once)
 *   verified <  PROBATION_DONE      every other result (CHECK_PROBATION)
 *   after that                      the job's spot-check share (default 0.05)
 *
 * Why these numbers: a device that cheats on a share c of its tasks survives k checks with
 * probability (1-c)^k. For c = 0.1 and the ~52 checks this schedule makes in a device's
 * first 100 tasks, that is 0.4%: such a cheater is caught within 100 tasks >= 99% of the
 * time. An honest device pays for it once: ~100 tasks at half rate, then the floor.
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

/** Trust per node, persisted in the nodes table (good = verified). */
export class Reputation {
  private readonly m = new Map<string, Standing>();
  private readonly listeners: Array<(nodeId: string) => void> = [];

  constructor(private readonly store: Store) {
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

  /** Share of this node's results to re-execute: by its verified record, never below `floor`. */
  checkRate(nodeId: string, floor: number): number {
    const v = this.get(nodeId).verified;
    const rate = v < PROBATION_FULL ? 1 : v < PROBATION_DONE ? CHECK_PROBATION : 0;
    return Math.max(rate, floor);
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
