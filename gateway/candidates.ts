/**
 * The fast path's candidate index: which nodes may take a task now, best first, kept up
 * to date as nodes change instead of found by a scan per task.
 *
 * Before, every queued task walked every node (Fleet.fastCandidates) and scored and sorted
 * all of them (auction.pickWinners): O(N log N) per task, so a gateway's cost per task grew
 * with the fleet. Here each (region, job terms) has a heap of the nodes the fast path may
 * use, ordered exactly as auction.rank orders them (score, then price, then node id). A
 * node is re-placed in its region's heaps whenever something that decides its place
 * changes: its advert or status, a lease taken or ended, its observed capacity (grants) or
 * its standing (reputation) — Fleet.watch reports those — and when a bench it sat out
 * ends. Picking `need` winners pops that many (plus any the task already tried) and puts
 * them back: O((need + tried) log N) per task.
 *
 * Rules are not duplicated here: whether a node is a candidate, and its fields, come from
 * Fleet.fastCandidate (the same function the brute-force scan uses), the score from
 * auction.scoreCandidate. A test holds the index to the scan under random adverts, leases,
 * grants and standings.
 *
 * The "filling" exception (a node picked earlier in the same scheduling round may be
 * refilled before a slot's worth of its window is free) depends on the round: picked nodes
 * join the caller's round set here, and when a pick comes with a new set, the previous
 * round's nodes are re-placed without the exception.
 */
import { scoreCandidate, type LatLon, type Scored, type ScoreContext, type Weights } from './auction.js';
import type { FastCandidate } from './fleet.js';

export interface Needs {
  fuel: number;
  memoryPages: number;
}

/** What the index reads of the fleet (implemented by Fleet). */
export interface CandidateSource {
  /** The node as a fast-path candidate under every rule of the scan, or null. */
  fastCandidate(nodeId: string, depth: number, filling: ReadonlySet<string> | undefined, now: number, needs: Needs | undefined): FastCandidate | null;
  /** The region of the node's standing advert, or null. */
  advertRegion(nodeId: string): string | null;
  /** Whether the node could take fast-path work once a slot frees (online, cool or warm, not quarantined, not benched). */
  fastCapable(nodeId: string, now: number): boolean;
  /** Until when the node is benched (0 or past: not benched). */
  benchedUntil(nodeId: string, now: number): number;
  /** Call `f` with a node id whenever anything about the node changed. */
  watch(f: (nodeId: string) => void): void;
  nodeIds(): Iterable<string>;
}

export interface CandidateOptions {
  depth: number;
  weights: Weights;
  gatewayLocation: LatLon | null;
  /** Heaps kept per region (distinct job terms: price ceiling, fuel, memory); the least recently used goes. */
  maxHeapsPerRegion?: number;
}

export interface PickContext {
  maxPrice: number;
  /** Nodes that may not take this task (already hold or held it). */
  exclude?: ReadonlySet<string>;
}

/** `a` ranks before `b` exactly as auction.rank sorts. */
function before(a: Scored<FastCandidate>, b: Scored<FastCandidate>): boolean {
  if (a.score !== b.score) return a.score > b.score;
  if (a.candidate.price !== b.candidate.price) return a.candidate.price < b.candidate.price;
  return a.candidate.nodeId < b.candidate.nodeId;
}

/** A binary heap of scored candidates with removal and update by node id. */
class RankHeap {
  private readonly a: Scored<FastCandidate>[] = [];
  private readonly pos = new Map<string, number>();
  lastUsed = 0;

  constructor(readonly maxPrice: number, readonly needs: Needs) {}

  get size(): number {
    return this.a.length;
  }

  has(id: string): boolean {
    return this.pos.has(id);
  }

  upsert(s: Scored<FastCandidate>): void {
    const i = this.pos.get(s.candidate.nodeId);
    if (i === undefined) {
      this.a.push(s);
      this.pos.set(s.candidate.nodeId, this.a.length - 1);
      this.up(this.a.length - 1);
      return;
    }
    this.a[i] = s;
    this.down(this.up(i));
  }

  remove(id: string): void {
    const i = this.pos.get(id);
    if (i === undefined) return;
    this.pos.delete(id);
    const last = this.a.pop()!;
    if (i === this.a.length) return;
    this.a[i] = last;
    this.pos.set(last.candidate.nodeId, i);
    this.down(this.up(i));
  }

  pop(): Scored<FastCandidate> | undefined {
    const top = this.a[0];
    if (top) this.remove(top.candidate.nodeId);
    return top;
  }

  private swap(i: number, j: number): void {
    const x = this.a[i]!;
    const y = this.a[j]!;
    this.a[i] = y;
    this.a[j] = x;
    this.pos.set(y.candidate.nodeId, i);
    this.pos.set(x.candidate.nodeId, j);
  }

  private up(i: number): number {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(this.a[i]!, this.a[p]!)) break;
      this.swap(i, p);
      i = p;
    }
    return i;
  }

  private down(i: number): void {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      if (l < this.a.length && before(this.a[l]!, this.a[best]!)) best = l;
      if (r < this.a.length && before(this.a[r]!, this.a[best]!)) best = r;
      if (best === i) return;
      this.swap(i, best);
      i = best;
    }
  }
}

export class CandidateIndex {
  /** Per region: its heaps by job terms. */
  private readonly heaps = new Map<string, Map<string, RankHeap>>();
  /** Per region: nodes advertising there. */
  private readonly members = new Map<string, Set<string>>();
  private readonly regionOf = new Map<string, string>();
  /** Per region: nodes that could take fast-path work once a slot frees. */
  private readonly capable = new Map<string, Set<string>>();
  /** Bench ends to wake up for, soonest first (lazily checked on every query). */
  private wakes: Array<{ at: number; nodeId: string }> = [];
  private readonly waking = new Map<string, number>();
  private filling: ReadonlySet<string> | undefined;
  private readonly maxHeaps: number;
  private clock = 0;

