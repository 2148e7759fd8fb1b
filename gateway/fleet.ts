/**
 * What the gateway knows about each node: its latest signed capacity advert, whether it is
 * online (status messages and last wills), how many of our leases it holds, and its
 * standing (reputation, quarantine). Feeds the fast path and GET /api/nodes.
 *
 * Adverts and online flags are soft state: they live here, in memory, and reach SQLite
 * lazily (all changed nodes in one transaction at most every `persistEveryMs`, and before
 * any read of the stored rows). Nothing after a restart depends on them (adverts are
 * retained on the broker and come back), and one fsync per advert was the gateway's
 * biggest cost under load.
 */
import type { Bid, CapacityAdvert, ThermalState } from '../protocol/messages.js';
import type { Candidate } from './auction.js';
import { Grants } from './grants.js';
import type { Store } from './store.js';
import type { Reputation } from './trust.js';

export interface NodeInfo {
  nodeId: string;
  region: string | null;
  online: boolean;
  advert: CapacityAdvert | null;
  /** Leases of ours the node holds now. */
  leases: number;
  lastSeen: number;
}

export interface NodeView {
  id: string;
  region: string | null;
  online: boolean;
  thermalState: ThermalState | null;
  temperatureC: number | null;
  slots: number | null;
  freeSlots: number | null;
  fuelRate: number | null;
  headroom: number | null;
  priceFloor: number | null;
  profile: string | null;
  reputation: number;
  quarantined: boolean;
  leases: number;
  /** Slots the gateway fills on it now (its claim bounded by what it has earned; 0 while benched). */
  grantedSlots: number;
  /** Benched (no work) until this time after letting leases expire; null when not. */
  benchedUntil: number | null;
  lastSeen: number | null;
}

export interface FastCandidate extends Candidate {
  region: string;
}

/** Default delay before changed soft state is written. */
export const SOFT_PERSIST_MS = 1000;

export class Fleet {
  private readonly nodes = new Map<string, NodeInfo>();
  private readonly dirty = new Set<string>();
  private persistTimer: NodeJS.Timeout | null = null;

  /** Observed capacity: how much of each node's advertised slots it has earned. */
  readonly grants = new Grants();

  constructor(private readonly store: Store, private readonly rep: Reputation, private readonly persistEveryMs = SOFT_PERSIST_MS) {}

  private touch(nodeId: string): void {
    this.dirty.add(nodeId);
    if (this.persistTimer || !this.store.db.open) return;
    this.persistTimer = setTimeout(() => { this.persistTimer = null; this.flush(); }, this.persistEveryMs);
    this.persistTimer.unref?.();
  }

  /** Write changed soft state now (one transaction). */
  flush(): void {
    if (this.persistTimer) { clearTimeout(this.persistTimer); this.persistTimer = null; }
    if (this.dirty.size === 0 || !this.store.db.open) return;
    const list = [];
    for (const id of this.dirty) {
      const n = this.nodes.get(id);
      if (n) list.push({ nodeId: id, region: n.region, online: n.online, advert: n.advert, lastSeen: n.lastSeen });
    }
    this.dirty.clear();
    this.store.saveSoftState(list);
  }

  /** Soft state changes that are not written yet (tests). */
  get unsaved(): number {
    return this.dirty.size;
  }

  get(nodeId: string): NodeInfo | undefined {
    return this.nodes.get(nodeId);
  }

  private info(nodeId: string, region: string | null): NodeInfo {
    let n = this.nodes.get(nodeId);
    if (!n) {
      n = { nodeId, region, online: false, advert: null, leases: 0, lastSeen: 0 };
      this.nodes.set(nodeId, n);
    }
    if (region) n.region = region;
    return n;
  }

  /** A newer advert replaces the old one; an older one (lower seq) is ignored. */
  onAdvert(a: CapacityAdvert, now = Date.now()): boolean {
    const n = this.info(a.nodeId, a.region);
    if (n.advert && a.seq < n.advert.seq && a.at <= n.advert.at) return false;
    n.advert = a;
    n.online = true;
    n.lastSeen = now;
    this.touch(a.nodeId);
    return true;
  }

  /** Returns true when the node went from online to offline. */
  onStatus(nodeId: string, region: string, online: boolean, now = Date.now()): boolean {
    const n = this.info(nodeId, region);
    const wasOnline = n.online;
    n.online = online;
    n.lastSeen = now;
    if (!online) n.advert = null; // a node that is gone advertises nothing
    this.touch(nodeId);
    return wasOnline && !online;
  }

  /** Nodes online now (from memory). */
  onlineCount(): number {
    let k = 0;
    for (const n of this.nodes.values()) if (n.online) k++;
    return k;
  }

  leaseTaken(nodeId: string): void {
    this.info(nodeId, null).leases++;
  }

