/**
 * Dashboard sessions: a browser logs in once with a token (or a one-time login code) and
 * gets a random session id in an HttpOnly, SameSite=Strict cookie; the gateway keeps only
 * a hash of it, in memory (a restart logs browsers out). A session ends when it expires,
 * on logout, or as soon as the token it was made from is revoked. Counts are bounded: the
 * oldest session or code goes when a new one would pass the cap.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Principal } from './roles.js';

export const SESSION_COOKIE = 'swarmlet_session';
const DEFAULT_TTL_MS = 12 * 3600_000;
const MAX_SESSIONS = 10_000;
const MAX_CODES = 100;

interface Entry { principal: Principal; expires: number }

const key = (secret: string) => createHash('sha256').update(secret).digest('hex');

export class Sessions {
  private readonly sessions = new Map<string, Entry>();
  private readonly codes = new Map<string, Entry>();

  constructor(private readonly o: { ttlMs?: number; isLive(tokenId: string): boolean }) {}

  get ttlMs(): number {
    return this.o.ttlMs ?? DEFAULT_TTL_MS;
  }

  /** A new session for `p`; returns the cookie value. */
  create(p: Principal, now = Date.now()): string {
    const secret = randomBytes(32).toString('base64url');
    put(this.sessions, key(secret), { principal: { ...p, via: 'session' }, expires: now + this.ttlMs }, MAX_SESSIONS);
    return secret;
  }

  get(secret: string, now = Date.now()): Principal | null {
    if (!/^[A-Za-z0-9_-]{43}$/.test(secret)) return null;
    const k = key(secret);
    const e = this.sessions.get(k);
    if (!e) return null;
    if (e.expires <= now || !this.o.isLive(e.principal.id)) {
      this.sessions.delete(k);
      return null;
    }
    return e.principal;
  }

  end(secret: string): void {
    this.sessions.delete(key(secret));
  }

  /** A code that logs a browser in once as `p` within ttlMs (the one-time link `swarmlet up` prints). */
  loginCode(p: Principal, ttlMs: number, now = Date.now()): string {
    const code = randomBytes(24).toString('base64url');
    put(this.codes, key(code), { principal: p, expires: now + ttlMs }, MAX_CODES);
    return code;
  }

  redeem(code: string, now = Date.now()): Principal | null {
    const k = key(code);
    const e = this.codes.get(k);
    this.codes.delete(k);
    if (!e || e.expires <= now || !this.o.isLive(e.principal.id)) return null;
    return e.principal;
  }
}

function put(m: Map<string, Entry>, k: string, e: Entry, cap: number): void {
  while (m.size >= cap) m.delete(m.keys().next().value!);
  m.set(k, e);
}
