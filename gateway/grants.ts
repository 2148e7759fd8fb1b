/**
 * Observed capacity: how many of a node's advertised slots the gateway will actually fill.
 *
 * An advert's `slots` is a claim. A device that advertises 1,024 slots and never answers
 * would otherwise hold every task of a job until its leases expire. So the gateway grants
 * slots the way TCP grows a window: a node starts with INITIAL_GRANT, gains one slot per
 * result it delivers (up to what it advertises), loses half on every lease it lets expire,
 * and after EXPIRIES_TO_BENCH expiries in a row gets nothing for a cooldown that doubles
 * each time (a probe of one slot follows). One delivered result ends a run of expiries.
 *
 * State is soft (memory only): after a gateway restart every node starts again from
 * INITIAL_GRANT and earns its window back within a few results.
 */

export const INITIAL_GRANT = 1;
/** Nobody is granted more than the protocol lets a node advertise. */
export const MAX_GRANT = 1024;
export const EXPIRIES_TO_BENCH = 3;
export const BENCH_BASE_MS = 15_000;
export const BENCH_MAX_MS = 10 * 60_000;

interface Grant {
  granted: number;
  /** Lease expiries since the node last delivered a result. */
  expiriesInARow: number;
  benchedUntil: number;
  lastResultAt: number;
  delivered: number;
  expired: number;
}

export interface GrantView {
  granted: number;
  benchedUntil: number | null;
  delivered: number;
  expired: number;
}

export class Grants {
  private readonly m = new Map<string, Grant>();

  /** `onChange` hears every node whose grant changed (the candidate index re-places it). */
  constructor(private readonly onChange?: (nodeId: string) => void) {}

  private get(nodeId: string): Grant {
    let g = this.m.get(nodeId);
    if (!g) {
      g = { granted: INITIAL_GRANT, expiriesInARow: 0, benchedUntil: 0, lastResultAt: 0, delivered: 0, expired: 0 };
      this.m.set(nodeId, g);
    }
    return g;
  }

  /** Slots the gateway fills on this node now: its claim, bounded by what it has earned (0 while benched). */
  slots(nodeId: string, advertised: number, now = Date.now()): number {
    const g = this.m.get(nodeId);
    if (!g) return Math.min(advertised, INITIAL_GRANT);
    if (g.benchedUntil > now) return 0;
    return Math.min(advertised, g.granted);
  }

  benched(nodeId: string, now = Date.now()): boolean {
    return (this.m.get(nodeId)?.benchedUntil ?? 0) > now;
  }

  /** A result came in for a lease the node held. */
  delivered(nodeId: string, now = Date.now()): void {
    const g = this.get(nodeId);
    g.granted = Math.min(MAX_GRANT, g.granted + 1);
    g.expiriesInARow = 0;
    g.lastResultAt = now;
    g.delivered++;
    this.onChange?.(nodeId);
  }

  /** The node let a lease expire. Returns true when this benched it. */
  expired(nodeId: string, now = Date.now()): boolean {
    const g = this.get(nodeId);
    g.granted = Math.max(1, Math.floor(g.granted / 2));
    g.expiriesInARow++;
    g.expired++;
    if (g.expiriesInARow < EXPIRIES_TO_BENCH || g.benchedUntil > now) {
      this.onChange?.(nodeId);
      return false;
    }
    const k = g.expiriesInARow - EXPIRIES_TO_BENCH;
    g.benchedUntil = now + Math.min(BENCH_MAX_MS, BENCH_BASE_MS * 2 ** Math.min(k, 16));
    g.granted = 1;
    this.onChange?.(nodeId);
    return true;
  }

  /** When the node last delivered a result (0 = never since the gateway started). */
  lastResultAt(nodeId: string): number {
    return this.m.get(nodeId)?.lastResultAt ?? 0;
  }

  /** When its bench ends, or null when it is not benched. */
  benchedUntil(nodeId: string, now = Date.now()): number | null {
    const until = this.m.get(nodeId)?.benchedUntil ?? 0;
    return until > now ? until : null;
  }

  view(nodeId: string, now = Date.now()): GrantView {
    const g = this.m.get(nodeId);
    return {
      granted: g?.granted ?? INITIAL_GRANT, benchedUntil: g && g.benchedUntil > now ? g.benchedUntil : null,
      delivered: g?.delivered ?? 0, expired: g?.expired ?? 0,
    };
  }
}
