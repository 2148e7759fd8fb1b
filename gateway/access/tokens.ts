/**
 * Operator API tokens: `swt_<id>_<secret>` with a 256-bit random secret. Only a SHA-256 of
 * the whole token is stored (a fast hash is enough for a secret of that entropy); the
 * plaintext is shown once, when it is made. Lookup is by id, then a constant-time compare
 * of the hash, so a wrong token costs one hash and one indexed read.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db, Statement } from '../sqlite.js';
import { isRole, type Principal, type Role } from './roles.js';

export interface TokenInfo {
  id: string;
  name: string;
  role: Role;
  createdAt: number;
  expiresAt: number | null;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

interface Row { id: string; name: string; role: string; hash: string; created_at: number; expires_at: number | null; last_used_at: number | null; revoked_at: number | null }

const TOKEN_RE = /^swt_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;
export const NAME_RE = /^[A-Za-z0-9._@-]{1,64}$/;
/** How often a token's last-used time is written at most (it would otherwise be a write per request). */
const TOUCH_EVERY_MS = 60_000;

const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');

export class TokenStore {
  private readonly byId: Statement<[string], Row>;
  private readonly touched = new Map<string, number>();

  constructor(private readonly db: Db) {
    this.byId = db.prepare('SELECT * FROM operator_tokens WHERE id = ?');
  }

  /** A new token; the plaintext is returned once and never stored. */
  create(name: string, role: Role, opts: { expiresAt?: number | null; now?: number } = {}): { token: string; info: TokenInfo } {
    if (!NAME_RE.test(name)) throw new Error('token name: 1..64 of A-Z a-z 0-9 . _ @ -');
    if (!isRole(role)) throw new Error(`role must be viewer, operator or admin, got ${JSON.stringify(role)}`);
    const live = this.db.prepare<[string], { id: string }>('SELECT id FROM operator_tokens WHERE name = ? AND revoked_at IS NULL').get(name);
    if (live) throw new Error(`a live token named ${name} exists (${live.id}); revoke it first or pick another name`);
    const id = randomBytes(6).toString('hex');
    const token = `swt_${id}_${randomBytes(32).toString('base64url')}`;
    const now = opts.now ?? Date.now();
    this.db.prepare('INSERT INTO operator_tokens (id, name, role, hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(id, name, role, hashOf(token), now, opts.expiresAt ?? null);
    return { token, info: info(this.byId.get(id)!) };
  }

  list(): TokenInfo[] {
    return this.db.prepare<[], Row>('SELECT * FROM operator_tokens ORDER BY created_at, id').all().map(info);
  }

  /** Revoke by id or by the name of a live token; false when there is no such live token. */
  revoke(idOrName: string, now = Date.now()): TokenInfo | null {
    const row = this.byId.get(idOrName) ?? this.db.prepare<[string], Row>('SELECT * FROM operator_tokens WHERE name = ? AND revoked_at IS NULL').get(idOrName);
    if (!row || row.revoked_at !== null) return null;
    this.db.prepare('UPDATE operator_tokens SET revoked_at = ? WHERE id = ?').run(now, row.id);
    return info(this.byId.get(row.id)!);
  }

  /** The principal a token stands for, or null (malformed, unknown, wrong secret, revoked, expired). */
  verify(token: string, now = Date.now()): Principal | null {
    const m = TOKEN_RE.exec(token);
    if (!m) return null;
    const row = this.byId.get(m[1]!);
    if (!row || !timingSafeEqual(Buffer.from(row.hash, 'hex'), Buffer.from(hashOf(token), 'hex'))) return null;
    if (!this.usable(row, now)) return null;
    const last = this.touched.get(row.id) ?? 0;
    if (now - last >= TOUCH_EVERY_MS) {
      this.touched.set(row.id, now);
      try { this.db.prepare('UPDATE operator_tokens SET last_used_at = ? WHERE id = ?').run(now, row.id); } catch { /* busy: a later request writes it */ }
    }
    return { id: row.id, name: row.name, role: row.role as Role, via: 'token' };
  }

  /** Is the token with this id still live (sessions made from it end when it is revoked)? */
  live(id: string, now = Date.now()): boolean {
    const row = this.byId.get(id);
    return !!row && this.usable(row, now);
  }

  private usable(row: Row, now: number): boolean {
    return row.revoked_at === null && (row.expires_at === null || row.expires_at > now) && isRole(row.role);
  }
}

function info(r: Row): TokenInfo {
  return { id: r.id, name: r.name, role: r.role as Role, createdAt: r.created_at, expiresAt: r.expires_at, lastUsedAt: r.last_used_at, revokedAt: r.revoked_at };
}
