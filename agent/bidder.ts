/**
 * Whether to bid on an offer, and with what. A pure function of the offer and the
 * agent's present state, so every rule is testable without a broker.
 *
 * A bid is made only when the module is available or fetchable, the limits asked fit the
 * agent's own, a slot is free (counting queued work), the thermal state allows, the
 * outbox has room, and the offer pays at least the price floor. The price rises as the
 * device gets hotter (scarcer headroom costs more) but never above the offer's maximum.
 */
import type { Bid, Offer, ThermalState } from '../protocol/messages.js';
import type { CapacitySnapshot } from './capacity/types.js';

export interface BidContext {
  nodeId: string;
  region: string;
  priceFloor: number;
  limits: { fuel: number; memoryPages: number; timeoutMs: number };
  capacity: CapacitySnapshot & { tempState?: ThermalState };
  /** Tasks running plus tasks queued on this agent. */
  busy: number;
  /** Fuel still to burn for queued work (upper bound), for the finish-time estimate. */
  queuedFuel: number;
  location: { lat: number; lon: number } | null;
  moduleAvailable: boolean;
  moduleKnownBad: boolean;
  outboxFull: boolean;
  draining: boolean;
  now: number;
}

export type BidDecision = { bid: Bid } | { skip: string };

export function decideBid(offer: Offer, c: BidContext): BidDecision {
  if (c.draining) return { skip: 'draining' };
  if (offer.region !== c.region) return { skip: `offer for region ${offer.region}` };
  if (offer.bidUntil < c.now) return { skip: 'bid window closed' };
  if (offer.deadline < c.now) return { skip: 'deadline passed' };
  if (offer.maxPrice < c.priceFloor) return { skip: `max price ${offer.maxPrice} below floor ${c.priceFloor}` };
  if (offer.fuelLimit > c.limits.fuel) return { skip: `fuel limit ${offer.fuelLimit} above ours ${c.limits.fuel}` };
  if (offer.memoryPages > c.limits.memoryPages) return { skip: `memory ${offer.memoryPages} pages above ours ${c.limits.memoryPages}` };
  if (offer.timeoutMs > c.limits.timeoutMs) return { skip: `timeout ${offer.timeoutMs} ms above ours ${c.limits.timeoutMs}` };
  if (c.moduleKnownBad) return { skip: 'module could not be fetched or verified recently' };
  if (c.outboxFull) return { skip: 'outbox full' };
  if (!c.capacity.accepts) return { skip: c.capacity.reason ?? `not accepting (${c.capacity.state})` };
  if (c.busy >= c.capacity.slots || c.capacity.freeSlots <= 0) return { skip: 'no free slot' };
  const scarcity = 1 + (1 - clamp01(c.capacity.headroom)); // 1x when cool, up to 2x at the limit
  const price = Math.min(offer.maxPrice, c.priceFloor * scarcity);
  const rate = c.capacity.fuelRate > 0 ? c.capacity.fuelRate : 1;
  // Finish time: work queued ahead (spread over the slots) plus this task, at worst its fuel limit,
  // never beyond its own timeout; module fetch adds a little when it is not here yet.
  const aheadMs = (c.queuedFuel / rate / Math.max(1, c.capacity.slots)) * 1000;
  const ownMs = Math.min(offer.timeoutMs, (offer.fuelLimit / rate) * 1000);
  const etaMs = Math.round(aheadMs + ownMs + (c.moduleAvailable ? 0 : 500));
  return {
    bid: {
      offerId: offer.offerId,
      taskId: offer.taskId,
      nodeId: c.nodeId,
      region: c.region,
      price,
      etaMs,
      headroom: clamp01(c.capacity.headroom),
      state: c.capacity.state,
      freeSlots: Math.max(0, Math.min(c.capacity.freeSlots, c.capacity.slots - c.busy)),
      fuelRate: c.capacity.fuelRate,
      location: c.location,
    },
  };
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.max(0, Math.min(1, x)) : 0;
}
