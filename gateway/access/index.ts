/**
 * Operator access to a gateway's HTTP side: who may call what (tokens, sessions, roles),
 * from where (Host and Origin checks), and how much (quotas). `Access` holds the state;
 * `accessPlugin` (plugin.ts) enforces it on every route; `sessionRoutes` lets the
 * dashboard log in. See gateway/README.md, "Access".
 */
import type { Db } from '../sqlite.js';
import type { Logger } from '../../util/log.js';
import { openAccessDb } from './db.js';
import { allowedHostNames, isLoopback } from './hosts.js';
import { Quota, type QuotaDeps, type QuotaLimits } from './quota.js';
import type { Principal } from './roles.js';
import { Sessions } from './sessions.js';
import { TokenStore } from './tokens.js';

export { DEFAULT_QUOTA, Quota, QuotaError, type QuotaLimits } from './quota.js';
export { TokenStore, type TokenInfo } from './tokens.js';
export { ROLES, allows, isRole, type AccessLevel, type Principal, type Role } from './roles.js';
export { openAccessDb } from './db.js';

export interface AccessOptions {
  /** Require a token (or a dashboard session) on every route but /healthz and the dashboard's static files (default true). */
  auth?: boolean;
  /** Let anyone read what a viewer may read (nodes, jobs, batches, ledger, proofs, metrics); changes still need a role. */
  publicRead?: boolean;
  /** Host names besides loopback and the bound address that requests may be sent to (e.g. a reverse proxy's name). */
  allowedHosts?: string[];
  /** Allow a non-loopback bind with auth off (anyone who can reach the port is an admin). */
  insecureOpen?: boolean;
  /** Dashboard session lifetime (default 12 h). */
  sessionTtlMs?: number;
}

/** Refuse to expose an unauthenticated API beyond this machine unless told to. */
export function checkExposure(host: string, o: AccessOptions, log?: Logger): void {
  if (o.auth !== false || isLoopback(host)) return;
  if (!o.insecureOpen) {
    throw new Error(`refusing to listen on ${host} with operator auth off: anyone who reaches the port could revoke devices and submit jobs (turn auth on, bind 127.0.0.1, or pass --insecure-open)`);
  }
  log?.error({ host }, 'INSECURE: HTTP API open to the network without authentication (--insecure-open); anyone who reaches it is an admin');
}

export class Access {
  readonly auth: boolean;
  readonly publicRead: boolean;
  readonly tokens: TokenStore;
  readonly sessions: Sessions;
  readonly quota: Quota;
  private names: ReadonlySet<string>;
  private readonly extraHosts: string[];

  constructor(private readonly db: Db, o: AccessOptions, quota: { deps: QuotaDeps; limits?: Partial<QuotaLimits> }) {
    this.auth = o.auth !== false;
    this.publicRead = o.publicRead === true;
    this.extraHosts = o.allowedHosts ?? [];
    this.tokens = new TokenStore(db);
    this.sessions = new Sessions({ ttlMs: o.sessionTtlMs, isLive: (id) => !this.auth || this.tokens.live(id) });
    this.quota = new Quota(db, quota.deps, quota.limits);
    this.names = allowedHostNames('127.0.0.1', this.extraHosts);
  }

  static open(dataDir: string, o: AccessOptions, quota: { deps: QuotaDeps; limits?: Partial<QuotaLimits> }): Access {
    const db = openAccessDb(dataDir);
    try {
      return new Access(db, o, quota);
    } catch (e) {
      db.close();
      throw e;
    }
  }

  /** Called once the server listens: the names it answers to follow from the bound address. */
  bind(host: string): void {
    this.names = allowedHostNames(host, this.extraHosts);
  }

  get hostNames(): ReadonlySet<string> {
    return this.names;
  }

  /** A one-time dashboard login code for a live token (what `swarmlet up` prints as a link). */
  loginCode(tokenId: string, ttlMs = 15 * 60_000): string {
    const t = this.tokens.list().find((x) => x.id === tokenId);
    if (!t || !this.tokens.live(tokenId)) throw new Error(`no live token ${tokenId}`);
    const p: Principal = { id: t.id, name: t.name, role: t.role, via: 'session' };
    return this.sessions.loginCode(p, ttlMs);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
