/**
 * Opening the gateway's SQLite file: better-sqlite3 in WAL mode with versioned migrations.
 *
 * better-sqlite3 ships no type declarations and we may not add packages, so it is loaded
 * through createRequire and typed here with only the calls the gateway makes (a global
 * `declare module` could clash with another part that brings its own typings).
 *
 * Durability ('full', the default): every commit whose effects leave the gateway (acks,
 * assignments, batch headers, a finished job) waits for an fdatasync of the write-ahead
 * log before they do, so "acknowledged only after stored" holds across power loss, not
 * only a killed process. SQLite's own per-commit fsync (synchronous=FULL) would block the
 * event loop ~3 ms per commit; instead SQLite runs with synchronous=NORMAL (WAL frames
 * are written at commit, checkpoints are synced) and WalSync fdatasyncs the log on the
 * thread pool, one sync covering every commit made before it started (group commit).
 * 'normal' skips the wait: a power cut may lose the last commits (never corrupts).
 */
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

export interface RunResult { changes: number; lastInsertRowid: number | bigint }
export interface Statement<P extends unknown[] = unknown[], R = unknown> {
  run(...params: P): RunResult;
  get(...params: P): R | undefined;
  all(...params: P): R[];
}
export interface Db {
  prepare<P extends unknown[] = unknown[], R = unknown>(sql: string): Statement<P, R>;
  exec(sql: string): void;
  pragma(sql: string, opts?: { simple?: boolean }): unknown;
  transaction<A extends unknown[], T>(fn: (...args: A) => T): (...args: A) => T;
  close(): void;
  readonly open: boolean;
}
type DbCtor = new (file: string, opts?: { timeout?: number }) => Db;

const require = createRequire(import.meta.url);
let Database: DbCtor | undefined;
/**
 * better-sqlite3 is an optional dependency (a native addon a device agent never needs, and
 * may have no compiler for): loaded on first use, with a clear error when it is missing.
 */
