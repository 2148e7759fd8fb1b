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
import type { CandidateSource, Needs } from './candidates.js';
import { Grants } from './grants.js';
import { fastNode, type FastNode } from './placement.js';
import type { NodeRow, Store } from './store.js';
import type { Reputation } from './trust.js';
import { alertView, nodeView, type AlertView, type NodeView } from './node-views.js';

export type { AlertView, NodeView, ThrottleFlags } from './node-views.js';

export interface NodeInfo {
  nodeId: string;
  region: string | null;
  online: boolean;
  advert: CapacityAdvert | null;
  /** Leases of ours the node holds now. */
  leases: number;
  lastSeen: number;
  /** Smoothed fuel per second one of its slots delivered on our leases (lease to result; 0 = not yet seen). */
  observedRate: number;
}

export interface FastCandidate extends Candidate {
  region: string;
}

/** Default delay before changed soft state is written. */
export const SOFT_PERSIST_MS = 1000;
/** A claimed fuel rate counts at most this many times what the node has been seen to deliver. */
export const RATE_CLAIM_FACTOR = 4;
/** Weight of the newest observation in a node's delivered rate. */
const OBSERVED_EWMA = 0.2;


export class Fleet implements CandidateSource {
  private readonly nodes = new Map<string, NodeInfo>();
  private readonly dirty = new Set<string>();
  private persistTimer: NodeJS.Timeout | null = null;
  private readonly drained = new Set<string>();
  /** Stored rows, for views of nodes not in memory without a query each time (liveViews). */
  private rows = new Map<string, NodeRow>();
  private rowsAt = 0;
  private online = 0;
  private readonly watchers: Array<(nodeId: string) => void> = [];

  /** Observed capacity: how much of each node's advertised slots it has earned. */
  readonly grants: Grants;

  constructor(private readonly store: Store, private readonly rep: Reputation, private readonly persistEveryMs = SOFT_PERSIST_MS) {
    this.grants = new Grants((id) => this.changed(id));
    rep.onChange((id) => this.changed(id));
  }

  /**
   * Hear every change to a node that can move it in or out of the fast path or change its
   * score: advert, status, leases, grant, standing (gateway/candidates.ts keeps its index
   * with this). Whatever else a placement rule comes to read must call `changed` too.
   */
  watch(f: (nodeId: string) => void): void {
    this.watchers.push(f);
  }

  private changed(nodeId: string): void {
    for (const f of this.watchers) f(nodeId);
  }

  nodeIds(): Iterable<string> {
    return this.nodes.keys();
  }

