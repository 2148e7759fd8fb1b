/**
 * The console's own tables in the gateway's SQLite file. They are created with IF NOT
 * EXISTS rather than as a numbered migration: they hold nothing the rest of the gateway
 * reads, and a gateway without them (older, or newer with them dropped) loses only charts.
 *
 * node_history: one row per node per rollup bucket (res = bucket length in ms: a minute
 * or an hour), written once a minute for every node seen in it (one transaction), kept
 * for a bounded time (history.ts).
 * console_node_flags: what an operator set on a node that must survive a restart (drained).
 */
import type { Db } from '../sqlite.js';

export function ensureConsoleTables(db: Db): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS node_history (
      node_id TEXT NOT NULL, res INTEGER NOT NULL, t INTEGER NOT NULL,
      temp_avg REAL, temp_max REAL, load REAL, mem_min REAL, battery REAL, throttled INTEGER, state INTEGER,
      tasks INTEGER NOT NULL, online REAL NOT NULL, fuel_rate REAL, reputation REAL,
      PRIMARY KEY (node_id, res, t)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS node_history_t ON node_history(res, t);
    CREATE TABLE IF NOT EXISTS console_node_flags (
      node_id TEXT PRIMARY KEY, drained INTEGER NOT NULL DEFAULT 0, updated_at INTEGER NOT NULL
    );
  `);
}
