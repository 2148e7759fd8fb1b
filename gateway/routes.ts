/**
 * The gateway's JSON API as a fastify plugin: every route names the least role it needs
 * (enforced by access/plugin.ts) and its own body limit (a job may be large, anything else
 * is tiny). Bodies are validated with valibot; a bad request gets a 4xx and a short
 * `{"error": reason}` that never repeats the request back.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import * as v from 'valibot';
import { check } from '../util/valid.js';
import type { GatewayApi } from './http.js';
import { DELIVERIES, MAX_INPUTS } from './jobs.js';
import { QuotaError } from './access/index.js';
import type { ConsoleNode } from './console/index.js';
import { pageOf, parsePage } from './console/paging.js';
import { BATCH_SORTS, JOB_SORTS, JOB_STATES } from './console/queries.js';

const B64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const num = (min: number, max = Number.MAX_SAFE_INTEGER) => v.pipe(v.number(), v.finite(), v.minValue(min), v.maxValue(max));
const whole = (min: number, max = Number.MAX_SAFE_INTEGER) => v.pipe(v.number(), v.safeInteger(), v.minValue(min), v.maxValue(max));

const JobBody = v.strictObject({
  task: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
  inputs: v.pipe(v.array(v.pipe(v.string(), v.maxLength(1_000_000), v.regex(B64_RE, 'inputs must be base64 strings'))), v.minLength(1), v.maxLength(MAX_INPUTS)),
  redundancy: v.optional(whole(1, 16)),
  spotCheck: v.optional(num(0, 1)),
  maxPrice: v.optional(num(0)),
  region: v.optional(v.pipe(v.string(), v.maxLength(64))),
  deadlineMs: v.optional(whole(100)),
  delivery: v.optional(v.picklist(DELIVERIES)),
});

/** What a delivery mode costs, said when the job is accepted. */
const DELIVERY_COST = {
  fast: 'results released as accepted; a result of a device later caught cheating is revised (re-run, job shows revised)',
  verified: 'every task is re-executed by the gateway before its result is released: about twice the compute, slower',
} as const;

const HEX64 = /^[0-9a-f]{64}$/;
const NODE_ID = /^[0-9a-f]{32}$/;
const JOB_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** A JSON body of a job with these limits fits in this many bytes (base64 is 4/3, plus quotes and commas). */
export function jobBodyLimit(tasksPerJob: number, bytesPerJob: number): number {
  return Math.ceil(bytesPerJob / 3) * 4 + tasksPerJob * 8 + 64 * 1024;
}

const bad = (reply: FastifyReply, code: number, error: string) => reply.code(code).send({ error });

function limitOf(q: unknown, reply: FastifyReply): number | null {
  const raw = (q as { limit?: string }).limit;
  const limit = raw === undefined ? 50 : Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) { void bad(reply, 400, 'limit must be an integer 1..1000'); return null; }
  return limit;
}

const NODE_SORTS = ['id', 'name', 'profile', 'region', 'status', 'state', 'temp', 'load', 'slots', 'reputation', 'lastSeen'] as const;
const NODE_STATUSES = ['online', 'offline', 'quarantined', 'drained', 'benched', 'revoked', 'cool', 'warm', 'hot', 'critical'] as const;
const STATE_RANK = { cool: 0, warm: 1, hot: 2, critical: 3 } as const;
const NODE_KEYS: Record<(typeof NODE_SORTS)[number], (n: ConsoleNode) => string | number | boolean | null> = {
  id: (n) => n.id, name: (n) => n.name, profile: (n) => n.profile, region: (n) => n.region,
  status: (n) => (n.quarantined ? 0 : n.online ? 2 : 1), state: (n) => (n.thermalState ? STATE_RANK[n.thermalState] : null),
  temp: (n) => n.temperatureC, load: (n) => n.load, slots: (n) => n.slots, reputation: (n) => n.reputation, lastSeen: (n) => n.lastSeen,
};

function nodeMatches(n: ConsoleNode, status: string | undefined): boolean {
  switch (status) {
    case undefined: return true;
    case 'online': return n.online;
    case 'offline': return !n.online;
    case 'quarantined': return n.quarantined;
    case 'drained': return n.drained;
    case 'benched': return n.benchedUntil !== null;
    case 'revoked': return n.enrollment === 'revoked';
    default: return n.online && n.thermalState === status;
  }
}

