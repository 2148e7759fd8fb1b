/**
 * The layout of one node's recent history in memory, and the arithmetic over it.
 *
 * A node's ring is one Float32Array of FIELDS x points: field f of bucket i is at
 * `f * points + i` (field-major, so a minute's rollup reads each field's run of buckets).
 * NaN means "no data" (no advert said it, or the ring did not exist yet at that bucket).
 * While a bucket is open, what the node's adverts and results say goes into an `Acc`
 * (a few number writes per advert, no allocation); the bucket's close writes it into the ring.
 */
import type { CapacityAdvert, ThermalState } from '../../protocol/messages.js';

export const MINUTE = 60_000;
export const HOUR = 3_600_000;
const STATE_RANK: Record<ThermalState, number> = { cool: 0, warm: 1, hot: 2, critical: 3 };
/** Throttled bits kept: under-voltage, frequency capped, throttled, soft temperature limit (now). */
const THROTTLE_MASK = 0xf;

// Ring fields, in order.
const F_TEMP = 0, F_LOAD = 1, F_MEM = 2, F_BATT = 3, F_THR = 4, F_STATE = 5, F_TASKS = 6, F_ONLINE = 7, F_FUEL = 8, F_REP = 9;
export const FIELDS = 10;

/** Columns every series answer has (arrays of equal length; null = no data). */
export const SERIES_COLUMNS = ['temp', 'tempMax', 'load', 'mem', 'battery', 'throttled', 'state', 'tasksPerMin', 'online', 'fuelRate', 'reputation'] as const;
export type SeriesColumn = (typeof SERIES_COLUMNS)[number];
export const FLEET_COLUMNS = ['nodes', 'online', 'tempAvg', 'tempMax', 'tasksPerMin', 'hot', 'critical', 'throttled'] as const;
export type FleetColumn = (typeof FLEET_COLUMNS)[number];

export const nn = (x: number): number | null => (Number.isNaN(x) ? null : x);
export const round = (x: number | null, d = 2): number | null => (x === null ? null : Math.round(x * 10 ** d) / 10 ** d);

/** What one node's adverts and results said in the open bucket. */
export interface Acc {
  adverts: number;
  tempSum: number;
  tempN: number;
  tempMax: number;
  load: number;
  mem: number;
  battery: number;
  thr: number;
  state: number;
  fuel: number;
  tasks: number;
}

export function newAcc(): Acc {
  return { adverts: 0, tempSum: 0, tempN: 0, tempMax: NaN, load: NaN, mem: NaN, battery: NaN, thr: NaN, state: NaN, fuel: NaN, tasks: 0 };
}

/** Fold one advert into the open bucket: the hottest temperature and state, any throttle bit, the latest of the rest. */
export function accAdvert(x: Acc, a: CapacityAdvert): void {
  x.adverts++;
  if (a.tempC !== null) {
    x.tempSum += a.tempC;
    x.tempN++;
    x.tempMax = Number.isNaN(x.tempMax) ? a.tempC : Math.max(x.tempMax, a.tempC);
  }
  x.load = a.load;
  x.mem = a.memFreeMb;
  x.battery = a.power.batteryPct ?? NaN;
  if (a.throttled) x.thr = (Number.isNaN(x.thr) ? 0 : x.thr) | (a.throttled.now & THROTTLE_MASK);
  x.state = Number.isNaN(x.state) ? STATE_RANK[a.state] : Math.max(x.state, STATE_RANK[a.state]);
  x.fuel = a.fuelRate;
}

export function newRing(points: number): Float32Array {
  return new Float32Array(FIELDS * points).fill(NaN);
}

/**
 * Close bucket `i`: from the bucket's adverts if it had any, else from the node's latest
 * advert while it is online (a quiet device still has a temperature), else no data.
 */
export function writeBucket(ring: Float32Array, P: number, i: number, online: boolean, advert: CapacityAdvert | null, x: Acc | undefined, reputation: number): void {
  const a = online ? advert : null;
  const fromAdverts = x !== undefined && x.adverts > 0;
  ring[F_TEMP * P + i] = fromAdverts && x.tempN > 0 ? x.tempMax : a?.tempC ?? NaN;
  ring[F_LOAD * P + i] = fromAdverts ? x.load : a ? a.load : NaN;
  ring[F_MEM * P + i] = fromAdverts ? x.mem : a ? a.memFreeMb : NaN;
  ring[F_BATT * P + i] = fromAdverts ? x.battery : a?.power.batteryPct ?? NaN;
  ring[F_THR * P + i] = fromAdverts ? x.thr : a?.throttled ? a.throttled.now & THROTTLE_MASK : NaN;
  ring[F_STATE * P + i] = fromAdverts ? x.state : a ? STATE_RANK[a.state] : NaN;
  ring[F_TASKS * P + i] = x?.tasks ?? 0;
  ring[F_ONLINE * P + i] = online ? 1 : 0;
  ring[F_FUEL * P + i] = fromAdverts ? x.fuel : a ? a.fuelRate : NaN;
  ring[F_REP * P + i] = reputation;
}

/** Bucket `i` of a node that is gone (no advert, no result, offline). */
export function writeAbsent(ring: Float32Array, P: number, i: number): void {
  for (let f = 0; f < FIELDS; f++) ring[f * P + i] = f === F_TASKS || f === F_ONLINE ? 0 : NaN;
}

