/**
 * The registry's tables, in the gateway's own SQLite store (its own tables, created if
 * missing, so the store's migrations stay untouched): one row per module (by sha256, the
 * bytes stored once) and one per published `name@version`, which is immutable once
 * written. Module bytes are read from the database when needed (announcing, re-execution),
 * never all held in memory.
 */
import type { Db, Statement } from '../sqlite.js';
import type { TaskLayout } from '../../protocol/layout.js';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS registry_modules (
    hash TEXT PRIMARY KEY,
    wasm BLOB NOT NULL,
    size INTEGER NOT NULL,
    admitted_at INTEGER NOT NULL
  );
  CREATE TABLE IF NOT EXISTS registry_versions (
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    hash TEXT NOT NULL REFERENCES registry_modules(hash),
    description TEXT NOT NULL,
    layout TEXT,
    published_at INTEGER NOT NULL,
    published_by TEXT NOT NULL,
    PRIMARY KEY (name, version)
  );
  CREATE INDEX IF NOT EXISTS registry_versions_hash ON registry_versions(hash);
`;

export interface VersionRow {
  name: string; version: string; hash: string; description: string; layout: string | null;
  published_at: number; published_by: string; size: number;
}

export interface NewVersion {
  name: string; version: string; hash: string; wasm: Uint8Array; description: string; layout: TaskLayout | null; by: string; at: number;
}

const COLS = 'v.name, v.version, v.hash, v.description, v.layout, v.published_at, v.published_by, m.size';

export class RegistryTables {
  private readonly s: Record<string, Statement>;

  constructor(private readonly db: Db) {
    db.exec(SCHEMA);
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      version: p(`SELECT ${COLS} FROM registry_versions v JOIN registry_modules m ON m.hash = v.hash WHERE v.name = ? AND v.version = ?`),
      latest: p(`SELECT ${COLS} FROM registry_versions v JOIN registry_modules m ON m.hash = v.hash WHERE v.name = ? ORDER BY v.published_at DESC, v.rowid DESC LIMIT 1`),
      byHash: p(`SELECT ${COLS} FROM registry_versions v JOIN registry_modules m ON m.hash = v.hash WHERE v.hash = ? ORDER BY v.published_at LIMIT 1`),
      list: p(`SELECT ${COLS} FROM registry_versions v JOIN registry_modules m ON m.hash = v.hash ORDER BY v.published_at DESC, v.rowid DESC LIMIT ?`),
      wasm: p('SELECT wasm FROM registry_modules WHERE hash = ?'),
      hashes: p('SELECT hash FROM registry_modules ORDER BY admitted_at'),
      totals: p('SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS bytes FROM registry_modules'),
      insModule: p('INSERT INTO registry_modules (hash, wasm, size, admitted_at) VALUES (?, ?, ?, ?) ON CONFLICT(hash) DO NOTHING'),
      insVersion: p('INSERT INTO registry_versions (name, version, hash, description, layout, published_at, published_by) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    };
  }

  version(name: string, version: string): VersionRow | undefined {
    return this.s.version!.get(name, version) as VersionRow | undefined;
  }

  /** The most recently published version of a name. */
  latest(name: string): VersionRow | undefined {
    return this.s.latest!.get(name) as VersionRow | undefined;
  }

  /** The first version published with these bytes. */
  byHash(hex: string): VersionRow | undefined {
    return this.s.byHash!.get(hex) as VersionRow | undefined;
  }

  list(limit: number): VersionRow[] {
    return this.s.list!.all(limit) as VersionRow[];
  }

  wasm(hex: string): Uint8Array | undefined {
    const r = this.s.wasm!.get(hex) as { wasm: Buffer } | undefined;
    return r ? new Uint8Array(r.wasm.buffer, r.wasm.byteOffset, r.wasm.byteLength) : undefined;
  }

  hashes(): string[] {
    return (this.s.hashes!.all() as Array<{ hash: string }>).map((r) => r.hash);
  }

  totals(): { modules: number; bytes: number } {
    const r = this.s.totals!.get() as { n: number; bytes: number };
    return { modules: r.n, bytes: r.bytes };
  }

  /** Store a version (and its bytes, unless already stored), in one transaction. */
  insert(v: NewVersion): void {
    this.db.transaction(() => {
      this.s.insModule!.run(v.hash, Buffer.from(v.wasm.buffer, v.wasm.byteOffset, v.wasm.byteLength), v.wasm.length, v.at);
      this.s.insVersion!.run(v.name, v.version, v.hash, v.description, v.layout ? JSON.stringify(v.layout) : null, v.at, v.by);
    })();
  }
}