function databaseClass(): DbCtor {
  if (Database) return Database;
  try {
    return (Database = require('better-sqlite3') as DbCtor);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(code === 'MODULE_NOT_FOUND'
      ? 'the gateway needs better-sqlite3, which is not installed (it is optional so that agent installs need no compiler): npm install better-sqlite3@12'
      : `better-sqlite3 does not load on this machine: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** Each entry runs once, in order; the applied count is kept in `PRAGMA user_version`. */
const MIGRATIONS: string[] = [
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE nodes (
    node_id TEXT PRIMARY KEY,
    region TEXT,
    online INTEGER NOT NULL DEFAULT 0,
    state TEXT, temp_c REAL, slots INTEGER, free_slots INTEGER, fuel_rate REAL, headroom REAL,
    price_floor REAL, location TEXT, profile TEXT,
    reputation REAL NOT NULL DEFAULT 0.5,
    quarantined INTEGER NOT NULL DEFAULT 0,
    good INTEGER NOT NULL DEFAULT 0,
    bad INTEGER NOT NULL DEFAULT 0,
    last_seen INTEGER,
    chain_seq INTEGER NOT NULL DEFAULT 0,
    chain_head BLOB
  );
  CREATE TABLE jobs (
    id TEXT PRIMARY KEY, task_name TEXT NOT NULL, module_hash TEXT NOT NULL,
    redundancy INTEGER NOT NULL, spot_check REAL NOT NULL, max_price REAL NOT NULL,
    region TEXT NOT NULL, deadline INTEGER NOT NULL, fuel_limit INTEGER NOT NULL,
    state TEXT NOT NULL, error TEXT, created_at INTEGER NOT NULL, finished_at INTEGER,
    n_tasks INTEGER NOT NULL
  );
  CREATE INDEX jobs_state ON jobs(state);
  CREATE TABLE tasks (
    id TEXT PRIMARY KEY, job_id TEXT NOT NULL, idx INTEGER NOT NULL,
    input BLOB NOT NULL, input_hash BLOB NOT NULL, spot INTEGER NOT NULL,
    state TEXT NOT NULL, output BLOB, output_hash TEXT, ok INTEGER, error TEXT,
    node_id TEXT, receipt_id TEXT, verified INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX tasks_job ON tasks(job_id, idx);
  CREATE TABLE attempts (
    task_id TEXT NOT NULL, attempt INTEGER NOT NULL, node_id TEXT NOT NULL,
    offer_id TEXT NOT NULL, price REAL NOT NULL, lease_until INTEGER NOT NULL,
    state TEXT NOT NULL, ok INTEGER, output BLOB, output_hash TEXT, error_kind TEXT,
    receipt_id TEXT, fuel INTEGER,
    PRIMARY KEY (task_id, attempt)
  );
  CREATE INDEX attempts_node ON attempts(node_id, state);
  CREATE TABLE receipts (
    id TEXT PRIMARY KEY, node_id TEXT NOT NULL, seq INTEGER NOT NULL,
    task_id TEXT NOT NULL, job_id TEXT NOT NULL, envelope BLOB NOT NULL,
    fuel INTEGER NOT NULL, status TEXT NOT NULL, reason TEXT,
    batch_no INTEGER, leaf INTEGER, accepted_at INTEGER NOT NULL
  );
  CREATE UNIQUE INDEX receipts_chain ON receipts(node_id, seq);
  CREATE INDEX receipts_batch ON receipts(batch_no, leaf);
  CREATE TABLE batches (
    batch_no INTEGER PRIMARY KEY, header BLOB NOT NULL, header_id TEXT NOT NULL,
    merkle_root TEXT NOT NULL, count INTEGER NOT NULL, fuel_total INTEGER NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE ledger (
    receipt_id TEXT PRIMARY KEY, job_id TEXT NOT NULL, task_id TEXT NOT NULL,
    node_id TEXT NOT NULL, fuel INTEGER NOT NULL, price REAL NOT NULL, credits REAL NOT NULL,
    voided INTEGER NOT NULL DEFAULT 0, at INTEGER NOT NULL,
    UNIQUE (task_id, node_id)
  );
  CREATE INDEX ledger_job ON ledger(job_id);
  CREATE INDEX ledger_node ON ledger(node_id);
  `,
  // 2: result checking (issue 11): a job's delivery mode, and revisions of finished results
  // after their node was caught cheating.
  `
  ALTER TABLE jobs ADD COLUMN delivery TEXT NOT NULL DEFAULT 'fast';
  CREATE TABLE revisions (
    id INTEGER PRIMARY KEY, job_id TEXT NOT NULL, node_id TEXT NOT NULL, at INTEGER NOT NULL,
    tasks TEXT NOT NULL, state TEXT NOT NULL, changed TEXT, finished_at INTEGER
  );
  CREATE INDEX revisions_job ON revisions(job_id);
  `,
];

/**
 * Group commit for the WAL: `after(fn)` runs fn once an fdatasync of the log that started
 * after the call has finished. Syncs run one at a time off the main thread; callbacks
 * queued meanwhile share the next one. A failed sync runs none of its callbacks (their
 * effects must not leave unsynced), rejects its synced() waiters and is reported through
 * onError; the next sync tries again.
 */
export class WalSync {
  private fh: Promise<FileHandle> | null = null;
  private waiting: Array<{ ok: () => void; fail?: (e: Error) => void }> = [];
  private running = false;
  private scheduled = false;
  private closed = false;
  private idle: Array<() => void> = [];
  syncs = 0;

  constructor(private readonly walPath: string, private readonly onError: (e: Error) => void = () => {}) {}

  after(fn: () => void, fail?: (e: Error) => void): void {
    if (this.closed) return;
    this.waiting.push({ ok: fn, fail });
    this.kick();
  }

  /** Resolves once everything committed before the call is on disk; rejects if that sync failed. */
  synced(): Promise<void> {
    return new Promise((resolve, reject) => (this.closed ? resolve() : this.after(resolve, reject)));
  }

  private kick(): void {
    if (this.running || this.scheduled || this.waiting.length === 0) return;
    // Start on the next tick: commits made in the same turn share this sync.
    this.scheduled = true;
    process.nextTick(() => { this.scheduled = false; void this.run(); });
  }

  private async run(): Promise<void> {
    if (this.running || this.waiting.length === 0) return;
    this.running = true;
    const batch = this.waiting;
    this.waiting = [];
    let err: Error | null = null;
    try {
      this.fh ??= open(this.walPath, 'r');
      await (await this.fh).datasync();
      this.syncs++;
    } catch (e) {
      err = e as Error;
      const old = this.fh;
      this.fh = null; // reopen next time
      void old?.then((h) => h.close()).catch(() => undefined);
      this.onError(err);
    }
    this.running = false;
    for (const w of batch) {
      if (!err) w.ok();
      else w.fail?.(err);
    }
    if (this.waiting.length) this.kick();
    else for (const f of this.idle.splice(0)) f();
  }

  /** Wait for the sync in flight (and what queued behind it), then stop. */
  async close(): Promise<void> {
    if (this.running || this.scheduled || this.waiting.length) await new Promise<void>((r) => this.idle.push(r));
    this.closed = true;
    const fh = this.fh;
    this.fh = null;
    if (fh) await (await fh).close().catch(() => undefined);
  }
}

/** A plain connection (openDatabase's, before its pragmas, and the checkpoint worker's). */
export function connect(path: string): Db {
  return new (databaseClass())(path, { timeout: 5000 });
}

export function dbPathOf(dataDir: string): string {
  return join(dataDir, 'gateway.sqlite');
}

export function walPathOf(dataDir: string): string {
  return join(dataDir, 'gateway.sqlite-wal');
}

export function openDatabase(dataDir: string): Db {
  mkdirSync(dataDir, { recursive: true });
  const db = connect(dbPathOf(dataDir));
  db.pragma('journal_mode = WAL');
  // Log syncs come from WalSync (see above) where durability asks for them.
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  const version = db.pragma('user_version', { simple: true }) as number;
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
  return db;
}