  constructor(private readonly src: CandidateSource, private readonly o: CandidateOptions) {
    this.maxHeaps = o.maxHeapsPerRegion ?? 16;
    src.watch((id) => this.refresh(id));
    for (const id of src.nodeIds()) this.refresh(id);
  }

  /**
   * Up to `need` winners from distinct nodes for a task of a job in `region`, best first,
   * as auction.pickWinners would pick them from Fleet.fastCandidates. Winners join
   * `filling`, the scheduling round's set. `empty` says no node qualifies at all (before
   * the task's own exclusions), so the round can stop asking for this region and terms.
   */
  pick(region: string, need: number, ctx: PickContext, needs: Needs, filling: Set<string>, now = Date.now()): { winners: Scored<FastCandidate>[]; empty: boolean } {
    this.wake(now);
    if (filling !== this.filling) {
      const previous = this.filling;
      this.filling = filling;
      if (previous) for (const id of previous) this.refresh(id, now);
      for (const id of filling) this.refresh(id, now);
    }
    const heap = this.heap(region, ctx.maxPrice, needs, now);
    const empty = heap.size === 0;
    const winners: Scored<FastCandidate>[] = [];
    const popped: Scored<FastCandidate>[] = [];
    while (winners.length < need) {
      const s = heap.pop();
      if (!s) break;
      popped.push(s);
      if (!ctx.exclude?.has(s.candidate.nodeId)) winners.push(s);
    }
    for (const s of popped) heap.upsert(s);
    for (const w of winners) filling.add(w.candidate.nodeId);
    return { winners, empty };
  }

  /** Nodes advertising in `region`. */
  regionSize(region: string): number {
    return this.members.get(region)?.size ?? 0;
  }

  /** True when some node could take fast-path work in `region` once a slot frees. */
  hasFast(region: string, now = Date.now()): boolean {
    this.wake(now);
    return (this.capable.get(region)?.size ?? 0) > 0;
  }

  /** Re-place one node in every heap of its region (and out of its old region's). */
  refresh(nodeId: string, now = Date.now()): void {
    const region = this.src.advertRegion(nodeId);
    const old = this.regionOf.get(nodeId);
    if (old !== undefined && old !== region) {
      this.members.get(old)?.delete(nodeId);
      this.capable.get(old)?.delete(nodeId);
      for (const h of this.heaps.get(old)?.values() ?? []) h.remove(nodeId);
      this.regionOf.delete(nodeId);
    }
    if (region === null) return;
    this.regionOf.set(nodeId, region);
    set(this.members, region).add(nodeId);
    if (this.src.fastCapable(nodeId, now)) set(this.capable, region).add(nodeId);
    else this.capable.get(region)?.delete(nodeId);
    for (const h of this.heaps.get(region)?.values() ?? []) this.place(h, nodeId, now);
    const until = this.src.benchedUntil(nodeId, now);
    if (until > now) this.addWake(until, nodeId);
  }

  private place(h: RankHeap, nodeId: string, now: number): void {
    const c = this.src.fastCandidate(nodeId, this.o.depth, this.filling, now, h.needs);
    if (!c || !(c.price <= h.maxPrice)) return h.remove(nodeId);
    const ctx: ScoreContext = { maxPrice: h.maxPrice, gatewayLocation: this.o.gatewayLocation };
    h.upsert(scoreCandidate(c, ctx, this.o.weights));
  }

  private heap(region: string, maxPrice: number, needs: Needs, now: number): RankHeap {
    const key = `${maxPrice}|${needs.fuel}|${needs.memoryPages}`;
    let byKey = this.heaps.get(region);
    if (!byKey) this.heaps.set(region, (byKey = new Map()));
    let h = byKey.get(key);
    if (!h) {
      if (byKey.size >= this.maxHeaps) {
        let lru: [string, RankHeap] | undefined;
        for (const e of byKey) if (!lru || e[1].lastUsed < lru[1].lastUsed) lru = e;
        byKey.delete(lru![0]);
      }
      h = new RankHeap(maxPrice, needs);
      for (const id of this.members.get(region) ?? []) this.place(h, id, now);
      byKey.set(key, h);
    }
    h.lastUsed = ++this.clock;
    return h;
  }

  private addWake(at: number, nodeId: string): void {
    if (this.waking.get(nodeId) === at) return;
    this.waking.set(nodeId, at);
    // Benches are rare (a node that let several leases expire): a sorted array is enough.
    let i = this.wakes.length;
    while (i > 0 && this.wakes[i - 1]!.at > at) i--;
    this.wakes.splice(i, 0, { at, nodeId });
  }

  private wake(now: number): void {
    if (this.wakes.length === 0 || this.wakes[0]!.at > now) return;
    let k = 0;
    while (k < this.wakes.length && this.wakes[k]!.at <= now) k++;
    const due = this.wakes.slice(0, k);
    this.wakes = this.wakes.slice(k);
    for (const w of due) {
      if (this.waking.get(w.nodeId) === w.at) this.waking.delete(w.nodeId);
      this.refresh(w.nodeId, now);
    }
  }
}

function set<K, V>(m: Map<K, Set<V>>, k: K): Set<V> {
  let s = m.get(k);
  if (!s) m.set(k, (s = new Set()));
  return s;
}
