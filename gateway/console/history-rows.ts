/**
 * History's stored rows (the `node_history` table): one row per node per minute, rolled up
 * into one per node per hour, each kept for its retention. Every statement is prepared once.
 */
import type { Db, Statement } from '../sqlite.js';
import { HOUR, MINUTE, type MinuteSummary } from './history-ring.js';

export interface HistoryRow {
  node_id: string; t: number; temp_avg: number | null; temp_max: number | null; load: number | null; mem_min: number | null;
  battery: number | null; throttled: number | null; state: number | null; tasks: number; online: number; fuel_rate: number | null; reputation: number | null;
}

export interface FleetRow {
  t: number; nodes: number; online: number; temp_avg: number | null; temp_max: number | null; tasks: number; hot: number; critical: number; throttled: number;
}

export class HistoryRows {
  private readonly ins: Statement;
  private readonly hour: Statement;
  private readonly pruneRes: Statement;
  private readonly nodeRows: Statement;
  private readonly fleetRows: Statement;
  private readonly lastHourRow: Statement;

  constructor(private readonly db: Db) {
    const p = (sql: string) => db.prepare(sql);
    this.ins = p(`INSERT OR REPLACE INTO node_history (node_id, res, t, temp_avg, temp_max, load, mem_min, battery, throttled, state, tasks, online, fuel_rate, reputation)
      VALUES (?, ${MINUTE}, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    // An hour: means of means, extremes of extremes, any throttle bit seen, tasks summed.
    this.hour = p(`INSERT OR REPLACE INTO node_history (node_id, res, t, temp_avg, temp_max, load, mem_min, battery, throttled, state, tasks, online, fuel_rate, reputation)
      SELECT node_id, ${HOUR}, ?, AVG(temp_avg), MAX(temp_max), AVG(load), MIN(mem_min), MIN(battery),
        MAX(throttled & 1) | MAX(throttled & 2) | MAX(throttled & 4) | MAX(throttled & 8), MAX(state), SUM(tasks), AVG(online), AVG(fuel_rate), AVG(reputation)
      FROM node_history WHERE res = ${MINUTE} AND t >= ? AND t < ? GROUP BY node_id`);
    this.pruneRes = p('DELETE FROM node_history WHERE res = ? AND t < ?');
    this.nodeRows = p('SELECT * FROM node_history WHERE node_id = ? AND res = ? AND t >= ? AND t < ? ORDER BY t');
    this.fleetRows = p(`SELECT t, COUNT(*) AS nodes, SUM(online) AS online, AVG(temp_avg) AS temp_avg, MAX(temp_max) AS temp_max, SUM(tasks) AS tasks,
      SUM(CASE WHEN state >= 2 THEN 1 ELSE 0 END) AS hot, SUM(CASE WHEN state >= 3 THEN 1 ELSE 0 END) AS critical,
      SUM(CASE WHEN throttled > 0 THEN 1 ELSE 0 END) AS throttled
      FROM node_history WHERE res = ? AND t >= ? AND t < ? GROUP BY t ORDER BY t`);
    this.lastHourRow = p(`SELECT MAX(t) AS t FROM node_history WHERE res = ${HOUR}`);
  }

  /** Start of the last hour rolled up, or null when there is none. */
  lastHour(): number | null {
    return (this.lastHourRow.get() as { t: number | null } | undefined)?.t ?? null;
  }

  /** Write one minute's rows, all in one transaction; returns how many. */
  insertMinute(from: number, rows: Iterable<[nodeId: string, s: MinuteSummary]>): number {
    let n = 0;
    this.db.transaction(() => {
      for (const [id, s] of rows) {
        this.ins.run(id, from, s.tempAvg, s.tempMax, s.load, s.memMin, s.battery, s.throttled, s.state, s.tasks, s.online, s.fuelRate, s.reputation);
        n++;
      }
    })();
    return n;
  }

  /** Roll the minute rows of the hour [from, from + 1 h) up into hour rows. */
  rollupHour(from: number): void {
    this.hour.run(from, from, from + HOUR);
  }

  /** Delete rows past their retention. */
  prune(now: number, minuteKeepMs: number, hourKeepMs: number): void {
    this.pruneRes.run(MINUTE, now - minuteKeepMs);
    this.pruneRes.run(HOUR, now - hourKeepMs);
  }

  node(nodeId: string, res: number, from: number, to: number): HistoryRow[] {
    return this.nodeRows.all(nodeId, res, from, to) as HistoryRow[];
  }

  fleet(res: number, from: number, to: number): FleetRow[] {
    return this.fleetRows.all(res, from, to) as FleetRow[];
  }
}
