/**
 * The gateway's HTTP server (fastify 5): the access plugin first (Host, credentials,
 * Origin, roles, security headers; gateway/access/), then the dashboard login, the JSON
 * API (routes.ts, modules/routes.ts, prover/routes.ts), the console's routes (console/routes.ts:
 * drill-down, history, live push, enrollment, alerts) and the dashboard's static files
 * (dashboard/serve.ts). Routes are listed in README.md. Every body is bounded per route and
 * validated; errors are a 4xx with a short `{"error": reason}` that never echoes the request, never a crash.
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
import type { Console, ConsoleNode } from './console/index.js';
import type { Page } from './console/paging.js';
import type { BATCH_SORTS, JOB_SORTS } from './console/queries.js';
import { consoleRoutes } from './console/routes.js';
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
  nodes(): ConsoleNode[];
  revoke(nodeId: string): RevokeAnswer;
  /** Submit for `owner` (a token id) under its quota; throws QuotaError or BadJob. */
  submitJob(spec: JobSpec, owner: string): Promise<{ id: string }>;
  listJobs(p: Page<(typeof JOB_SORTS)[number]>): { total: number; items: JobView[] };
  /** A job, with its results when finished (unless withResults is false). */
  getJob(id: string, withResults?: boolean): JobView | undefined;
  proof(receiptId: string): ProofAnswer;
  batches(p: Page<(typeof BATCH_SORTS)[number]>): { total: number; items: unknown[] };
  batchTotals(): { batches: number; receipts: number; fuel: number };
  ledger(): unknown;
  /** The operator console's state and actions (its routes: console/routes.ts). */
  console: Console;
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
  await app.register(consoleRoutes, { console: api.console, access });
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
