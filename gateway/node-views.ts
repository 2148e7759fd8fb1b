/**
 * How a node looks to operators (GET /api/nodes, the console, its alerts): its latest advert
 * where the gateway holds one in memory, else its stored row, with its standing and what the
 * gateway grants it. Pure functions of what the Fleet holds (fleet.ts keeps placement).
 */
import type { CapacityAdvert, ThermalState } from '../protocol/messages.js';
import { parseThrottled } from '../agent/capacity/throttled.js';
import type { NodeInfo } from './fleet.js';
import type { Grants } from './grants.js';
import type { NodeRow } from './store.js';
import type { Standing } from './trust.js';

export interface NodeView {
  id: string;
  region: string | null;
  online: boolean;
  thermalState: ThermalState | null;
  temperatureC: number | null;
  load: number | null;
  memFreeMb: number | null;
  power: CapacityAdvert['power'] | null;
  location: CapacityAdvert['location'];
  /** The agent's version, when its advert says. */
  version: string | null;
  /** When the node signed its latest advert (its clock). */
  advertAt: number | null;
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
  /** An operator drained it: no new work, its leases run out. */
  drained: boolean;
  lastSeen: number | null;
  /** Clock as a ratio of its maximum (1 = full speed), from the governor's advert; null when unknown. */
  clock: number | null;
  /** Raspberry Pi firmware flags, decoded (null on boards without them). */
  throttled: { now: ThrottleFlags; sinceBoot: ThrottleFlags } | null;
  /** Tasks it runs at once now (the governor's budget); null from agents without one. */
  budget: number | null;
  /** Its forecast at its budget: clock share a slot sustains under its ceiling (0..1), and seconds it can sprint at full clock. */
  sustain: number | null;
  sprintS: number | null;
  /** Temperature trend, deg C per minute. */
  trendCPerMin: number | null;
}

/** The fields of a node the console's alerts test (a subset of NodeView). */
export type AlertView = Pick<NodeView, 'id' | 'online' | 'quarantined' | 'thermalState' | 'benchedUntil' | 'lastSeen'> & { throttled: { now: Pick<ThrottleFlags, 'underVoltage'> } | null };

export interface ThrottleFlags {
  underVoltage: boolean;
  freqCapped: boolean;
  throttled: boolean;
  softTempLimit: boolean;
}

/** Raspberry Pi firmware throttle bits, named. */
function flags(now: number): ThrottleFlags {
  const f = parseThrottled(now & 0xf);
  return { underVoltage: f.underVoltage, freqCapped: f.freqCapped, throttled: f.throttled, softTempLimit: f.softTempLimit };
}

export function nodeView(id: string, n: NodeInfo | undefined, r: NodeRow | undefined, s: Standing, grants: Grants, drained: boolean, now: number): NodeView {
  const a = n?.advert ?? null;
  const slots = a ? a.slots : (r?.slots ?? null);
  return {
    id, region: n?.region ?? r?.region ?? null, online: n ? n.online : false,
    thermalState: (a?.state ?? (r?.state as ThermalState | null | undefined)) ?? null, temperatureC: a ? a.tempC : (r?.temp_c ?? null),
    throttled: a?.throttled ? { now: flags(a.throttled.now), sinceBoot: flags(a.throttled.sinceBoot) } : null,
    clock: a?.thermal?.clock ?? null, budget: a?.thermal?.budget ?? null, sustain: a?.thermal?.sustain?.at(-1) ?? null,
    sprintS: a?.thermal?.sprintS?.at(-1) ?? null, trendCPerMin: a?.thermal?.trendCPerMin ?? null,
    load: a ? a.load : null, memFreeMb: a ? a.memFreeMb : null, power: a?.power ?? null,
    location: a ? a.location : (r?.location ? parseLocation(r.location) : null), version: a?.version ?? null, advertAt: a?.at ?? null,
    slots, freeSlots: a ? a.freeSlots : (r?.free_slots ?? null), fuelRate: a ? a.fuelRate : (r?.fuel_rate ?? null),
    headroom: a ? a.headroom : (r?.headroom ?? null), priceFloor: a ? a.priceFloor : (r?.price_floor ?? null), profile: a ? a.profile : (r?.profile ?? null),
    reputation: s.reputation, quarantined: s.quarantined, leases: n?.leases ?? 0,
    grantedSlots: grants.slots(id, slots ?? 0, now), benchedUntil: grants.view(id, now).benchedUntil,
    drained,
    lastSeen: n?.lastSeen || r?.last_seen || null,
  };
}

/** The few fields alerts test, without a whole view (once a second over every node). */
export function alertView(id: string, n: NodeInfo | undefined, r: NodeRow | undefined, quarantined: boolean, benchedUntil: number | null): AlertView {
  const a = n?.advert ?? null;
  return {
    id, online: n ? n.online : false, quarantined,
    thermalState: (a?.state ?? (r?.state as ThermalState | null | undefined)) ?? null,
    throttled: a?.throttled ? { now: flags(a.throttled.now) } : null,
    benchedUntil, lastSeen: n?.lastSeen || r?.last_seen || null,
  };
}

function parseLocation(raw: string): CapacityAdvert['location'] {
  try {
    const l = JSON.parse(raw) as { lat?: unknown; lon?: unknown };
    return typeof l.lat === 'number' && typeof l.lon === 'number' ? { lat: l.lat, lon: l.lon } : null;
  } catch {
    return null;
  }
}
