/**
 * Device history for the console: temperature, load, free memory, battery, throttle flags,
 * thermal state, tasks, online, fuel rate and reputation per node over time.
 *
 * Bounded by construction:
 *  - Recent history is a ring in memory: every `stepMs` (default 5 s) each node's bucket
 *    (what its adverts said in it, the results it delivered) is closed into a Float32
 *    ring of `points` buckets (default 240: 20 minutes). 10 fields x 4 bytes x 240 =
 *    9.6 KB per node, ~4.8 MB for 500 nodes, whatever the advert rate: an advert only
 *    updates the node's open bucket (a few number writes, no allocation, no I/O).
 *  - Once a minute the minute just ended is rolled up (min/mean/max) into one SQLite row
 *    per node seen in it, all in one transaction (500 rows a minute for 500 nodes); once
 *    an hour the hour's minute rows are rolled up into hour rows, and rows past their
 *    retention (minutes: 12 h, hours: 30 days) are deleted.
 *
 * Reading picks the resolution from the range: the ring (with minute rows before it, e.g.
 * after a restart) up to twice its span, minute rows (and the ring's current minute) up to
 * their retention, hour rows beyond (with the minutes since the last hour).
 */
import type { CapacityAdvert, ThermalState } from '../../protocol/messages.js';
import type { Logger } from '../../util/log.js';
import type { Db, Statement } from '../sqlite.js';

export interface HistoryOptions {
  /** Ring bucket length (ms; divides a minute). Default 5000. */
  stepMs?: number;
  /** Ring length in buckets. Default 240. */
  points?: number;
  /** How long minute rows are kept (ms). Default 12 h. */
  minuteKeepMs?: number;
  /** How long hour rows are kept (ms). Default 30 days. */
  hourKeepMs?: number;
}

/** What the history samples on each bucket close. */
export interface HistorySource {
  /** Nodes known now, with whether they are online and their latest advert. */
  nodes(): Iterable<{ nodeId: string; online: boolean; advert: CapacityAdvert | null }>;
  reputation(nodeId: string): number;
}

const MINUTE = 60_000;
const HOUR = 3_600_000;
const STATE_RANK: Record<ThermalState, number> = { cool: 0, warm: 1, hot: 2, critical: 3 };
/** Throttled bits kept: under-voltage, frequency capped, throttled, soft temperature limit (now). */
const THROTTLE_MASK = 0xf;

// Ring fields, in order.
const F_TEMP = 0, F_LOAD = 1, F_MEM = 2, F_BATT = 3, F_THR = 4, F_STATE = 5, F_TASKS = 6, F_ONLINE = 7, F_FUEL = 8, F_REP = 9;
const FIELDS = 10;

/** Columns every series answer has (arrays of equal length; null = no data). */
export const SERIES_COLUMNS = ['temp', 'tempMax', 'load', 'mem', 'battery', 'throttled', 'state', 'tasksPerMin', 'online', 'fuelRate', 'reputation'] as const;
export type SeriesColumn = (typeof SERIES_COLUMNS)[number];
export type NodeSeries = { from: number; to: number; resolutionMs: number; t: number[] } & Record<SeriesColumn, Array<number | null>>;

export const FLEET_COLUMNS = ['nodes', 'online', 'tempAvg', 'tempMax', 'tasksPerMin', 'hot', 'critical', 'throttled'] as const;
export type FleetColumn = (typeof FLEET_COLUMNS)[number];
export type FleetSeries = { from: number; to: number; resolutionMs: number; t: number[] } & Record<FleetColumn, Array<number | null>>;

export const RANGES: Record<string, number> = { '15m': 15 * MINUTE, '1h': HOUR, '6h': 6 * HOUR, '24h': 24 * HOUR, '7d': 7 * 24 * HOUR, '30d': 30 * 24 * HOUR };

