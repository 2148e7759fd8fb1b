/**
 * The gateway's HTTP server (fastify 5): the access plugin first (Host, credentials,
 * Origin, roles, security headers; gateway/access/), then the dashboard login, the JSON
 * API (routes.ts, modules/routes.ts, prover/routes.ts) and the dashboard's static files
 * (dashboard/serve.ts). Routes are listed in README.md. Every body is bounded per route and validated; errors are a 4xx with a
 * short `{"error": reason}` that never echoes the request, never a crash.
 */
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { projectRoot } from '../util/paths.js';
import type { Logger } from '../util/log.js';
import type { Access, QuotaLimits } from './access/index.js';
import { accessPlugin } from './access/plugin.js';
import { sessionRoutes } from './access/session-routes.js';
import type { ProofAnswer } from './batcher.js';
import { dashboardRoutes } from './dashboard/serve.js';
import type { NodeView } from './fleet.js';
import type { JobSpec, JobView } from './jobs.js';
import type { GatewayMetrics } from './metrics.js';
import { apiRoutes, jobBodyLimit } from './routes.js';
import { moduleRoutes, type ModulesApi } from './modules/routes.js';
import { ledgerRoutes, type LedgerApi } from './prover/routes.js';

export type RevokeAnswer = 'revoked' | 'unknown' | 'self' | 'gateway';

/** What the HTTP layer needs from the gateway. */
export interface GatewayApi {
  log: Logger;
  metrics: GatewayMetrics;
  batchDelayMs: number;
  quota: QuotaLimits;
  health(): { ok: boolean } & Record<string, unknown>;
  nodes(): NodeView[];
  revoke(nodeId: string): RevokeAnswer;
  /** Lift a quarantine (the node's results are then checked from scratch); false when it was not quarantined. */
  readmit(nodeId: string): boolean;
  /** Submit for `owner` (a token id) under its quota; throws QuotaError or BadJob. */
  submitJob(spec: JobSpec, owner: string): Promise<{ id: string }>;
  listJobs(limit: number): JobView[];
  getJob(id: string): JobView | undefined;
  proof(receiptId: string): ProofAnswer;
  batches(limit: number): unknown[];
  ledger(): unknown;
  /** The catalogue and the module registry (gateway/modules/). */
  modules: ModulesApi;
  /** The recursive ledger prover's status and inclusion answers (gateway/prover/). */
  prover: LedgerApi;
}

export interface HttpOptions {
  host?: string;
  port?: number;
  /** Body limit of routes that name none (default 16 KiB); the job route's follows from the quota. */
  bodyLimit?: number;
  dashboardDir?: string;
}

const MAX_ERROR_CHARS = 300;

/** A client error's text, short and free of request bytes. */
function clientError(err: { code?: string; message: string }, bodyLimit: number | undefined): string {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE': return `request body too large${bodyLimit ? ` (at most ${bodyLimit} bytes here)` : ''}`;
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': return 'unsupported content type (send application/json)';
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY': return 'body is not valid JSON';
  }
  if (err instanceof SyntaxError) return 'body is not valid JSON';
  const m = err.message.replace(/[\u0000-\u001f]/g, ' ');
  return m.length > MAX_ERROR_CHARS ? `${m.slice(0, MAX_ERROR_CHARS)}…` : m;
}

export async function startHttp(api: GatewayApi, access: Access, o: HttpOptions = {}): Promise<{ server: FastifyInstance; url: string }> {
  const app = Fastify({ logger: false, bodyLimit: o.bodyLimit ?? 16 * 1024 });

  app.setErrorHandler((err: { statusCode?: number; code?: string; message: string }, req, reply) => {
    const code = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (code === 500) api.log.error({ err: err.message.slice(0, 500), url: req.url.slice(0, 200) }, 'http handler failed');
    void reply.code(code).send({ error: code === 500 ? 'internal error' : clientError(err, req.routeOptions.bodyLimit) });
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ error: `no route ${req.method} ${req.url.split('?')[0]!.slice(0, 200)}` });
  });

  await app.register(accessPlugin, { access, log: api.log, onRefused: (reason) => api.metrics.httpRefused.inc({ reason }) });
  await app.register(sessionRoutes, { access });
  await app.register(apiRoutes, { api, jobBodyLimit: jobBodyLimit(api.quota.tasksPerJob, api.quota.bytesPerJob) });
  await app.register(moduleRoutes, { modules: api.modules });
  await app.register(ledgerRoutes, { prover: api.prover });
  await app.register(dashboardRoutes, { dir: o.dashboardDir ?? join(projectRoot(), 'gateway', 'dashboard', 'public') });

  const bound = o.host ?? '127.0.0.1';
  access.bind(bound);
  const address = await app.listen({ host: bound, port: o.port ?? 0 });
  const port = new URL(address).port;
  const host = o.host && o.host !== '0.0.0.0' && o.host !== '::' ? o.host : '127.0.0.1';
  return { server: app, url: `http://${host.includes(':') ? `[${host}]` : host}:${port}` };
}
