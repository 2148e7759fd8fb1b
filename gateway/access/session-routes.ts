/**
 * Dashboard login: POST /api/session with a token (or a one-time login code) sets an
 * HttpOnly, SameSite=Strict session cookie; GET says who is logged in; DELETE logs out.
 * The token itself never reaches page script storage: the browser only holds the cookie.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import * as v from 'valibot';
import { check } from '../../util/valid.js';
import type { Access } from './index.js';
import { cookieValue } from './plugin.js';
import { SESSION_COOKIE } from './sessions.js';

const LoginBody = v.union([
  v.strictObject({ token: v.pipe(v.string(), v.maxLength(200)) }),
  v.strictObject({ code: v.pipe(v.string(), v.maxLength(100)) }),
]);

/** Secure when the page came over TLS (directly, or through a proxy that says so: a forged claim only hides the cookie from plain http). */
function setCookie(req: FastifyRequest, reply: FastifyReply, value: string, maxAgeS: number): FastifyReply {
  const tls = req.protocol === 'https' || req.headers['x-forwarded-proto'] === 'https';
  return reply.header('set-cookie', `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}${tls ? '; Secure' : ''}`);
}

export async function sessionRoutes(app: FastifyInstance, o: { access: Access }): Promise<void> {
  const { access } = o;

  app.get('/api/session', { config: { access: 'public' } }, async (req) => ({
    auth: access.auth,
    publicRead: access.publicRead,
    authenticated: req.principal !== null,
    ...(req.principal ? { name: req.principal.name, role: req.principal.role } : {}),
  }));

  app.post('/api/session', { config: { access: 'public' }, bodyLimit: 1024 }, async (req, reply) => {
    const parsed = check(LoginBody, req.body);
    if (!parsed.ok) return reply.code(400).send({ error: 'body must be {"token": "..."} or {"code": "..."}' });
    const b = parsed.value;
    const p = 'token' in b ? access.tokens.verify(b.token) : access.sessions.redeem(b.code);
    if (!p) return reply.code(401).send({ error: 'token' in b ? 'token not valid (unknown, revoked or expired)' : 'login link not valid (used, expired, or its token revoked)' });
    const sid = access.sessions.create(p);
    setCookie(req, reply, sid, Math.floor(access.sessions.ttlMs / 1000));
    return { authenticated: true, name: p.name, role: p.role };
  });

  app.delete('/api/session', { config: { access: 'public' } }, async (req, reply) => {
    const sid = cookieValue(req.headers.cookie, SESSION_COOKIE);
    if (sid) access.sessions.end(sid);
    setCookie(req, reply, '', 0);
    return { authenticated: false };
  });
}