interface Acc {
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

interface HistoryRow {
  node_id: string; t: number; temp_avg: number | null; temp_max: number | null; load: number | null; mem_min: number | null;
  battery: number | null; throttled: number | null; state: number | null; tasks: number; online: number; fuel_rate: number | null; reputation: number | null;
}

const nn = (x: number): number | null => (Number.isNaN(x) ? null : x);
const round = (x: number | null, d = 2): number | null => (x === null ? null : Math.round(x * 10 ** d) / 10 ** d);

function newAcc(): Acc {
  return { adverts: 0, tempSum: 0, tempN: 0, tempMax: NaN, load: NaN, mem: NaN, battery: NaN, thr: NaN, state: NaN, fuel: NaN, tasks: 0 };
}

export class History {
  readonly stepMs: number;
  readonly points: number;
  readonly minuteKeepMs: number;
  readonly hourKeepMs: number;
  /** Bucket start times, ring order; NaN = empty. */
  private readonly times: Float64Array;
  private head = 0;
  private readonly rings = new Map<string, Float32Array>();
  /** Last tick (count) at which a node had anything to record; its ring goes after a full ring of nothing. */
  private readonly lastData = new Map<string, number>();
  private readonly acc = new Map<string, Acc>();
  private ticks = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly s: Record<string, Statement>;
  /** Time of the last minute and hour rolled up (so a late tick does not roll up twice). */
  private lastMinute = 0;
  private lastHour = 0;
  /** Last rollup's cost, for the benchmark and /metrics. */
  lastRollup = { rows: 0, ms: 0 };
  /** Called after each bucket closes (the console pushes the new points live). */
  onTick: (() => void) | null = null;

