/**
 * startGateway: wires store, fleet, scheduler, engine, intake, batcher, MQTT link and the
 * HTTP API into one running regional gateway. See README.md for the HTTP API and
 * docs/architecture.md for the message flow.
 */
import { availableParallelism } from 'node:os';
import { seal } from '../protocol/envelope.js';
import type { Enrollment, Enrolled } from '../protocol/enrollment.js';
import type { Identity } from '../protocol/identity.js';
import { checkRegion, topics } from '../protocol/topics.js';
import { MAX_TASK_FUEL } from '../protocol/messages.js';
import { createLogger, type Logger } from '../util/log.js';
import { DEFAULT_RUN_LIMITS, type TaskRunner } from '../agent/runtime/types.js';
import { mergeWeights, type LatLon, type Weights } from './auction.js';
import { AckQueue } from './acks.js';
import { Batcher, type BatchSink } from './batcher.js';
import { Engine, BadJob } from './engine.js';
import { Fleet } from './fleet.js';
import { Access, checkExposure, type AccessOptions, type QuotaLimits } from './access/index.js';
import { startHttp, type RevokeAnswer } from './http.js';
import { ReceiptIntake } from './intake.js';
import { IntakePipeline } from './intake-pipeline.js';
import { VerifyPool } from './verify-pool.js';
import { jobView, type JobSpec, type JobView } from './jobs.js';
import { createMetrics, type GatewayMetrics } from './metrics.js';
import { Console, type ConsoleOptions } from './console/index.js';
import { streamStillAllowed } from './console/routes.js';
import { GatewayLink } from './mqtt.js';
import { loadRuntime, type GatewayRuntime } from './runtime.js';
import { Scheduler, THERMAL_SCAN_MAX, type PlacementPolicy } from './scheduler.js';
import { Store } from './store.js';
import { LocalChecker } from './verifier.js';
import { Reputation } from './trust.js';
import { Modules, type RegistryLimits } from './modules/index.js';
import { RECEIPTS_PER_BATCH } from '../protocol/ledger-proof.js';
import { LedgerProver, type LedgerProverOptions } from './prover/service.js';

export type { Weights } from './auction.js';
export type { JobSpec, JobView } from './jobs.js';
export type { BatchSink, SealedBatch, Prover } from './batcher.js';
export type { GatewayRuntime } from './runtime.js';
export type { PlacementPolicy } from './scheduler.js';
export type { AccessOptions, QuotaLimits } from './access/index.js';
export type { ConsoleOptions } from './console/index.js';

export interface GatewayOptions {
  brokerUrl: string;
  meshId?: string;
  identity: Identity;
  enrollment: Enrollment;
  regions?: string[];
  dataDir: string;
  http?: { host?: string; port?: number; bodyLimit?: number };
  /** Operator access on the HTTP side: auth (default on), public reads, allowed Host names (gateway/access/). */
  access?: AccessOptions;
  /** Job quotas per operator and overall (defaults: DEFAULT_QUOTA in gateway/access/quota.ts). */
  quota?: Partial<QuotaLimits>;
  /** Lease on an assignment (default 30 s). */
  leaseMs?: number;
  /** How long bids are collected after an offer (default 150 ms). */
  bidWindowMs?: number;
  /** Assign small tasks straight from standing capacity adverts (default true). */
  fastPath?: boolean;
  fastPathMaxBytes?: number;
  /** Fast-path window per node in multiples of its advertised slots (default 3: slots running, 2x queued); `fill` placement only. */
  fastPathDepth?: number;
  /**
   * Fast-path placement: `thermal` (default: each task to the node that finishes it first, by
   * its advertised speed, thermal budget and forecast; gateway/placement.ts) or `fill` (the
   * naive baseline: fill every node's window of depth x slots, best auction score first).
   */
  placement?: PlacementPolicy;
  /** Regions of up to this many nodes are placed by thermal forecast, larger ones by the candidate index (default 256). */
  thermalScanMax?: number;
  batch?: { maxReceipts?: number; maxDelayMs?: number };
  weights?: Partial<Weights>;
  /** Share of a trusted node's results re-executed by the gateway (default 0.05); new nodes are checked far more (trust.ts). */
  spotCheck?: number;
  /** 'trust' (default): check rates follow each node's verified record; 'flat': every result at spotCheck (a baseline for benchmarks). */
  checking?: 'trust' | 'flat';
  /** With 'trust': the share of all results re-executed at steady state (default 0.09); probation checks come out of it first (trust.ts). */
  checkBudget?: number;
  location?: LatLon | null;
  /** Run limits given to nodes with each task. */
  limits?: { fuel?: number; memoryPages?: number; timeoutMs?: number };
  /** How much the module registry keeps (gateway/modules/; default 100 modules, 64 MiB). */
  registry?: Partial<RegistryLimits>;
  /** SQLite durability: 'full' (default): nothing leaves the gateway before the commit behind it is fsynced (group commit, off the main thread). */
  durability?: 'full' | 'normal';
  /** How long a receipt ack may wait to share a message with others to the same node (default 500 ms; 0 = none). */
  ackDelayMs?: number;
  /** Worker threads verifying receipt signatures (default: cores, at most 4; 0 = inline). */
  verifyWorkers?: number;
  /** Catalogue and re-execution runner; default: agent/runtime with a one-worker pool. */
  runtime?: GatewayRuntime;
  sinks?: BatchSink[];
  /** Recursive ledger proofs (gateway/prover/): off unless enabled; need the optional o1js. */
  proofs?: { enabled?: boolean } & Pick<LedgerProverOptions, 'cacheDir' | 'proofsEnabled' | 'unavailable' | 'retryMs'>;
  /** The operator console: history ring and retention, alert thresholds, live push (gateway/console/). */
  console?: ConsoleOptions;
  logger?: Logger;
}

