/**
 * The gateway's HTTP API (fastify 5, JSON). Routes are listed in README.md. Every request
 * body is bounded (bodyLimit) and validated (valibot); a bad request gets a 4xx and
 * `{"error": reason}`, never a 500 or a crash. The dashboard's static files are served
 * from gateway/dashboard/public (404 when absent).
 */
import { readFile } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import * as v from 'valibot';
import { check } from '../util/valid.js';
import { projectRoot } from '../util/paths.js';
import type { Logger } from '../util/log.js';
import type { ProofAnswer } from './batcher.js';
import type { NodeView } from './fleet.js';
import type { JobSpec, JobView } from './jobs.js';
import type { GatewayMetrics } from './metrics.js';

/** What the HTTP layer needs from the gateway. */
export interface GatewayApi {
  log: Logger;
  metrics: GatewayMetrics;
  batchDelayMs: number;
  health(): Record<string, unknown>;
  nodes(): NodeView[];
  revoke(nodeId: string): boolean;
  submitJob(spec: JobSpec): Promise<{ id: string }>;
  listJobs(limit: number): JobView[];
  getJob(id: string): JobView | undefined;
  proof(receiptId: string): ProofAnswer;
  batches(limit: number): unknown[];
  ledger(): unknown;
  /** More read-only routes, each registered by its own module (e.g. gateway/prover/routes.ts). */
  routes?: Array<(app: FastifyInstance) => void>;
}

const B64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const num = (min: number, max = Number.MAX_SAFE_INTEGER) => v.pipe(v.number(), v.finite(), v.minValue(min), v.maxValue(max));
const whole = (min: number, max = Number.MAX_SAFE_INTEGER) => v.pipe(v.number(), v.safeInteger(), v.minValue(min), v.maxValue(max));

const JobBody = v.strictObject({
  task: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
  inputs: v.pipe(v.array(v.pipe(v.string(), v.maxLength(1_000_000), v.regex(B64_RE, 'inputs must be base64 strings'))), v.minLength(1), v.maxLength(100_000)),
  redundancy: v.optional(whole(1, 16)),
  spotCheck: v.optional(num(0, 1)),
  maxPrice: v.optional(num(0)),
  region: v.optional(v.pipe(v.string(), v.maxLength(64))),
  deadlineMs: v.optional(whole(100)),
});

const HEX64 = /^[0-9a-f]{64}$/;
const NODE_ID = /^[0-9a-f]{32}$/;
const JOB_ID = /^[A-Za-z0-9._-]{1,64}$/;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png',
  '.ico': 'image/x-icon', '.map': 'application/json', '.txt': 'text/plain; charset=utf-8', '.woff2': 'font/woff2',
};

export interface HttpOptions {
  host?: string;
  port?: number;
  bodyLimit?: number;
  dashboardDir?: string;
}


export async function startHttp(api: GatewayApi, o: HttpOptions = {}): Promise<{ server: FastifyInstance; url: string }> {
  const app = Fastify({ logger: false, bodyLimit: o.bodyLimit ?? 64 * 1024 * 1024 });
  const staticRoot = resolve(o.dashboardDir ?? join(projectRoot(), 'gateway', 'dashboard', 'public'));

  app.setErrorHandler((err: { statusCode?: number; message: string }, _req, reply) => {
    const code = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (code === 500) api.log.error({ err: err.message }, 'http handler failed');
    void reply.code(code).send({ error: code === 500 ? 'internal error' : err.message });
  });
  app.setNotFoundHandler((req, reply) => { void reply.code(404).send({ error: `no route ${req.method} ${req.url.split('?')[0]}` }); });

  const bad = (reply: FastifyReply, code: number, error: string) => reply.code(code).send({ error });

  app.get('/healthz', async () => api.health());

  app.get('/api/nodes', async () => ({ nodes: api.nodes() }));

  app.post('/api/nodes/:id/revoke', async (req, reply) => {
    const { id } = req.params as { id: string };
    if (!NODE_ID.test(id)) return bad(reply, 400, 'node id must be 32 lowercase hex digits');
    if (!api.revoke(id)) return bad(reply, 404, `node ${id} is not enrolled`);
    return { id, revoked: true };
  });

  app.post('/api/jobs', async (req, reply) => {
    const parsed = check(JobBody, req.body);
    if (!parsed.ok) return bad(reply, 400, parsed.path ? parsed.reason : `body: ${parsed.message}`);
    const b = parsed.value;
    try {
      const { id } = await api.submitJob({ ...b, inputs: b.inputs.map((s) => new Uint8Array(Buffer.from(s, 'base64'))) });
      return reply.code(201).send({ id });
    } catch (e) {
      if ((e as Error).name === 'BadJob' || (e as { badJob?: boolean }).badJob) return bad(reply, 400, (e as Error).message);
      throw e;
    }
  });

  app.get('/api/jobs', async (req, reply) => {
    const q = req.query as { limit?: string };
    const limit = q.limit === undefined ? 50 : Number(q.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return bad(reply, 400, 'limit must be an integer 1..1000');
    return { jobs: api.listJobs(limit) };
  });

  app.get('/api/jobs/:id', async (req, reply) => {
    const { id } = req.params as { id: string };
    if (!JOB_ID.test(id)) return bad(reply, 400, 'bad job id');
    const v = api.getJob(id);
    return v ?? bad(reply, 404, `no job ${id}`);
  });

  app.get('/api/receipts/:id/proof', async (req, reply) => {
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

  app.get('/api/batches', async (req, reply) => {
    const q = req.query as { limit?: string };
    const limit = q.limit === undefined ? 50 : Number(q.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return bad(reply, 400, 'limit must be an integer 1..1000');
    return { batches: api.batches(limit) };
  });

  app.get('/api/ledger', async () => api.ledger());
  for (const add of api.routes ?? []) add(app);

  app.get('/metrics', async (_req, reply) => {
    const text = await api.metrics.registry.metrics();
    return reply.type(api.metrics.registry.contentType).send(text);
  });

  const serveStatic = async (rel: string, reply: FastifyReply) => {
    const file = resolve(staticRoot, rel);
    if (file !== staticRoot && !file.startsWith(staticRoot + sep)) return bad(reply, 404, 'not found');
    try {
      const body = await readFile(file);
      return reply.type(TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream').send(body);
    } catch {
      return bad(reply, 404, rel === 'index.html' ? 'dashboard not installed (gateway/dashboard/public/index.html missing)' : 'not found');
    }
  };
  app.get('/', async (_req, reply) => serveStatic('index.html', reply));
  app.get('/dashboard', async (_req, reply) => serveStatic('index.html', reply));
  app.get('/dashboard/*', async (req, reply) => {
    const rel = decodeURIComponent((req.params as { '*': string })['*'] ?? '');
    if (rel.includes('\0')) return bad(reply, 400, 'bad path');
    return serveStatic(rel === '' ? 'index.html' : rel, reply);
  });

  const address = await app.listen({ host: o.host ?? '127.0.0.1', port: o.port ?? 0 });
  const port = new URL(address).port;
  const host = o.host && o.host !== '0.0.0.0' && o.host !== '::' ? o.host : '127.0.0.1';
  return { server: app, url: `http://${host.includes(':') ? `[${host}]` : host}:${port}` };
}
