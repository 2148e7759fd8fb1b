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

export async function apiRoutes(app: FastifyInstance, o: { api: GatewayApi; jobBodyLimit: number }): Promise<void> {
  const { api } = o;

  app.get('/healthz', { config: { access: 'public' } }, async (_req, reply) => {
    const h = api.health();
    return reply.code(h.ok ? 200 : 503).send(h);
  });

  app.get('/api/nodes', { config: { access: 'viewer' } }, async () => ({ nodes: api.nodes() }));

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

  app.post('/api/nodes/:id/readmit', { config: { access: 'admin' }, bodyLimit: 1024 }, async (req, reply) => {
    const { id } = req.params as { id: string };
    if (!NODE_ID.test(id)) return bad(reply, 400, 'node id must be 32 lowercase hex digits');
    if (!api.readmit(id)) return bad(reply, 409, `node ${id} is not quarantined`);
    api.log.warn({ readmitted: id, by: req.principal?.name }, 'node readmitted from quarantine: every result checked again until it earns trust');
    return { id, readmitted: true };
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
    const limit = limitOf(req.query, reply);
    return limit === null ? reply : { jobs: api.listJobs(limit) };
  });

  app.get('/api/jobs/:id', { config: { access: 'viewer' } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    if (!JOB_ID.test(id)) return bad(reply, 400, 'bad job id');
    return api.getJob(id) ?? bad(reply, 404, `no job ${id}`);
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
    const limit = limitOf(req.query, reply);
    return limit === null ? reply : { batches: api.batches(limit) };
  });

  app.get('/api/ledger', { config: { access: 'viewer' } }, async () => api.ledger());

  app.get('/metrics', { config: { access: 'viewer' } }, async (_req, reply) => {
    const text = await api.metrics.registry.metrics();
    return reply.type(api.metrics.registry.contentType).send(text);
  });
}