export interface GatewayHandle {
  url: string;
  nodeId: string;
  publicKey: Uint8Array;
  submitJob(spec: JobSpec): Promise<{ id: string }>;
  getJob(id: string): JobView | undefined;
  waitForJob(id: string, timeoutMs: number): Promise<JobView>;
  /** Seal a batch of whatever receipts wait now (tests, shutdown). */
  flushBatches(): void;
  store: Store;
  metrics: GatewayMetrics;
  prover: LedgerProver;
  /** Operator tokens, sessions and quotas (tokens live in access.sqlite in the data folder). */
  access: Access;
  /** The operator console's state: history, alerts, live push, actions. */
  console: Console;
  /** The catalogue and the registry of published modules. */
  modules: Modules;
  stop(): Promise<void>;
}

const DEFAULT_ACK_DELAY_MS = 500;
const DEFAULT_FAST_PATH_DEPTH = 3;

export async function startGateway(opts: GatewayOptions): Promise<GatewayHandle> {
  const { identity, enrollment } = opts;
  const regions = (opts.regions ?? ['local']).map(checkRegion);
  if (regions.length === 0) throw new Error('a gateway serves at least one region');
  const log = opts.logger ?? createLogger('gateway', { gatewayId: identity.nodeId });
  const meshId = opts.meshId ?? 'swarmlet';
  const leaseMs = opts.leaseMs ?? 30_000;
  const bidWindowMs = opts.bidWindowMs ?? 150;
  const limits = { ...DEFAULT_RUN_LIMITS, ...(opts.limits ?? {}) };
  if (!Number.isSafeInteger(limits.fuel) || limits.fuel < 1 || limits.fuel > MAX_TASK_FUEL) throw new Error(`limits.fuel must be an integer from 1 to ${MAX_TASK_FUEL}, got ${limits.fuel}`);
  const weights = mergeWeights(opts.weights);
  const spotCheck = opts.spotCheck ?? 0.05;
  if (!(spotCheck >= 0 && spotCheck <= 1)) throw new Error('spotCheck must be between 0 and 1');
  const fastPathDepth = opts.fastPathDepth ?? DEFAULT_FAST_PATH_DEPTH;
  // An agent queues up to 4x its slots behind the running ones: a deeper window would be refused.
  if (!Number.isInteger(fastPathDepth) || fastPathDepth < 1 || fastPathDepth > 5) throw new Error(`fastPathDepth must be an integer from 1 to 5, got ${fastPathDepth}`);
  if (opts.placement !== undefined && opts.placement !== 'thermal' && opts.placement !== 'fill') throw new Error(`placement must be 'thermal' or 'fill', got ${String(opts.placement)}`);
  if (opts.thermalScanMax !== undefined && !(Number.isInteger(opts.thermalScanMax) && opts.thermalScanMax >= 0)) throw new Error(`thermalScanMax must be an integer >= 0, got ${String(opts.thermalScanMax)}`);
  checkExposure(opts.http?.host ?? '127.0.0.1', opts.access ?? {}, log);

  const runtime = opts.runtime ?? (await loadRuntime(log));
  const ownsRunner = !opts.runtime;
  let store: Store;
  try {
    store = new Store(opts.dataDir, {
      durability: opts.durability ?? 'full',
      onSyncError: (e) => log.error({ err: e.message }, 'store log sync failed: acks and assignments of those commits are held back'),
    });
  } catch (e) {
    if (ownsRunner) await runtime.runner?.close();
    throw new Error(`cannot open the gateway store in ${opts.dataDir}: ${(e as Error).message}`);
  }
  const metrics = createMetrics({ defaultMetrics: true });
  const rep = new Reputation(store, opts.checkBudget);
  const fleet = new Fleet(store, rep);
  const runner: TaskRunner | null = runtime.runner;
  // The catalogue and the registry of published modules: what a job may name, and the bytes behind a hash.
  const modules = new Modules({
    db: store.db, catalogue: runtime.catalogue.entries, runner, caps: { memoryPages: limits.memoryPages, timeoutMs: limits.timeoutMs },
    synced: () => store.synced(), log: log.child({ component: 'gateway.modules' }), ...(opts.registry ? { limits: opts.registry } : {}),
  });
  const engine = new Engine({
    store, rep, grants: fleet.grants, log, metrics, resolveModule: modules.resolve, defaultRegion: regions[0]!, regions, spotCheck,
    checker: runner ? new LocalChecker(runner, modules.wasm) : null,
    fuelLimit: limits.fuel, timeoutMs: limits.timeoutMs, memoryPages: limits.memoryPages, leaseMs, checking: opts.checking ?? 'trust',
  });

  let link: GatewayLink | null = null;
  const publish = (topic: string, bytes: Uint8Array, qos: 0 | 1, retain = false) => link?.publish(topic, bytes, { qos, retain });

  const scheduler = new Scheduler({
    store, fleet, log, weights, leaseMs, bidWindowMs, fastPath: opts.fastPath ?? true, fastPathMaxBytes: opts.fastPathMaxBytes ?? 64 * 1024,
    fastPathDepth, placement: opts.placement ?? 'thermal', thermalScanMax: opts.thermalScanMax ?? THERMAL_SCAN_MAX,
    gatewayLocation: opts.location ?? null, memoryPages: limits.memoryPages, timeoutMs: limits.timeoutMs,
    job: engine.job, need: engine.need, exhausted: engine.exhausted, maxAttempts: engine.maxAttempts, leaseExpired: engine.leaseExpired,
    publishOffer: (o) => publish(topics.offer(o.region), seal('offer', o, identity).bytes, 0),
    publishAssign: (m) => {
      metrics.assignMessages.inc();
      metrics.assignedTasks.inc(m.tasks.length);
      publish(topics.assign(m.region, m.nodeId), seal('assign', m, identity).bytes, 1);
    },
  });
  engine.scheduler = scheduler;

  const proofSink: BatchSink = {
    name: 'mqtt-proofs',
    accept: (b) => { for (const r of regions) publish(topics.proofs(r), b.envelope, 1); },
  };
  const { enabled: proofsOn, ...proverOpts } = opts.proofs ?? {};
  const prover = new LedgerProver({
    store, dataDir: opts.dataDir, log, ...proverOpts,
    ...(proofsOn ? {} : { off: 'ledger proofs are off for this gateway (started without them)' }),
  });
  prover.start();
  const batchOpts = { ...(opts.batch ?? {}) };
  if (prover.status().enabled && (batchOpts.maxReceipts ?? 1000) > RECEIPTS_PER_BATCH) {
    log.warn({ maxReceipts: batchOpts.maxReceipts, proven: RECEIPTS_PER_BATCH }, 'batch size capped to what a proven batch holds');
    batchOpts.maxReceipts = RECEIPTS_PER_BATCH;
  }
  // Healthy only while the MQTT link is up: a gateway the broker refuses (its key revoked) is not ok.
  let mqttError: string | null = null;
  const health = () => {
    const up = link?.client.connected === true;
    const p = prover.status();
    return {
      ok: up, nodeId: identity.nodeId, mqtt: up, ...(up ? {} : { mqttError: mqttError ?? 'not connected' }), regions, ...engine.stats(), queued: scheduler.queued, reexecution: runner !== null,
      proofs: p.enabled ? { enabled: true, height: p.height, lag: p.lag, gatewayKey: p.gatewayKey } : { enabled: false, reason: p.reason },
    };
  };
  let access: Access | null = null;
  const consoleState = new Console({ store, fleet, rep, engine, enrollment, metrics, log, gatewayId: identity.nodeId, regions, health }, opts.console ?? {},
    (req) => (access ? streamStillAllowed(access)(req) : false));
  const statsSink: BatchSink = {
    name: 'console-totals',
    accept: (b) => { metrics.batches.inc(); consoleState.onBatch(b); },
  };
  const batcher = new Batcher({ store, identity, region: regions[0]!, ...batchOpts, sinks: [proofSink, statsSink, prover, ...(opts.sinks ?? [])], log });

  // ---- receipt intake: queue, then verify + commit + ack in groups (intake-pipeline.ts) ----
  // A result may start just before its lease ends and run for its whole timeout.
  const intake = new ReceiptIntake({ store, enrollment, lateGraceMs: limits.timeoutMs + 5000 });
  const verifyPool = new VerifyPool(opts.verifyWorkers ?? Math.min(4, availableParallelism()));
  // Acks leave only for committed receipts (the pipeline adds them after the commit), coalesced per node.
  const acks = new AckQueue({
    delayMs: opts.ackDelayMs ?? DEFAULT_ACK_DELAY_MS, maxPerMessage: 1024,
    publish: (region, nodeId, list) => publish(topics.ack(region, nodeId), seal('receipt-ack', { nodeId, acks: list }, identity).bytes, 1),
  });
  const pipeline = new IntakePipeline({
    intake, verifyPool, acks, store, metrics, log,
    onAccepted: (acc) => engine.onResults(acc),
    onStored: (nodeId) => consoleState.history.onTasks(nodeId),
    storedMany: (n) => batcher.poke(n),
  });

  link = new GatewayLink({
    brokerUrl: opts.brokerUrl, meshId, identity, regions, log,
    isEnrolledNode: (id) => enrollment.has(id, 'node'),
    // Adverts and statuses are verified in the verifier workers, off the event loop.
    parseSoft: (items) => verifyPool.parseSoft(items),
    handlers: {
      advert: (a) => {
        if (!fleet.onAdvert(a)) return;
        consoleState.history.onAdvert(a);
        scheduler.schedulePump();
      },
      status: (s) => {
        if (fleet.onStatus(s.nodeId, s.region, s.online)) {
          log.info({ nodeId: s.nodeId }, 'node went offline');
          scheduler.dropNode(s.nodeId, 'lost');
        } else if (s.online) scheduler.schedulePump();
      },
      bid: (b) => { scheduler.onBid(b); },
      result: (bytes, region) => pipeline.push(bytes, region),
    },
  });

  const onRevoked = (e: Enrolled) => {
    if (e.role !== 'node') return;
    log.warn({ nodeId: e.nodeId }, 'node revoked: its leases return to the queue');
    fleet.onStatus(e.nodeId, fleet.get(e.nodeId)?.region ?? regions[0]!, false);
    scheduler.dropNode(e.nodeId, 'cancelled');
  };
  enrollment.on('revoked', onRevoked);

  // Every module (catalogue and registry), retained and signed by us as publisher, so agents
  // can fetch it; again on every reconnect, since a broker restarted without persistence has
  // lost them. A newly published module goes out at once.
  const announce = (m: { name: string; hash: Uint8Array; hashHex: string; wasm: Uint8Array; description: string }) =>
    publish(topics.module(m.hashHex), runtime.moduleEnvelope(m, identity), 1, true);
  link.onConnect(() => { for (const m of modules.announcements()) announce(m); });
  modules.onPublished = (m) => { announce(m); consoleState.onModule(); };

  engine.load();
  batcher.poke(); // receipts a crash left unbatched
  consoleState.start();
  const housekeeping = setInterval(() => {
    engine.checkDeadlines();
    const s = engine.stats();
    metrics.openTasks.set(s.openTasks);
    metrics.queued.set(scheduler.queued);
    metrics.nodesOnline.set(fleet.onlineCount());
  }, 1000);
  housekeeping.unref();

  link.client.on('error', (e) => { mqttError = e.message.slice(0, 200); });
  link.client.on('connect', () => { mqttError = null; });
  const revoke = (id: string): RevokeAnswer => {
    const e = enrollment.get(id);
    if (!e) return 'unknown';
    // Revoking our own key would cut us off the mesh for good (and `swarmlet gateway` would write it to the enrollment file).
    if (id === identity.nodeId) return 'self';
    if (e.role === 'gateway') return 'gateway';
    return enrollment.revoke(id) ? 'revoked' : 'unknown';
  };

  let http: Awaited<ReturnType<typeof startHttp>>;
  try {
    access = Access.open(opts.dataDir, opts.access ?? {}, {
      limits: opts.quota,
      deps: {
        openTasksOf: (id) => engine.job(id)?.remaining,
        totals: () => engine.stats(),
        onError: (e) => log.warn({ err: e.message }, 'job owner not recorded'),
      },
    });
    const quota = access.quota;
    await link.ready(15_000);
    http = await startHttp({
      log, metrics, batchDelayMs: batcher.maxDelayMs, quota: quota.limits,
      health,
      nodes: () => consoleState.nodes(Date.now(), true),
      revoke,
      submitJob: async (spec, owner) => {
        const bytes = spec.inputs.reduce((n, b) => n + b.length, 0);
        const { id } = quota.admit(owner, spec.inputs.length, bytes, () => engine.submit(spec));
        await store.synced();
        return { id };
      },
      listJobs: (p) => consoleState.queries.jobs(p),
      getJob: (id, withResults) => { const r = store.getJob(id); return r ? jobView(store, r, withResults ?? r.state !== 'running') : undefined; },
      proof: (id) => batcher.proveInclusion(id),
      batches: (p) => consoleState.queries.batches(p),
      batchTotals: () => consoleState.batchTotals(),
      console: consoleState,
      modules,
      ledger: () => ({
        nodes: store.ledgerByNode().map((n) => ({ nodeId: n.node_id, receipts: n.receipts, fuel: n.fuel, credits: n.credits, voided: n.voided })),
        jobs: store.ledgerByJob().map((j) => ({ jobId: j.job_id, receipts: j.receipts, fuel: j.fuel, credits: j.credits })),
      }),
      prover,
    }, access, opts.http ?? {});
  } catch (e) {
    access?.close();
    consoleState.stop();
    clearInterval(housekeeping);
    scheduler.stop();
    batcher.stop(false);
    await prover.stop();
    link.kill();
    await verifyPool.close();
    enrollment.off('revoked', onRevoked);
    if (ownsRunner) await runner?.close();
    store.close();
    throw e;
  }
  log.info({ url: http.url, regions, tasks: runtime.catalogue.entries.length }, 'gateway started');

  let stopped = false;
  const handle: GatewayHandle = {
    url: http.url,
    nodeId: identity.nodeId,
    publicKey: identity.publicKey,
    store,
    metrics,
    prover,
    access: access!,
    console: consoleState,
    modules,
    async submitJob(spec) {
      const { id } = engine.submit(spec);
      await store.synced(); // the job is on disk before its id is handed out
      return { id };
    },
    getJob(id) {
      const r = store.getJob(id);
      return r ? jobView(store, r) : undefined;
    },
    async waitForJob(id, timeoutMs) {
      if (!store.getJob(id)) throw new BadJob(`no job ${id}`);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`job ${id} still running after ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        await Promise.race([engine.whenDone(id), timeout]);
      } finally {
        clearTimeout(timer);
      }
      return handle.getJob(id)!;
    },
    flushBatches() {
      while (batcher.cut()) { /* seal all */ }
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      engine.stopped = true;
      clearInterval(housekeeping);
      enrollment.off('revoked', onRevoked);
      consoleState.stop();
      await http.server.close();
      access!.close();
      scheduler.stop();
      await pipeline.flush();
      acks.flush();
      await verifyPool.close();
      batcher.stop(true);
      await prover.stop();
      await new Promise((r) => setImmediate(r)); // let batch sinks publish before the link closes
      await link!.close();
      if (ownsRunner) await runner?.close();
      fleet.flush();
      await store.closeAsync();
      log.info('gateway stopped');
    },
  };
  return handle;
}
