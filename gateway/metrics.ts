/**
 * Prometheus metrics (prom-client) on a registry of the gateway's own, so several gateways
 * in one process (tests, `swarmlet up`) do not collide on the global default registry.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface GatewayMetrics {
  registry: Registry;
  receipts: Counter<'status'>;
  intakeBatch: Histogram<string>;
  jobs: Counter<'event'>;
  tasks: Counter<'outcome'>;
  spotChecks: Counter<string>;
  cheatsCaught: Counter<string>;
  /** What the check budget leaves for an established node's result now (trust.ts). */
  checkRate: Gauge<string>;
  batches: Counter<string>;
  nodesOnline: Gauge<string>;
  openTasks: Gauge<string>;
  queued: Gauge<string>;
  /** Messages vs what they carry: tasks per assign message, results per result message. */
  assignMessages: Counter<string>;
  assignedTasks: Counter<string>;
  resultMessages: Counter<string>;
  /** HTTP requests refused by the access layer: host, origin, auth (no or bad credentials), role, quota. */
  httpRefused: Counter<'reason'>;
}

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): GatewayMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'swarmlet_gateway_' });
  const registers = [registry];
  return {
    registry,
    receipts: new Counter({ name: 'swarmlet_receipts_total', help: 'Results received, by ack status', labelNames: ['status'], registers }),
    intakeBatch: new Histogram({
      name: 'swarmlet_intake_batch_seconds', help: 'Time to verify and commit one intake group', registers,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    }),
    jobs: new Counter({ name: 'swarmlet_jobs_total', help: 'Jobs by event (submitted, done, failed)', labelNames: ['event'], registers }),
    tasks: new Counter({ name: 'swarmlet_tasks_total', help: 'Finished tasks by outcome: ok, or failed (a failure result, or no result in time)', labelNames: ['outcome'], registers }),
    spotChecks: new Counter({ name: 'swarmlet_reexecutions_total', help: 'Tasks re-executed by the gateway', registers }),
    checkRate: new Gauge({ name: 'swarmlet_check_rate_established', help: 'Share of an established node\'s results re-executed now: what the check budget leaves after probation (before any job\'s higher spot-check share)', registers }),
    cheatsCaught: new Counter({ name: 'swarmlet_cheats_caught_total', help: 'Nodes quarantined for a wrong result', registers }),
    batches: new Counter({ name: 'swarmlet_batches_total', help: 'Receipt batches sealed', registers }),
    nodesOnline: new Gauge({ name: 'swarmlet_nodes_online', help: 'Nodes online', registers }),
    openTasks: new Gauge({ name: 'swarmlet_open_tasks', help: 'Tasks of open jobs not yet finished', registers }),
    queued: new Gauge({ name: 'swarmlet_queued_tasks', help: 'Tasks waiting for a node', registers }),
    assignMessages: new Counter({ name: 'swarmlet_assign_messages_total', help: 'Signed assign messages published (each carries one or more tasks)', registers }),
    assignedTasks: new Counter({ name: 'swarmlet_assigned_tasks_total', help: 'Tasks assigned (leases given out)', registers }),
    resultMessages: new Counter({ name: 'swarmlet_result_messages_total', help: 'Result messages taken in (each carries one or more results; see swarmlet_receipts_total)', registers }),
    httpRefused: new Counter({ name: 'swarmlet_http_refused_total', help: 'HTTP requests refused by operator access (reason: host, origin, auth, role, quota)', labelNames: ['reason'], registers }),
  };
}
