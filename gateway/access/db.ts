/**
 * The access database: its own SQLite file beside the gateway's store (`access.sqlite` in
 * the data folder), so operator tokens and job ownership never touch the store's
 * migrations. The CLI (`swarmlet token`) writes it while the gateway runs (WAL: readers
 * and one writer at a time, busy timeout 5 s); the gateway reads tokens from it on every
 * request, so a token created or revoked takes effect at once.
 */
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type Db } from '../sqlite.js';

export function accessDbPath(dataDir: string): string {
  return join(dataDir, 'access.sqlite');
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS operator_tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    last_used_at INTEGER,
    revoked_at INTEGER
  );
  CREATE TABLE IF NOT EXISTS job_owners (
    job_id TEXT PRIMARY KEY,
    operator TEXT NOT NULL,
    tasks INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX IF NOT EXISTS job_owners_operator ON job_owners(operator);
`;

export function openAccessDb(dataDir: string): Db {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = accessDbPath(dataDir);
  const fresh = !existsSync(path);
  const db = connect(path);
  if (fresh) chmodSync(path, 0o600); // token hashes are not secrets, but names and roles are nobody else's business
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL'); // rare writes; a created or revoked token must survive power loss
  db.exec(SCHEMA);
  return db;
}
