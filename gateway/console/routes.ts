/**
 * The console's HTTP routes (a fastify plugin registered after the access plugin, so each
 * names its role in `config.access` like every other route):
 *
 *   GET  /api/events                          viewer    live updates (Server-Sent Events; live.ts)
 *   GET  /api/summary                         viewer    the fleet cards
 *   GET  /api/nodes/:id                       viewer    drill-down: view, enrollment, standing, grants, leases, receipts, billing, alerts
 *   GET  /api/nodes/:id/history?range=1h      viewer    series for charts (history.ts)
 *   GET  /api/nodes/:id/receipts              viewer    a page of its receipts, newest first
 *   GET  /api/fleet/history?range=1h          viewer    fleet series for the overview
 *   POST /api/nodes/:id/drain {drain}         operator  no new work (or back to work)
 *   POST /api/nodes/:id/readmit               admin     enroll a revoked device again, else lift its quarantine
 *   GET  /api/alerts                          viewer    active and recent alerts
 *   GET  /api/enrollment?status=&q=           viewer    enrolled, revoked and pending keys
 *   POST /api/enrollment {publicKey, name?}   admin     enroll a device key by hand
 *   POST /api/enrollment/pending/:id/approve  admin     enroll a device that asked to join
 *   POST /api/enrollment/pending/:id/deny     admin     refuse it (recorded as revoked)
 *   GET  /api/jobs/:id/tasks                  viewer    a page of a job's tasks (filter, search, sort)
 *   POST /api/jobs/:id/cancel                 operator  cancel a running job (your own; an admin any)
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import * as v from 'valibot';
import { check } from '../../util/valid.js';
import type { Access } from '../access/index.js';
import { authenticate } from '../access/plugin.js';
import { RANGES } from './history.js';
import { ActionError, type Console } from './index.js';
import { PageError, pageOf, parsePage } from './paging.js';
import { TASK_FILTERS, TASK_SORTS } from './queries.js';

const NODE_ID = /^[0-9a-f]{32}$/;
const JOB_ID = /^[A-Za-z0-9._-]{1,64}$/;
const NAME = v.optional(v.pipe(v.string(), v.maxLength(128), v.regex(/^[^\u0000-\u001f]*$/, 'name must be printable text')));

const bad = (reply: FastifyReply, code: number, error: string) => reply.code(code).send({ error });

function rangeOf(q: unknown, reply: FastifyReply): { from: number; to: number } | null {
  const raw = (q as { range?: unknown }).range ?? '1h';
  const ms = typeof raw === 'string' ? RANGES[raw] : undefined;
  if (!ms) { void bad(reply, 400, `range must be one of ${Object.keys(RANGES).join(', ')}`); return null; }
  const to = Date.now();
  return { from: to - ms, to };
}

export async function consoleRoutes(app: FastifyInstance, o: { console: Console; access: Access }): Promise<void> {
  const c = o.console;
  const { access } = o;
  const act = async (reply: FastifyReply, fn: () => unknown) => {
    try {
      return (await fn()) ?? { ok: true };
    } catch (e) {
      if (e instanceof ActionError) return bad(reply, e.status, e.message);
      if (e instanceof PageError) return bad(reply, 400, e.message);
      throw e;
    }
  };
  const nodeParam = (params: unknown, reply: FastifyReply): string | null => {
    const { id } = params as { id: string };
    if (!NODE_ID.test(id)) { void bad(reply, 400, 'node id must be 32 lowercase hex digits'); return null; }
    return id;
  };
  const who = (req: { principal: { name: string } | null }) => req.principal?.name ?? 'local';

  app.addHook('preClose', (done) => { c.hub.closeAll(); done(); });

  app.get('/api/events', { config: { access: 'viewer' } }, async (req, reply) => {
    const refused = c.hub.attach(req, reply);
    if (refused) return bad(reply, 429, refused);
    return reply;
  });

  app.get('/api/summary', { config: { access: 'viewer' } }, async () => c.summary(c.nodes()));

  app.get('/api/nodes/:id', { config: { access: 'viewer' } }, async (req, reply) => {
    const id = nodeParam(req.params, reply);
    if (!id) return reply;
    return c.detail(id) ?? bad(reply, 404, `no node ${id}`);
  });

  app.get('/api/nodes/:id/history', { config: { access: 'viewer' } }, async (req, reply) => {
    const id = nodeParam(req.params, reply);
    const r = id && rangeOf(req.query, reply);
    if (!id || !r) return reply;
    return c.history.nodeSeries(id, r.from, r.to);
  });

  app.get('/api/nodes/:id/receipts', { config: { access: 'viewer' } }, async (req, reply) => {
    const id = nodeParam(req.params, reply);
    if (!id) return reply;
    return act(reply, () => {
      const p = parsePage(req.query, { sorts: ['seq'], defaultSort: 'seq', defaultDesc: true, filters: { status: ['accepted', 'rejected'] } });
      return c.queries.receipts(id, p.limit, p.offset, p.filters.status);
    });
  });

  app.get('/api/fleet/history', { config: { access: 'viewer' } }, async (req, reply) => {
    const r = rangeOf(req.query, reply);
    return r ? c.history.fleetSeries(r.from, r.to) : reply;
  });

  app.post('/api/nodes/:id/drain', { config: { access: 'operator' }, bodyLimit: 1024 }, async (req, reply) => {
    const id = nodeParam(req.params, reply);
    if (!id) return reply;
    const body = check(v.strictObject({ drain: v.boolean() }), req.body ?? {});
    if (!body.ok) return bad(reply, 400, `body: ${body.reason} (send {"drain": true} or {"drain": false})`);
    return act(reply, () => ({ id, drained: body.value.drain, changed: c.drain(id, body.value.drain, who(req)) }));
  });

  app.post('/api/nodes/:id/readmit', { config: { access: 'admin' }, bodyLimit: 1024 }, async (req, reply) => {
    const id = nodeParam(req.params, reply);
    if (!id) return reply;
    return act(reply, () => ({ id, readmitted: true, ...c.readmit(id, who(req)) }));
  });

  app.get('/api/alerts', { config: { access: 'viewer' } }, async () => c.alerts.list());

  app.get('/api/enrollment', { config: { access: 'viewer' } }, async (req, reply) => act(reply, () => {
    const p = parsePage(req.query, {
      sorts: ['id', 'name', 'role', 'seen'], defaultSort: 'id', filters: { status: ['enrolled', 'revoked', 'pending'] }, maxLimit: 1000,
    });
    const all = c.enrollmentList();
    type Row = { nodeId: string; name?: string | null; role?: string; status: string; lastSeen?: number; revokedAt?: number; clientId?: string };
    const rows: Row[] = [
      ...(all.keys as Row[]).map((k) => ({ ...k, status: 'enrolled' })),
      ...(all.revoked as Row[]).map((k) => ({ ...k, status: 'revoked' })),
      ...(all.pending as Row[]).map((k) => ({ ...k, role: 'node', name: null, status: 'pending' })),
    ];
    const q = p.q.toLowerCase();
    const hit = rows.filter((r) => (!p.filters.status || r.status === p.filters.status)
      && (!q || r.nodeId.startsWith(q) || (r.name ?? '').toLowerCase().includes(q)));
    const key = { id: (r: Row) => r.nodeId, name: (r: Row) => r.name ?? null, role: (r: Row) => r.role ?? null, seen: (r: Row) => r.lastSeen ?? r.revokedAt ?? null }[p.sort];
    const page = pageOf(hit, p, key);
    return { ...page, counts: { enrolled: all.keys.length, revoked: all.revoked.length, pending: all.pending.length } };
  }));

  app.post('/api/enrollment', { config: { access: 'admin' }, bodyLimit: 1024 }, async (req, reply) => {
    const body = check(v.strictObject({ publicKey: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/, 'publicKey must be 64 lowercase hex digits')), name: NAME }), req.body ?? {});
    if (!body.ok) return bad(reply, 400, `body: ${body.reason}`);
    return act(reply, () => ({ id: c.enroll(body.value.publicKey, body.value.name, who(req)), enrolled: true }));
  });

  app.post('/api/enrollment/pending/:id/approve', { config: { access: 'admin' }, bodyLimit: 1024 }, async (req, reply) => {
    const id = nodeParam(req.params, reply);
    if (!id) return reply;
    const body = check(v.strictObject({ name: NAME }), req.body ?? {});
    if (!body.ok) return bad(reply, 400, `body: ${body.reason}`);
    return act(reply, () => { c.approve(id, body.value.name, who(req)); return { id, enrolled: true }; });
  });

  app.post('/api/enrollment/pending/:id/deny', { config: { access: 'admin' }, bodyLimit: 1024 }, async (req, reply) => {
    const id = nodeParam(req.params, reply);
    if (!id) return reply;
    return act(reply, () => { c.deny(id, who(req)); return { id, refused: true }; });
  });

  app.get('/api/jobs/:id/tasks', { config: { access: 'viewer' } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    if (!JOB_ID.test(id)) return bad(reply, 400, 'bad job id');
    return act(reply, () => {
      const p = parsePage(req.query, { sorts: TASK_SORTS, defaultSort: 'index', filters: { state: TASK_FILTERS } });
      if (!c.queries.jobExists(id)) throw new ActionError(404, `no job ${id}`);
      return c.queries.tasks(id, p);
    });
  });

  app.post('/api/jobs/:id/cancel', { config: { access: 'operator' }, bodyLimit: 1024 }, async (req, reply) => {
    const { id } = req.params as { id: string };
    if (!JOB_ID.test(id)) return bad(reply, 400, 'bad job id');
    const p = req.principal;
    // An operator cancels the jobs it submitted; an admin any job.
    if (p && p.role !== 'admin' && access.quota.ownerOf(id) !== p.id) return bad(reply, 403, `only the operator who submitted job ${id}, or an admin, may cancel it`);
    return act(reply, () => { c.cancelJob(id, who(req)); return { id, cancelled: true }; });
  });
}

/** Whether an open stream's credentials still hold (the token not revoked, the session not ended). */
export function streamStillAllowed(access: Access) {
  return (req: Parameters<typeof authenticate>[1]): boolean => {
    if (!access.auth || access.publicRead) return true;
    return authenticate(access, req).principal !== null;
  };
}
