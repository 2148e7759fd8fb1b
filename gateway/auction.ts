/**
 * Bid scoring. Every factor is normalised to 0..1 (1 = best) and the score is their
 * weighted sum divided by the sum of weights, so weights are relative and any of them may
 * be zero. Defaults (configurable via GatewayOptions.weights or `swarmlet gateway --weights`):
 *
 *   price      0.30  1 - price / maxPrice: cheaper is better; over the ceiling = no bid
 *   eta        0.25  etaRef / (etaRef + etaMs): sooner is better, never reaches 0
 *   headroom   0.20  the node's thermal headroom as it reported it (cool and idle = 1)
 *   proximity  0.10  1 / (1 + km / 500) from the gateway's location; 0.5 when unknown
 *   reputation 0.15  0..1, raised by verified results, cut to 0 by a caught cheat
 *
 * Ineligible, whatever the score: critical nodes, hot nodes without a thermal governor (one
 * that holds its own ceiling may work hot: its agent decides how much), quarantined nodes,
 * offline nodes, a price over the job's ceiling, and nodes already holding (or having held)
 * this task.
 */
import type { ThermalState } from '../protocol/messages.js';

export interface Weights {
  price: number;
  eta: number;
  headroom: number;
  proximity: number;
  reputation: number;
}

export const DEFAULT_WEIGHTS: Readonly<Weights> = Object.freeze({ price: 0.3, eta: 0.25, headroom: 0.2, proximity: 0.1, reputation: 0.15 });

/** Time scale of the eta factor: a bid finishing in etaRefMs scores 0.5 on eta. */
export const ETA_REF_MS = 1000;
/** Distance scale of the proximity factor: 500 km scores 0.5. */
export const PROXIMITY_REF_KM = 500;

export interface LatLon { lat: number; lon: number }

export interface Candidate {
  nodeId: string;
  price: number;
  etaMs: number;
  headroom: number;
  state: ThermalState;
  location: LatLon | null;
  reputation: number;
  quarantined?: boolean;
  online?: boolean;
  /** Its agent holds its own temperature ceiling (a governor's budget in its advert): it may take work while hot. */
  governed?: boolean;
}

export interface ScoreContext {
  maxPrice: number;
  gatewayLocation?: LatLon | null;
  /** Nodes that may not take this task (already hold or held it). */
  exclude?: ReadonlySet<string>;
}

export interface Scored<C extends Candidate = Candidate> {
  candidate: C;
  score: number;
  factors: Record<keyof Weights, number>;
}

export function mergeWeights(w?: Partial<Weights>): Weights {
  const out = { ...DEFAULT_WEIGHTS, ...(w ?? {}) };
  for (const [k, v] of Object.entries(out)) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error(`weight ${k} must be a finite number >= 0, got ${String(v)}`);
  }
  if (Object.values(out).every((v) => v === 0)) throw new Error('at least one weight must be above 0');
  return out;
}

/** Great-circle distance in km (haversine). */
export function distanceKm(a: LatLon, b: LatLon): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const s = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.min(1, Math.sqrt(s)));
}

/** Why a candidate may not win, or null when it may. */
export function ineligible(c: Candidate, ctx: ScoreContext): string | null {
  if (c.state === 'critical' || (c.state === 'hot' && !c.governed)) return `thermal state ${c.state}`;
  if (c.quarantined) return 'quarantined';
  if (c.online === false) return 'offline';
  if (!(c.price <= ctx.maxPrice)) return `price ${c.price} over ceiling ${ctx.maxPrice}`;
  if (ctx.exclude?.has(c.nodeId)) return 'already holds this task';
  return null;
}

export function scoreCandidate<C extends Candidate>(c: C, ctx: ScoreContext, w: Weights): Scored<C> {
  const clamp = (x: number) => (Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0);
  const factors = {
    price: ctx.maxPrice > 0 ? clamp(1 - c.price / ctx.maxPrice) : 1,
    eta: clamp(ETA_REF_MS / (ETA_REF_MS + Math.max(0, c.etaMs))),
    headroom: clamp(c.headroom),
    proximity: c.location && ctx.gatewayLocation
      ? clamp(1 / (1 + distanceKm(c.location, ctx.gatewayLocation) / PROXIMITY_REF_KM))
      : 0.5,
    reputation: clamp(c.reputation),
  };
  const total = w.price + w.eta + w.headroom + w.proximity + w.reputation;
  const score = (w.price * factors.price + w.eta * factors.eta + w.headroom * factors.headroom
    + w.proximity * factors.proximity + w.reputation * factors.reputation) / total;
  return { candidate: c, score, factors };
}

/**
 * Rank eligible candidates best first. Ties break on lower price, then node id, so the
 * outcome is deterministic for the same bids.
 */
export function rank<C extends Candidate>(cands: readonly C[], ctx: ScoreContext, w: Weights = DEFAULT_WEIGHTS): Scored<C>[] {
  return cands
    .filter((c) => ineligible(c, ctx) === null)
    .map((c) => scoreCandidate(c, ctx, w))
    .sort((a, b) => b.score - a.score || a.candidate.price - b.candidate.price || (a.candidate.nodeId < b.candidate.nodeId ? -1 : 1));
}

/** Pick up to `n` winners from distinct nodes. */
export function pickWinners<C extends Candidate>(cands: readonly C[], n: number, ctx: ScoreContext, w: Weights = DEFAULT_WEIGHTS): Scored<C>[] {
  const out: Scored<C>[] = [];
  const taken = new Set<string>();
  for (const s of rank(cands, ctx, w)) {
    if (out.length >= n) break;
    if (taken.has(s.candidate.nodeId)) continue;
    taken.add(s.candidate.nodeId);
    out.push(s);
  }
  return out;
}