/** One minute of one node, as stored (SQLite row values). */
export interface MinuteSummary {
  tempAvg: number | null; tempMax: number | null; load: number | null; memMin: number | null; battery: number | null;
  throttled: number | null; state: number | null; tasks: number; online: number; fuelRate: number | null; reputation: number | null;
}

/** Min/mean/max of the buckets `idx` of a ring; null when the node had nothing in them. */
export function minuteSummary(ring: Float32Array, P: number, idx: readonly number[]): MinuteSummary | null {
  let online = 0, tasks = 0, tempSum = 0, tempN = 0, tempMax = NaN, loadSum = 0, loadN = 0, mem = NaN, batt = NaN, thr = NaN, state = NaN, fuelSum = 0, fuelN = 0, rep = NaN;
  for (const i of idx) {
    // NaN: the ring did not exist yet at that bucket (the node appeared later).
    if (Number.isNaN(ring[F_ONLINE * P + i]!)) continue;
    online += ring[F_ONLINE * P + i]!;
    tasks += ring[F_TASKS * P + i]!;
    const tc = ring[F_TEMP * P + i]!;
    if (!Number.isNaN(tc)) { tempSum += tc; tempN++; tempMax = Number.isNaN(tempMax) ? tc : Math.max(tempMax, tc); }
    const l = ring[F_LOAD * P + i]!;
    if (!Number.isNaN(l)) { loadSum += l; loadN++; }
    const m = ring[F_MEM * P + i]!;
    if (!Number.isNaN(m)) mem = Number.isNaN(mem) ? m : Math.min(mem, m);
    const b = ring[F_BATT * P + i]!;
    if (!Number.isNaN(b)) batt = Number.isNaN(batt) ? b : Math.min(batt, b);
    const th = ring[F_THR * P + i]!;
    if (!Number.isNaN(th)) thr = (Number.isNaN(thr) ? 0 : thr) | th;
    const st = ring[F_STATE * P + i]!;
    if (!Number.isNaN(st)) state = Number.isNaN(state) ? st : Math.max(state, st);
    const fu = ring[F_FUEL * P + i]!;
    if (!Number.isNaN(fu)) { fuelSum += fu; fuelN++; }
    const r = ring[F_REP * P + i]!;
    if (!Number.isNaN(r)) rep = r;
  }
  if (online === 0 && tasks === 0 && tempN === 0) return null;
  return {
    tempAvg: round(tempN ? tempSum / tempN : null), tempMax: round(nn(tempMax)), load: round(loadN ? loadSum / loadN : null), memMin: nn(mem),
    battery: round(nn(batt)), throttled: nn(thr), state: nn(state), tasks, online: round(idx.length ? online / idx.length : 0, 3) ?? 0,
    fuelRate: round(fuelN ? fuelSum / fuelN : null, 0), reputation: round(nn(rep), 4),
  };
}

/** Whether bucket `i` has anything to show (NaN: the ring began after it; 0s and no temperature: nothing). */
export function bucketHasData(ring: Float32Array, P: number, i: number): boolean {
  const on = ring[F_ONLINE * P + i]!;
  return !(Number.isNaN(on) || (on === 0 && ring[F_TASKS * P + i] === 0 && Number.isNaN(ring[F_TEMP * P + i]!)));
}

/** Bucket `i` of one node as a series point (tasks per minute from the bucket's length). */
export function nodePoint(ring: Float32Array, P: number, i: number, stepMs: number): Record<SeriesColumn, number | null> {
  const tc = round(nn(ring[F_TEMP * P + i]!));
  return {
    temp: tc, tempMax: tc, load: round(nn(ring[F_LOAD * P + i]!)), mem: nn(ring[F_MEM * P + i]!), battery: round(nn(ring[F_BATT * P + i]!)),
    throttled: nn(ring[F_THR * P + i]!), state: nn(ring[F_STATE * P + i]!), tasksPerMin: ring[F_TASKS * P + i]! * (MINUTE / stepMs),
    online: ring[F_ONLINE * P + i]!, fuelRate: round(nn(ring[F_FUEL * P + i]!), 0), reputation: round(nn(ring[F_REP * P + i]!), 4),
  };
}

/** Bucket `i` over every node's ring: counts, temperatures and tasks of the fleet. */
export function fleetPoint(rings: Iterable<Float32Array>, P: number, i: number, stepMs: number): Record<FleetColumn, number | null> {
  let nodes = 0, online = 0, tSum = 0, tN = 0, tMax = NaN, tasks = 0, hot = 0, critical = 0, thr = 0;
  for (const ring of rings) {
    if (!bucketHasData(ring, P, i)) continue;
    const tc = ring[F_TEMP * P + i]!;
    nodes++;
    online += ring[F_ONLINE * P + i]!;
    tasks += ring[F_TASKS * P + i]!;
    if (!Number.isNaN(tc)) { tSum += tc; tN++; tMax = Number.isNaN(tMax) ? tc : Math.max(tMax, tc); }
    const st = ring[F_STATE * P + i]!;
    if (st >= 2) hot++;
    if (st >= 3) critical++;
    if (ring[F_THR * P + i]! > 0) thr++;
  }
  return { nodes, online, tempAvg: round(tN ? tSum / tN : null), tempMax: round(nn(tMax)), tasksPerMin: tasks * (MINUTE / stepMs), hot, critical, throttled: thr };
}