  leaseEnded(nodeId: string): void {
    const n = this.nodes.get(nodeId);
    if (n && n.leases > 0) n.leases--;
  }

  /**
   * Nodes the fast path may use for a job in `region`: online, with a standing advert in
   * that region, cool or warm, not quarantined, and room in their window of `depth` x
   * slots (slots running, the rest queued at the agent, so a node never idles waiting for
   * the next assignment). A busy node is refilled only once a slot's worth of its window
   * is free, or while it is `filling` (picked earlier in the same round): assignments then
   * go out several to a message, one signature for them all.
   */
  fastCandidates(region: string, depth = 1, filling?: ReadonlySet<string>, now = Date.now(), needs?: { fuel: number; memoryPages: number }): FastCandidate[] {
    const out: FastCandidate[] = [];
    for (const n of this.nodes.values()) {
      const a = n.advert;
      if (!n.online || !a || a.region !== region) continue;
      // A device that gives a task less fuel or memory than this job asks would refuse it.
      if (needs && a.limits && (a.limits.fuel < needs.fuel || a.limits.memoryPages < needs.memoryPages)) continue;
      if (a.state === 'hot' || a.state === 'critical') continue;
      const s = this.rep.get(n.nodeId);
      if (s.quarantined) continue;
      const slots = this.grants.slots(n.nodeId, a.slots, now);
      const free = slots * depth - n.leases;
      if (free <= 0) continue;
      if (n.leases >= slots && free < slots && !filling?.has(n.nodeId)) continue;
      out.push({
        nodeId: n.nodeId, region: a.region, price: a.priceFloor, etaMs: Math.round((1000 * n.leases) / Math.max(1, slots)),
        headroom: a.headroom, state: a.state, location: a.location, reputation: s.reputation, online: true,
      });
    }
    return out;
  }

  /** True when some node could take fast-path work in this region once a slot frees. */
  hasFastNodes(region: string, now = Date.now()): boolean {
    for (const n of this.nodes.values()) {
      const a = n.advert;
      if (n.online && a && a.region === region && a.state !== 'hot' && a.state !== 'critical' && !this.rep.isQuarantined(n.nodeId)
        && !this.grants.benched(n.nodeId, now)) return true;
    }
    return false;
  }

  /**
   * Whether a node can take one more of our tasks: our leases on it stay below its
   * advertised slots (or the free slots its bid claimed, when no advert is known), bounded
   * by what it has earned (grants.ts). A node bids on many offers at once; without this it
   * would win more than it can run.
   */
  hasRoom(nodeId: string, bidFreeSlots: number, now = Date.now()): boolean {
    const n = this.nodes.get(nodeId);
    const claimed = n?.advert ? n.advert.slots : bidFreeSlots;
    return (n?.leases ?? 0) < this.grants.slots(nodeId, claimed, now);
  }

  bidCandidate(b: Bid): Candidate {
    const n = this.info(b.nodeId, b.region);
    // Trust the hotter of the bid and the latest advert: a node must not talk itself cool.
    const rank = (s: ThermalState) => ['cool', 'warm', 'hot', 'critical'].indexOf(s);
    const state = n.advert && rank(n.advert.state) > rank(b.state) ? n.advert.state : b.state;
    return {
      nodeId: b.nodeId, price: b.price, etaMs: b.etaMs, headroom: b.headroom, state, location: b.location,
      reputation: this.rep.get(b.nodeId).reputation, quarantined: this.rep.isQuarantined(b.nodeId),
      // a fresh signed bid proves the node is alive, whatever its last status said
      online: true,
    };
  }

  views(now = Date.now()): NodeView[] {
    this.flush();
    return this.store.listNodes().map((r) => {
      const n = this.nodes.get(r.node_id);
      const a = n?.advert ?? null;
      const s = this.rep.get(r.node_id);
      return {
        id: r.node_id, region: n?.region ?? r.region, online: n ? n.online : false,
        thermalState: (a?.state ?? (r.state as ThermalState | null)) ?? null, temperatureC: a ? a.tempC : r.temp_c,
        slots: a ? a.slots : r.slots, freeSlots: a ? a.freeSlots : r.free_slots, fuelRate: a ? a.fuelRate : r.fuel_rate,
        headroom: a ? a.headroom : r.headroom, priceFloor: a ? a.priceFloor : r.price_floor, profile: a ? a.profile : r.profile,
        reputation: s.reputation, quarantined: s.quarantined, leases: n?.leases ?? 0,
        grantedSlots: this.grants.slots(r.node_id, a ? a.slots : (r.slots ?? 0), now), benchedUntil: this.grants.view(r.node_id, now).benchedUntil,
        lastSeen: n?.lastSeen || r.last_seen,
      };
    });
  }
}