  constructor(private readonly db: Db, private readonly source: HistorySource, o: HistoryOptions = {}, private readonly log?: Logger) {
    this.stepMs = o.stepMs ?? 5000;
    this.points = o.points ?? 240;
    this.minuteKeepMs = o.minuteKeepMs ?? 12 * HOUR;
    this.hourKeepMs = o.hourKeepMs ?? 30 * 24 * HOUR;
    if (!Number.isInteger(this.stepMs) || this.stepMs < 100 || MINUTE % this.stepMs !== 0) throw new Error('history stepMs must be a whole number of ms from 100 that divides a minute');
    if (!Number.isInteger(this.points) || this.points < 12 || this.points > 100_000) throw new Error('history points must be an integer from 12 to 100000');
    if (this.points * this.stepMs < MINUTE) throw new Error('the history ring must span at least a minute');
    this.times = new Float64Array(this.points).fill(NaN);
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      ins: p(`INSERT OR REPLACE INTO node_history (node_id, res, t, temp_avg, temp_max, load, mem_min, battery, throttled, state, tasks, online, fuel_rate, reputation)
        VALUES (?, ${MINUTE}, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      hour: p(`INSERT OR REPLACE INTO node_history (node_id, res, t, temp_avg, temp_max, load, mem_min, battery, throttled, state, tasks, online, fuel_rate, reputation)
        SELECT node_id, ${HOUR}, ?, AVG(temp_avg), MAX(temp_max), AVG(load), MIN(mem_min), MIN(battery),
          MAX(throttled & 1) | MAX(throttled & 2) | MAX(throttled & 4) | MAX(throttled & 8), MAX(state), SUM(tasks), AVG(online), AVG(fuel_rate), AVG(reputation)
        FROM node_history WHERE res = ${MINUTE} AND t >= ? AND t < ? GROUP BY node_id`),
      prune: p('DELETE FROM node_history WHERE res = ? AND t < ?'),
      nodeRows: p('SELECT * FROM node_history WHERE node_id = ? AND res = ? AND t >= ? AND t < ? ORDER BY t'),
      fleetRows: p(`SELECT t, COUNT(*) AS nodes, SUM(online) AS online, AVG(temp_avg) AS temp_avg, MAX(temp_max) AS temp_max, SUM(tasks) AS tasks,
        SUM(CASE WHEN state >= 2 THEN 1 ELSE 0 END) AS hot, SUM(CASE WHEN state >= 3 THEN 1 ELSE 0 END) AS critical,
        SUM(CASE WHEN throttled > 0 THEN 1 ELSE 0 END) AS throttled
        FROM node_history WHERE res = ? AND t >= ? AND t < ? GROUP BY t ORDER BY t`),
      lastHour: p(`SELECT MAX(t) AS t FROM node_history WHERE res = ${HOUR}`),
    };
    const last = (this.s.lastHour!.get() as { t: number | null } | undefined)?.t;
    this.lastHour = last ? last + HOUR : 0;
  }

  start(): void {
    this.prune(Date.now());
    this.schedule();
  }

  private schedule(): void {
    const now = Date.now();
    const next = (Math.floor(now / this.stepMs) + 1) * this.stepMs;
    this.timer = setTimeout(() => {
      this.timer = null;
      try {
        this.tick(next);
      } catch (e) {
        this.log?.warn({ err: (e as Error).message }, 'history tick failed');
      }
      this.schedule();
    }, next - now);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  // ---- recording ---------------------------------------------------------------------
  onAdvert(a: CapacityAdvert): void {
    let x = this.acc.get(a.nodeId);
    if (!x) this.acc.set(a.nodeId, (x = newAcc()));
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

  /** `n` results of this node were accepted into the store. */
  onTasks(nodeId: string, n = 1): void {
    let x = this.acc.get(nodeId);
    if (!x) this.acc.set(nodeId, (x = newAcc()));
    x.tasks += n;
  }

  /** Close the bucket that ends at `end` (called by the timer at each step boundary; tests call it directly). */
  tick(end: number): void {
    const t = end - this.stepMs;
    const idx = this.head;
    this.head = (this.head + 1) % this.points;
    this.times[idx] = t;
    this.ticks++;
    const seen = new Set<string>();
    for (const n of this.source.nodes()) {
      seen.add(n.nodeId);
      this.write(idx, n.nodeId, n.online, n.advert, this.acc.get(n.nodeId));
    }
    for (const [id, x] of this.acc) if (!seen.has(id)) { seen.add(id); this.write(idx, id, false, null, x); }
    for (const [id, ring] of this.rings) {
      if (seen.has(id)) continue;
      if (this.ticks - (this.lastData.get(id) ?? 0) >= this.points) { this.rings.delete(id); this.lastData.delete(id); continue; }
      for (let f = 0; f < FIELDS; f++) ring[f * this.points + idx] = f === F_TASKS || f === F_ONLINE ? 0 : NaN;
    }
    this.acc.clear();
    if (end % MINUTE === 0 && end > this.lastMinute) this.rollupMinute(end);
    if (end % HOUR === 0 && end > this.lastHour) {
      this.rollupHour(end);
      this.prune(end);
    }
    this.onTick?.();
  }

  private write(idx: number, id: string, online: boolean, advert: CapacityAdvert | null, x: Acc | undefined): void {
    const has = online || (x !== undefined && (x.adverts > 0 || x.tasks > 0));
    let ring = this.rings.get(id);
    if (!ring) {
      if (!has) return;
      ring = new Float32Array(FIELDS * this.points).fill(NaN);
      this.rings.set(id, ring);
    }
    if (has) this.lastData.set(id, this.ticks);
    const P = this.points;
    const a = online ? advert : null;
    const fromAdverts = x !== undefined && x.adverts > 0;
    ring[F_TEMP * P + idx] = fromAdverts && x.tempN > 0 ? x.tempMax : a?.tempC ?? NaN;
    ring[F_LOAD * P + idx] = fromAdverts ? x.load : a ? a.load : NaN;
    ring[F_MEM * P + idx] = fromAdverts ? x.mem : a ? a.memFreeMb : NaN;
    ring[F_BATT * P + idx] = fromAdverts ? x.battery : a?.power.batteryPct ?? NaN;
    ring[F_THR * P + idx] = fromAdverts ? x.thr : a?.throttled ? a.throttled.now & THROTTLE_MASK : NaN;
    ring[F_STATE * P + idx] = fromAdverts ? x.state : a ? STATE_RANK[a.state] : NaN;
    ring[F_TASKS * P + idx] = x?.tasks ?? 0;
    ring[F_ONLINE * P + idx] = online ? 1 : 0;
    ring[F_FUEL * P + idx] = fromAdverts ? x.fuel : a ? a.fuelRate : NaN;
    ring[F_REP * P + idx] = online || has ? this.source.reputation(id) : NaN;
  }

  /** Ring indices whose bucket starts in [from, to), oldest first. */
  private indices(from: number, to: number): number[] {
    const out: number[] = [];
    for (let k = 0; k < this.points; k++) {
      const i = (this.head + k) % this.points;
      const t = this.times[i]!;
      if (t >= from && t < to) out.push(i);
    }
    return out;
  }

  private rollupMinute(end: number): void {
    const started = performance.now();
    const from = end - MINUTE;
    const idx = this.indices(from, end);
    let rows = 0;
    const P = this.points;
    const ins = this.s.ins!;
    this.db.transaction(() => {
      for (const [id, ring] of this.rings) {
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
        if (online === 0 && tasks === 0 && tempN === 0) continue;
        ins.run(id, from, round(tempN ? tempSum / tempN : null), round(nn(tempMax)), round(loadN ? loadSum / loadN : null), nn(mem), round(nn(batt)), nn(thr), nn(state),
          tasks, round(idx.length ? online / idx.length : 0, 3), round(fuelN ? fuelSum / fuelN : null, 0), round(nn(rep), 4));
        rows++;
      }
    })();
    this.lastMinute = end;
    this.lastRollup = { rows, ms: performance.now() - started };
  }

  private rollupHour(end: number): void {
    this.s.hour!.run(end - HOUR, end - HOUR, end);
    this.lastHour = end;
  }

  private prune(now: number): void {
    this.s.prune!.run(MINUTE, now - this.minuteKeepMs);
    this.s.prune!.run(HOUR, now - this.hourKeepMs);
  }

  // ---- reading -----------------------------------------------------------------------
  /** Start of the oldest bucket in the ring (Infinity when empty). */
  private ringStart(): number {
    let m = Infinity;
    for (const t of this.times) if (t < m) m = t;
    return m;
  }

  /**
   * Where each part of [from, to) is read from, oldest first: stored rows (hour rows, then
   * minute rows), then the ring. Short ranges (up to twice the ring's span) read the ring
   * wherever it reaches; longer ones read minute rows up to the last minute rolled up (and
   * beyond their retention hour rows), and the ring only for the minute under way.
   */
  private segments(from: number, to: number): { resolutionMs: number; parts: Array<{ res: number | 'ring'; a: number; b: number }> } {
    const range = to - from;
    const parts: Array<{ res: number | 'ring'; a: number; b: number }> = [];
    const add = (res: number | 'ring', a: number, b: number) => { if (b > a) parts.push({ res, a, b }); };
    if (range <= 2 * this.points * this.stepMs) {
      const rs = Math.max(from, this.ringStart());
      add(MINUTE, from, Math.min(to, rs));
      add('ring', rs, to);
      return { resolutionMs: this.stepMs, parts };
    }
    const ringFrom = Math.max(from, this.lastMinute || this.ringStart());
    if (range <= this.minuteKeepMs) {
      add(MINUTE, from, Math.min(to, ringFrom));
      add('ring', ringFrom, to);
      return { resolutionMs: MINUTE, parts };
    }
    const hourEnd = Math.min(to, ringFrom, Math.max(from, this.lastHour));
    add(HOUR, from, hourEnd);
    add(MINUTE, hourEnd, Math.min(to, ringFrom));
    add('ring', ringFrom, to);
    return { resolutionMs: HOUR, parts };
  }

  nodeSeries(nodeId: string, from: number, to: number): NodeSeries {
    const plan = this.segments(from, to);
    const out = emptySeries(SERIES_COLUMNS, from, to, plan.resolutionMs) as NodeSeries;
    const push = (t: number, v: Record<SeriesColumn, number | null>) => {
      out.t.push(t);
      for (const c of SERIES_COLUMNS) out[c].push(v[c]);
    };
    const ring = this.rings.get(nodeId);
    for (const part of plan.parts) {
      if (part.res !== 'ring') {
        const res = part.res;
        for (const r of this.s.nodeRows!.all(nodeId, res, part.a, part.b) as HistoryRow[]) {
          push(r.t, {
            temp: r.temp_avg, tempMax: r.temp_max, load: r.load, mem: r.mem_min, battery: r.battery, throttled: r.throttled, state: r.state,
            tasksPerMin: round(r.tasks * (MINUTE / res)), online: r.online, fuelRate: r.fuel_rate, reputation: r.reputation,
          });
        }
        continue;
      }
      if (!ring) continue;
      for (const i of this.indices(part.a, part.b)) push(this.times[i]!, this.nodePoint(ring, i));
    }
    return out;
  }

  private nodePoint(ring: Float32Array, i: number): Record<SeriesColumn, number | null> {
    const P = this.points;
    const tc = round(nn(ring[F_TEMP * P + i]!));
    return {
      temp: tc, tempMax: tc, load: round(nn(ring[F_LOAD * P + i]!)), mem: nn(ring[F_MEM * P + i]!), battery: round(nn(ring[F_BATT * P + i]!)),
      throttled: nn(ring[F_THR * P + i]!), state: nn(ring[F_STATE * P + i]!), tasksPerMin: ring[F_TASKS * P + i]! * (MINUTE / this.stepMs),
      online: ring[F_ONLINE * P + i]!, fuelRate: round(nn(ring[F_FUEL * P + i]!), 0), reputation: round(nn(ring[F_REP * P + i]!), 4),
    };
  }

  private fleetPoint(i: number): Record<FleetColumn, number | null> {
    const P = this.points;
    let nodes = 0, online = 0, tSum = 0, tN = 0, tMax = NaN, tasks = 0, hot = 0, critical = 0, thr = 0;
    for (const ring of this.rings.values()) {
      const on = ring[F_ONLINE * P + i]!;
      const tk = ring[F_TASKS * P + i]!;
      const tc = ring[F_TEMP * P + i]!;
      // NaN: this node's ring began after that bucket; 0s and no temperature: nothing to count.
      if (Number.isNaN(on) || (on === 0 && tk === 0 && Number.isNaN(tc))) continue;
      nodes++;
      online += on;
      tasks += tk;
      if (!Number.isNaN(tc)) { tSum += tc; tN++; tMax = Number.isNaN(tMax) ? tc : Math.max(tMax, tc); }
      const st = ring[F_STATE * P + i]!;
      if (st >= 2) hot++;
      if (st >= 3) critical++;
      if (ring[F_THR * P + i]! > 0) thr++;
    }
    return { nodes, online, tempAvg: round(tN ? tSum / tN : null), tempMax: round(nn(tMax)), tasksPerMin: tasks * (MINUTE / this.stepMs), hot, critical, throttled: thr };
  }

  /**
   * The bucket closed last: the fleet's point and each node's (columns in SERIES_COLUMNS
   * order), for the live push. Nodes with nothing in it are left out.
   */
  latest(): { t: number; stepMs: number; fleet: Record<FleetColumn, number | null>; nodes: Record<string, Array<number | null>> } | null {
    const i = (this.head + this.points - 1) % this.points;
    const t = this.times[i]!;
    if (Number.isNaN(t)) return null;
    const nodes: Record<string, Array<number | null>> = {};
    const P = this.points;
    for (const [id, ring] of this.rings) {
      const on = ring[F_ONLINE * P + i]!;
      if (Number.isNaN(on) || (on === 0 && ring[F_TASKS * P + i] === 0 && Number.isNaN(ring[F_TEMP * P + i]!))) continue;
      const v = this.nodePoint(ring, i);
      nodes[id] = SERIES_COLUMNS.map((c) => v[c]);
    }
    return { t, stepMs: this.stepMs, fleet: this.fleetPoint(i), nodes };
  }

  fleetSeries(from: number, to: number): FleetSeries {
    const plan = this.segments(from, to);
    const out = emptySeries(FLEET_COLUMNS, from, to, plan.resolutionMs) as FleetSeries;
    const push = (t: number, v: Record<FleetColumn, number | null>) => {
      out.t.push(t);
      for (const c of FLEET_COLUMNS) out[c].push(v[c]);
    };
    for (const part of plan.parts) {
      if (part.res !== 'ring') {
        const res = part.res;
        for (const r of this.s.fleetRows!.all(res, part.a, part.b) as Array<{ t: number; nodes: number; online: number; temp_avg: number | null; temp_max: number | null; tasks: number; hot: number; critical: number; throttled: number }>) {
          push(r.t, { nodes: r.nodes, online: round(r.online), tempAvg: round(r.temp_avg), tempMax: round(r.temp_max), tasksPerMin: round(r.tasks * (MINUTE / res)), hot: r.hot, critical: r.critical, throttled: r.throttled });
        }
        continue;
      }
      for (const i of this.indices(part.a, part.b)) push(this.times[i]!, this.fleetPoint(i));
    }
    return out;
  }

  /** Nodes with a ring, and the bytes their rings hold. */
  memory(): { nodes: number; bytes: number } {
    return { nodes: this.rings.size, bytes: this.rings.size * FIELDS * this.points * 4 + this.points * 8 };
  }
}

function emptySeries(cols: readonly string[], from: number, to: number, resolutionMs: number): Record<string, unknown> {
  const o: Record<string, unknown> = { from, to, resolutionMs, t: [] };
  for (const c of cols) o[c] = [];
  return o;
}
