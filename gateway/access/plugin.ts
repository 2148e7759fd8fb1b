/**
 * The access plugin: registered once at the root (fastify-plugin lifts it out of its own
 * scope), it guards every route registered after it. Each route must name the least role
 * it needs in `config.access` ('public', 'viewer', 'operator', 'admin'); a route without
 * one fails at start-up, so nothing is left open by omission. Per request, in order:
 * Host (DNS rebinding), credentials (Bearer token or session cookie), Origin on
 * state-changing methods (CSRF), role. Every response gets the security headers.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Logger } from '../../util/log.js';
import { securityHeaders } from './headers.js';
import { crossOriginReason, hostAllowed } from './hosts.js';
import type { Access } from './index.js';
import { allows, type AccessLevel, type Principal } from './roles.js';
import { SESSION_COOKIE } from './sessions.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: AccessLevel;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);
const OPEN: Principal = { id: 'local', name: 'local', role: 'admin', via: 'open' };

export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header || header.length > 8192) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

/** The principal behind a request's credentials; `bad` when credentials were given and are not valid. */
export function authenticate(access: Access, req: FastifyRequest): { principal: Principal | null; bad: boolean } {
  const authz = req.headers.authorization;
  if (authz !== undefined) {
    const m = /^Bearer\s+(\S{1,200})$/i.exec(authz);
    const p = m ? access.tokens.verify(m[1]!) : null;
    return p ? { principal: p, bad: false } : { principal: access.auth ? null : OPEN, bad: access.auth };
  }
  const sid = cookieValue(req.headers.cookie, SESSION_COOKIE);
  const p = sid ? access.sessions.get(sid) : null;
  if (p) return { principal: p, bad: false };
  return { principal: access.auth ? null : OPEN, bad: false };
}

export type Refusal = 'host' | 'origin' | 'auth' | 'role';

export const accessPlugin = fp(async (app: FastifyInstance, o: { access: Access; log: Logger; onRefused?: (why: Refusal) => void }) => {
  const { access, log } = o;
  const refuse = (reply: FastifyReply, why: Refusal, code: number, error: string) => {
    o.onRefused?.(why);
    return reply.code(code).send({ error });
  };
  app.decorateRequest('principal', null);

  app.addHook('onRoute', (route) => {
    if (!route.config?.access) throw new Error(`route ${String(route.method)} ${route.url} names no access level (config.access)`);
  });

  app.addHook('onRequest', async (req, reply) => {
    if (!hostAllowed(req.headers.host, access.hostNames)) {
      log.warn({ host: String(req.headers.host ?? '').slice(0, 100), ip: req.ip }, 'request refused: Host not served here');
      return refuse(reply, 'host', 403, 'request refused: the Host header names no host this gateway serves (DNS rebinding protection; see --allowed-host)');
    }
    const { principal, bad } = authenticate(access, req);
    req.principal = principal;
    if (!SAFE.has(req.method)) {
      const why = crossOriginReason(req.headers as Record<string, string | undefined>, principal?.via === 'session');
      if (why) {
        log.warn({ method: req.method, url: req.url.slice(0, 200), origin: String(req.headers.origin ?? '').slice(0, 100) }, why);
        return refuse(reply, 'origin', 403, why);
      }
    }
    // Routes that matched nothing have no config: the 404 handler answers them.
    const need: AccessLevel = req.routeOptions.config?.access ?? 'public';
    if (need === 'public') return;
    if (bad) return refuse(reply.header('www-authenticate', 'Bearer error="invalid_token"'), 'auth', 401, 'token not valid (unknown, revoked or expired)');
    if (need === 'viewer' && access.publicRead && SAFE.has(req.method)) return;
    if (!principal) return refuse(reply.header('www-authenticate', 'Bearer'), 'auth', 401, 'log in: send Authorization: Bearer TOKEN, or log in on the dashboard');
    if (!allows(principal.role, need)) return refuse(reply, 'role', 403, `${need} role needed; ${principal.name} is ${principal.role}`);
  });

  app.addHook('onSend', async (req, reply, payload) => {
    reply.headers(securityHeaders(req.url.split('?')[0]!));
    return payload;
  });
}, { name: 'swarmlet-access', fastify: '5.x' });
