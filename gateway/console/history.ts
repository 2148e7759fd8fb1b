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
import type { CapacityAdvert } from '../../protocol/messages.js';
import type { Logger } from '../../util/log.js';
import type { Db } from '../sqlite.js';
import {
  FIELDS, FLEET_COLUMNS, HOUR, MINUTE, SERIES_COLUMNS, accAdvert, bucketHasData, fleetPoint, minuteSummary, newAcc, newRing, nodePoint, round,
  writeAbsent, writeBucket, type Acc, type FleetColumn, type MinuteSummary, type SeriesColumn,
} from './history-ring.js';
import { HistoryRows } from './history-rows.js';

export { FLEET_COLUMNS, SERIES_COLUMNS, type FleetColumn, type SeriesColumn } from './history-ring.js';

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

export type NodeSeries = { from: number; to: number; resolutionMs: number; t: number[] } & Record<SeriesColumn, Array<number | null>>;
export type FleetSeries = { from: number; to: number; resolutionMs: number; t: number[] } & Record<FleetColumn, Array<number | null>>;

export const RANGES: Record<string, number> = { '15m': 15 * MINUTE, '1h': HOUR, '6h': 6 * HOUR, '24h': 24 * HOUR, '7d': 7 * 24 * HOUR, '30d': 30 * 24 * HOUR };

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
  private readonly rows: HistoryRows;
  /** Time of the last minute and hour rolled up (so a late tick does not roll up twice). */
  private lastMinute = 0;
  private lastHour = 0;
  /** Last rollup's cost, for the benchmark and /metrics. */
  lastRollup = { rows: 0, ms: 0 };
  /** Called after each bucket closes (the console pushes the new points live). */
  onTick: (() => void) | null = null;

  constructor(db: Db, private readonly source: HistorySource, o: HistoryOptions = {}, private readonly log?: Logger) {
    this.stepMs = o.stepMs ?? 5000;
    this.points = o.points ?? 240;
    this.minuteKeepMs = o.minuteKeepMs ?? 12 * HOUR;
    this.hourKeepMs = o.hourKeepMs ?? 30 * 24 * HOUR;
    if (!Number.isInteger(this.stepMs) || this.stepMs < 100 || MINUTE % this.stepMs !== 0) throw new Error('history stepMs must be a whole number of ms from 100 that divides a minute');
    if (!Number.isInteger(this.points) || this.points < 12 || this.points > 100_000) throw new Error('history points must be an integer from 12 to 100000');
    if (this.points * this.stepMs < MINUTE) throw new Error('the history ring must span at least a minute');
    this.times = new Float64Array(this.points).fill(NaN);
    this.rows = new HistoryRows(db);
    const last = this.rows.lastHour();
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
    accAdvert(x, a);
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
      writeAbsent(ring, this.points, idx);
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
      ring = newRing(this.points);
      this.rings.set(id, ring);
    }
    if (has) this.lastData.set(id, this.ticks);
    writeBucket(ring, this.points, idx, online, advert, x, has ? this.source.reputation(id) : NaN);
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
    const P = this.points;
    const rings = this.rings;
    function* summaries(): Generator<[string, MinuteSummary]> {
      for (const [id, ring] of rings) {
        const m = minuteSummary(ring, P, idx);
        if (m) yield [id, m];
      }
    }
    const rows = this.rows.insertMinute(from, summaries());
    this.lastMinute = end;
    this.lastRollup = { rows, ms: performance.now() - started };
  }

  private rollupHour(end: number): void {
    this.rows.rollupHour(end - HOUR);
    this.lastHour = end;
  }

  private prune(now: number): void {
    this.rows.prune(now, this.minuteKeepMs, this.hourKeepMs);
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
        for (const r of this.rows.node(nodeId, res, part.a, part.b)) {
          push(r.t, {
            temp: r.temp_avg, tempMax: r.temp_max, load: r.load, mem: r.mem_min, battery: r.battery, throttled: r.throttled, state: r.state,
            tasksPerMin: round(r.tasks * (MINUTE / res)), online: r.online, fuelRate: r.fuel_rate, reputation: r.reputation,
          });
        }
        continue;
      }
      if (!ring) continue;
      for (const i of this.indices(part.a, part.b)) push(this.times[i]!, nodePoint(ring, this.points, i, this.stepMs));
    }
    return out;
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
    for (const [id, ring] of this.rings) {
      if (!bucketHasData(ring, this.points, i)) continue;
      const v = nodePoint(ring, this.points, i, this.stepMs);
      nodes[id] = SERIES_COLUMNS.map((c) => v[c]);
    }
    return { t, stepMs: this.stepMs, fleet: fleetPoint(this.rings.values(), this.points, i, this.stepMs), nodes };
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
        for (const r of this.rows.fleet(res, part.a, part.b)) {
          push(r.t, { nodes: r.nodes, online: round(r.online), tempAvg: round(r.temp_avg), tempMax: round(r.temp_max), tasksPerMin: round(r.tasks * (MINUTE / res)), hot: r.hot, critical: r.critical, throttled: r.throttled });
        }
        continue;
      }
      for (const i of this.indices(part.a, part.b)) push(this.times[i]!, fleetPoint(this.rings.values(), this.points, i, this.stepMs));
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