  private setOnline(n: NodeInfo, online: boolean): void {
    if (n.online !== online) this.online += online ? 1 : -1;
    n.online = online;
  }

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
      n = { nodeId, region, online: false, advert: null, leases: 0, lastSeen: 0, observedRate: 0 };
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
    this.setOnline(n, true);
    n.lastSeen = now;
    this.touch(a.nodeId);
    this.changed(a.nodeId);
    return true;
  }

  /** Returns true when the node went from online to offline. */
  onStatus(nodeId: string, region: string, online: boolean, now = Date.now()): boolean {
    const n = this.info(nodeId, region);
    const wasOnline = n.online;
    this.setOnline(n, online);
    n.lastSeen = now;
    if (!online) n.advert = null; // a node that is gone advertises nothing
    this.touch(nodeId);
    this.changed(nodeId);
    return wasOnline && !online;
  }

  /** Nodes online now (from memory; counted as they change). */
  onlineCount(): number {
    return this.online;
  }

  /** Drain a node (no new work; leases it holds run out) or take it back. Returns whether that changed anything. */
  setDrained(nodeId: string, on: boolean): boolean {
    const had = this.drained.has(nodeId);
    if (on) this.drained.add(nodeId);
    else this.drained.delete(nodeId);
    if (had !== on) this.changed(nodeId); // in or out of the fast path's candidate index
    return had !== on;
  }

  isDrained(nodeId: string): boolean {
    return this.drained.has(nodeId);
  }

  /** Every node known in memory (advertised or reported since start). */
  known(): IterableIterator<NodeInfo> {
    return this.nodes.values();
  }

  leaseTaken(nodeId: string): void {
    this.info(nodeId, null).leases++;
    this.changed(nodeId);
  }

  leaseEnded(nodeId: string): void {
    const n = this.nodes.get(nodeId);
    if (n && n.leases > 0) {
      n.leases--;
      this.changed(nodeId);
    }
  }

  /**
   * Nodes the fast path may use for a job in `region`: online, with a standing advert in
   * that region, cool or warm, not quarantined, and room in their window of `depth` x
   * slots (slots running, the rest queued at the agent, so a node never idles waiting for
   * the next assignment). A busy node is refilled only once a slot's worth of its window
   * is free, or while it is `filling` (picked earlier in the same round): assignments then
   * go out several to a message, one signature for them all.
   */
  fastCandidates(region: string, depth = 1, filling?: ReadonlySet<string>, now = Date.now(), needs?: Needs): FastCandidate[] {
    const out: FastCandidate[] = [];
    for (const n of this.nodes.values()) {
      if (n.advert?.region !== region) continue;
      const c = this.fastCandidate(n.nodeId, depth, filling, now, needs);
      if (c) out.push(c);
    }
    return out;
  }

  /**
   * One node as a fast-path candidate (every rule of fastCandidates), or null. The scan
   * above and the candidate index (candidates.ts) both decide through this one function.
   */
  fastCandidate(nodeId: string, depth: number, filling: ReadonlySet<string> | undefined, now: number, needs: Needs | undefined): FastCandidate | null {
    const n = this.nodes.get(nodeId);
    const a = n?.advert;
    if (!n || !n.online || !a) return null;
    // A device that gives a task less fuel or memory than this job asks would refuse it.
    if (needs && a.limits && (a.limits.fuel < needs.fuel || a.limits.memoryPages < needs.memoryPages)) return null;
    if (a.state === 'hot' || a.state === 'critical' || this.drained.has(n.nodeId)) return null;
    const s = this.rep.get(n.nodeId);
    if (s.quarantined) return null;
    const slots = this.grants.slots(n.nodeId, a.slots, now);
    const free = slots * depth - n.leases;
    if (free <= 0) return null;
    if (n.leases >= slots && free < slots && !filling?.has(n.nodeId)) return null;
    return {
      nodeId: n.nodeId, region: a.region, price: a.priceFloor, etaMs: Math.round((1000 * n.leases) / Math.max(1, slots)),
      headroom: a.headroom, state: a.state, location: a.location, reputation: s.reputation, online: true,
    };
  }

  advertRegion(nodeId: string): string | null {
    return this.nodes.get(nodeId)?.advert?.region ?? null;
  }

  fastCapable(nodeId: string, now = Date.now()): boolean {
    const n = this.nodes.get(nodeId);
    const a = n?.advert;
    return !!n && n.online && !!a && a.state !== 'hot' && a.state !== 'critical' && !this.drained.has(nodeId) && !this.rep.isQuarantined(nodeId) && !this.grants.benched(nodeId, now);
  }

  benchedUntil(nodeId: string, now = Date.now()): number {
    return this.grants.view(nodeId, now).benchedUntil ?? 0;
  }

  /**
   * Thermal-aware placement's view of the region (placement.ts): every node that takes work
   * now, with its budget, window, our leases, and its claimed speed bounded by what it has
   * delivered: RATE_CLAIM_FACTOR x its own observed rate once one is seen, before that the
   * same factor x the median of the nodes seen (a claim alone outbids nobody proven).
   */
  fastNodes(region: string, now = Date.now()): FastNode[] {
    const out: FastNode[] = [];
    const seen: number[] = [];
    for (const n of this.nodes.values()) {
      const a = n.advert;
      if (!n.online || !a || a.region !== region || this.drained.has(n.nodeId)) continue;
      const s = this.rep.get(n.nodeId);
      if (s.quarantined) continue;
      const f = fastNode(a, n.leases, this.grants.slots(n.nodeId, a.slots, now), s.reputation);
      if (!f) continue;
      if (n.observedRate > 0) {
        f.fullRate = Math.min(f.fullRate, RATE_CLAIM_FACTOR * n.observedRate);
        f.proven = true;
        seen.push(n.observedRate);
      }
      out.push(f);
    }
    if (seen.length) {
      const median = seen.sort((x, y) => x - y)[Math.floor(seen.length / 2)]!;
      for (const f of out) if (!f.proven) f.fullRate = Math.min(f.fullRate, RATE_CLAIM_FACTOR * median);
    }
    return out;
  }

  /**
   * A result came in `seconds` after its lease for a task of `fuel` (as the gateway measured
   * the job's tasks): the node delivers at least fuel/seconds per slot (queueing included).
   */
  observe(nodeId: string, fuel: number, seconds: number): void {
    const n = this.nodes.get(nodeId);
    if (!n || !(fuel > 0) || !(seconds > 0)) return;
    const clock = n.advert?.thermal?.clock;
    const rate = fuel / seconds / (clock && clock > 0 ? clock : 1); // as a full-clock rate
    n.observedRate = n.observedRate === 0 ? rate : n.observedRate + OBSERVED_EWMA * (rate - n.observedRate);
  }

  /**
   * True when some node could take fast-path work in this region once a slot frees (or, with
   * `evenIfHot`, once it cools: thermal placement waits for a hot fleet rather than flood it
   * with offers nobody will bid on).
   */
  hasFastNodes(region: string, now = Date.now(), evenIfHot = false): boolean {
    for (const n of this.nodes.values()) {
      const a = n.advert;
      if (a?.region !== region) continue;
      if (evenIfHot ? n.online && !this.drained.has(n.nodeId) && !this.rep.isQuarantined(n.nodeId) && !this.grants.benched(n.nodeId, now) : this.fastCapable(n.nodeId, now)) return true;
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
    if (this.drained.has(nodeId)) return false;
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
      governed: (n.advert?.thermal?.budget ?? 0) > 0,
    };
  }

  views(now = Date.now()): NodeView[] {
    this.flush();
    const rows = this.store.listNodes();
    this.rows = new Map(rows.map((r) => [r.node_id, r]));
    this.rowsAt = now;
    return rows.map((r) => this.viewOf(r.node_id, r, now));
  }

  /**
   * Views of every node without writing or reading the store each time (for the console's
   * live push, several times a second): nodes in memory, and stored rows read again at most
   * every `rowsMaxAgeMs` for the rest.
   */
  liveViews(now = Date.now(), rowsMaxAgeMs = 10_000): NodeView[] {
    const rows = this.liveRows(now, rowsMaxAgeMs);
    const out: NodeView[] = [];
    for (const [id, r] of rows) out.push(this.viewOf(id, r, now));
    for (const id of this.nodes.keys()) if (!rows.has(id)) out.push(this.viewOf(id, undefined, now));
    return out;
  }

  /**
   * What the console's alerts read of every node (alerts.ts), once a second: the few fields
   * they test, without building a whole view per node (at 10,000 devices full views every
   * second were a quarter of the gateway's busy time; bench/scale).
   */
  alertViews(now = Date.now(), rowsMaxAgeMs = 10_000): AlertView[] {
    const rows = this.liveRows(now, rowsMaxAgeMs);
    const out: AlertView[] = [];
    const one = (id: string, r: NodeRow | undefined): void => {
      out.push(alertView(id, this.nodes.get(id), r, this.rep.isQuarantined(id), this.grants.benchedUntil(id, now)));
    };
    for (const [id, r] of rows) one(id, r);
    for (const id of this.nodes.keys()) if (!rows.has(id)) one(id, undefined);
    return out;
  }

  /** Stored node rows, read again when older than `maxAgeMs`. */
  private liveRows(now: number, maxAgeMs: number): Map<string, NodeRow> {
    if (now - this.rowsAt > maxAgeMs) {
      this.rows = new Map(this.store.listNodes().map((r) => [r.node_id, r]));
      this.rowsAt = now;
    }
    return this.rows;
  }

  view(nodeId: string, now = Date.now()): NodeView | undefined {
    const r = this.store.getNode(nodeId);
    if (!r && !this.nodes.has(nodeId)) return undefined;
    return this.viewOf(nodeId, r, now);
  }

  private viewOf(id: string, r: NodeRow | undefined, now: number): NodeView {
    return nodeView(id, this.nodes.get(id), r, this.rep.get(id), this.grants, this.drained.has(id), now);
  }

}