export async function apiRoutes(app: FastifyInstance, o: { api: GatewayApi; jobBodyLimit: number }): Promise<void> {
  const { api } = o;

  app.get('/healthz', { config: { access: 'public' } }, async (_req, reply) => {
    const h = api.health();
    return reply.code(h.ok ? 200 : 503).send(h);
  });

  app.get('/api/nodes', { config: { access: 'viewer' } }, async (req, reply) => {
    let p;
    try {
      p = parsePage(req.query, { sorts: NODE_SORTS, defaultSort: 'id', filters: { status: NODE_STATUSES }, defaultLimit: 10_000, maxLimit: 10_000 });
    } catch (e) { return bad(reply, 400, (e as Error).message); }
    const q = p.q.toLowerCase();
    const all = api.nodes().filter((n) => nodeMatches(n, p.filters.status) && (!q || n.id.startsWith(q) || (n.name ?? '').toLowerCase().includes(q) || (n.profile ?? '').toLowerCase().includes(q)));
    const { total, items } = pageOf(all, p, NODE_KEYS[p.sort]);
    return { nodes: items, total };
  });

  app.post('/api/nodes/:id/revoke', { config: { access: 'admin' }, bodyLimit: 1024 }, async (req, reply) => {
    const { id } = req.params as { id: string };
    if (!NODE_ID.test(id)) return bad(reply, 400, 'node id must be 32 lowercase hex digits');
    const r = api.revoke(id);
    if (r === 'unknown') return bad(reply, 404, `node ${id} is not enrolled`);
    if (r === 'self') return bad(reply, 409, `node ${id} is this gateway's own key: a gateway does not revoke itself`);
    if (r === 'gateway') return bad(reply, 409, `node ${id} is a gateway key: gateways are revoked in the enrollment file, not through the API`);
    api.log.warn({ revoked: id, by: req.principal?.name }, 'node revoked through the API');
    return { id, revoked: true };
  });

  app.post('/api/jobs', { config: { access: 'operator' }, bodyLimit: o.jobBodyLimit }, async (req, reply) => {
    const body = req.body as { inputs?: unknown } | null;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return bad(reply, 400, 'body must be a JSON object {task, inputs, ...}');
    // Too many tasks is the quota's 413, not a schema error, whatever the count.
    if (Array.isArray(body.inputs) && body.inputs.length > api.quota.tasksPerJob) {
      api.metrics.httpRefused.inc({ reason: 'quota' });
      return bad(reply, 413, `job has ${body.inputs.length} tasks; at most ${api.quota.tasksPerJob} per job here (split it)`);
    }
    const parsed = check(JobBody, body);
    if (!parsed.ok) return bad(reply, 400, parsed.path ? parsed.reason : `body: ${parsed.message}`);
    const b = parsed.value;
    try {
      const { id } = await api.submitJob({ ...b, inputs: b.inputs.map((s) => new Uint8Array(Buffer.from(s, 'base64'))) }, req.principal?.id ?? 'anonymous');
      const delivery = b.delivery ?? 'fast';
      return reply.code(201).send({ id, delivery, cost: DELIVERY_COST[delivery] });
    } catch (e) {
      if (e instanceof QuotaError) {
        api.metrics.httpRefused.inc({ reason: 'quota' });
        return bad(reply, e.status, e.message);
      }
      if ((e as Error).name === 'BadJob' || (e as { badJob?: boolean }).badJob) return bad(reply, 400, (e as Error).message);
      throw e;
    }
  });

  app.get('/api/jobs', { config: { access: 'viewer' } }, async (req, reply) => {
    if (limitOf(req.query, reply) === null) return reply;
    let p;
    try {
      p = parsePage(req.query, { sorts: JOB_SORTS, defaultSort: 'created', defaultDesc: true, filters: { state: JOB_STATES }, maxLimit: 1000 });
    } catch (e) { return bad(reply, 400, (e as Error).message); }
    const { total, items } = api.listJobs(p);
    return { jobs: items, total };
  });

  app.get('/api/jobs/:id', { config: { access: 'viewer' } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    if (!JOB_ID.test(id)) return bad(reply, 400, 'bad job id');
    // ?results=false: totals only (a large job's results are paged at /api/jobs/:id/tasks).
    const results = (req.query as { results?: string }).results;
    if (results !== undefined && results !== 'true' && results !== 'false') return bad(reply, 400, 'results must be true or false');
    return api.getJob(id, results === 'false' ? false : undefined) ?? bad(reply, 404, `no job ${id}`);
  });

  app.get('/api/receipts/:id/proof', { config: { access: 'viewer' } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    if (!HEX64.test(id)) return bad(reply, 400, 'receipt id must be 64 lowercase hex digits');
    const a = api.proof(id);
    switch (a.status) {
      case 'included': return a.proof;
      case 'unknown': return bad(reply, 404, `no receipt ${id}`);
      case 'pending': return reply.code(409).send({ error: 'receipt accepted but not in a batch yet; try again shortly', retryAfterMs: api.batchDelayMs });
      case 'not-accepted': return bad(reply, 409, `receipt was not accepted: ${a.reason}`);
    }
  });

  app.get('/api/batches', { config: { access: 'viewer' } }, async (req, reply) => {
    if (limitOf(req.query, reply) === null) return reply;
    let p;
    try {
      p = parsePage(req.query, { sorts: BATCH_SORTS, defaultSort: 'batch', defaultDesc: true, maxLimit: 1000 });
    } catch (e) { return bad(reply, 400, (e as Error).message); }
    const { total, items } = api.batches(p);
    // totals: every batch sealed, not only this page.
    return { batches: items, total, totals: api.batchTotals() };
  });

  app.get('/api/ledger', { config: { access: 'viewer' } }, async () => api.ledger());

  // Browsers ask for it whatever the page says; the dashboard's icon is an SVG.
  app.get('/favicon.ico', { config: { access: 'public' } }, async (_req, reply) => reply.redirect('/dashboard/favicon.svg', 301));

  app.get('/metrics', { config: { access: 'viewer' } }, async (_req, reply) => {
    const text = await api.metrics.registry.metrics();
    return reply.type(api.metrics.registry.contentType).send(text);
  });
}
