/**
 * What the operator console needs from a running gateway, in one place: device history
 * (history.ts), alerts (alerts.ts), live push (live.ts), the drill-down and list queries
 * (queries.ts), per-node metrics (node-metrics.ts), and the operator's actions on devices
 * and jobs (drain, readmit (enroll again or lift a quarantine), approve or refuse a join
 * request, cancel a job). The HTTP
 * routes over it are in routes.ts. It only reads the gateway's parts, except through the
 * actions, which go through the same objects the rest of the gateway uses (Fleet,
 * Enrollment, Engine).
 */
import { fromHex, toHex } from '../../protocol/hash.js';
import { nodeIdFromPublicKey } from '../../protocol/identity.js';
import type { Enrollment } from '../../protocol/enrollment.js';
import type { JoinRequest } from '../../protocol/pending.js';
import type { Logger } from '../../util/log.js';
import type { SealedBatch } from '../batcher.js';
import type { Engine } from '../engine.js';
import type { AlertView, Fleet, NodeView } from '../fleet.js';
import type { GatewayMetrics } from '../metrics.js';
import type { Store } from '../store.js';
import type { Reputation } from '../trust.js';
import { Alerts, type AlertOptions } from './alerts.js';
import { History, type HistoryOptions } from './history.js';
import { LiveHub, type LiveDeps, type LiveOptions } from './live.js';
import { registerNodeMetrics } from './node-metrics.js';
import { ConsoleQueries } from './queries.js';
import { ensureConsoleTables } from './schema.js';

export interface ConsoleOptions {
  history?: HistoryOptions;
  alerts?: AlertOptions;
  live?: LiveOptions;
  /** Per-node series on /metrics for at most this many nodes (default 1000). */
  maxNodeSeries?: number;
}

export type EnrollmentStatus = 'enrolled' | 'revoked' | 'unknown';

/** A node as the console shows it: the fleet's view, with its enrollment name and status. */
export interface ConsoleNode extends NodeView {
  name: string | null;
  enrollment: EnrollmentStatus;
}

export interface ConsoleDeps {
  store: Store;
  fleet: Fleet;
  rep: Reputation;
  engine: Engine;
  enrollment: Enrollment;
  metrics: GatewayMetrics;
  log: Logger;
  gatewayId: string;
  regions: readonly string[];
  /** The gateway's health (MQTT link up, open jobs and tasks, queue). */
  health(): { ok: boolean; mqtt: boolean; openJobs?: number; openTasks?: number; queued?: number } & Record<string, unknown>;
}

export class ActionError extends Error {
  constructor(readonly status: 400 | 403 | 404 | 409, message: string) {
    super(message);
  }
}

export class Console {
  readonly history: History;
  readonly alerts: Alerts;
  readonly queries: ConsoleQueries;
  readonly hub: LiveHub<ConsoleNode>;
  private readonly totals: { batches: number; receipts: number; fuel: number };
  private batchVersion = 0;
  private moduleVersion = 0;
  private alertTimer: NodeJS.Timeout | null = null;
  private readonly flags: { set: (id: string, drained: boolean, now: number) => void; all: () => Array<{ node_id: string; drained: number }> };

  constructor(private readonly d: ConsoleDeps, o: ConsoleOptions = {}, stillAllowed: LiveDeps<ConsoleNode>['stillAllowed'] = () => true) {
    ensureConsoleTables(d.store.db);
    this.queries = new ConsoleQueries(d.store);
    this.totals = this.queries.batchTotals();
    const setFlag = d.store.db.prepare('INSERT INTO console_node_flags (node_id, drained, updated_at) VALUES (?, ?, ?) ON CONFLICT(node_id) DO UPDATE SET drained = excluded.drained, updated_at = excluded.updated_at');
    const allFlags = d.store.db.prepare('SELECT node_id, drained FROM console_node_flags WHERE drained = 1');
    this.flags = {
      set: (id, drained, now) => { setFlag.run(id, drained ? 1 : 0, now); },
      all: () => allFlags.all() as Array<{ node_id: string; drained: number }>,
    };
    for (const f of this.flags.all()) d.fleet.setDrained(f.node_id, true);
    this.history = new History(d.store.db, {
      nodes: () => d.fleet.known(),
      reputation: (id) => d.rep.get(id).reputation,
    }, o.history, d.log);
    this.alerts = new Alerts(o.alerts);
    this.hub = new LiveHub<ConsoleNode>({
      nodes: () => this.nodes(),
      summary: (nodes) => this.summary(nodes),
      alerts: () => ({ version: this.alerts.version, list: () => this.alerts.list() }),
      jobs: () => this.runningJobs(),
      batchVersion: () => this.batchVersion,
      moduleVersion: () => this.moduleVersion,
      batchTotals: () => ({ ...this.totals }),
      stillAllowed,
      hello: () => ({ gatewayId: d.gatewayId, regions: d.regions, now: Date.now(), historyStepMs: this.history.stepMs }),
    }, o.live);
    registerNodeMetrics(d.metrics.registry, () => d.fleet.liveViews(), this.alerts, this.history, o.maxNodeSeries);
  }

  start(): void {
    // Every closed history bucket goes out live: charts on screen grow without polling.
    this.history.onTick = () => {
      if (this.hub.size === 0) return;
      const p = this.history.latest();
      if (p) this.hub.send('history', p);
    };
    this.history.start();
    const tick = () => {
      try {
        this.evaluateAlerts();
      } catch (e) {
        this.d.log.warn({ err: (e as Error).message }, 'alert evaluation failed');
      }
    };
    this.alertTimer = setInterval(tick, 1000);
    this.alertTimer.unref?.();
  }

  stop(): void {
    this.history.stop();
    this.hub.closeAll();
    if (this.alertTimer) clearInterval(this.alertTimer);
    this.alertTimer = null;
  }

  evaluateAlerts(now = Date.now()): void {
    this.alerts.evaluate({
      nodes: this.alertNodes(now),
      jobs: this.runningJobs(),
      mqttUp: this.d.health().mqtt,
      pendingJoins: this.d.enrollment.pending.size,
    }, now);
  }

  /** A sealed batch (the gateway's batch sink): totals over every batch, not a page of them. */
  onBatch(b: SealedBatch): void {
    this.totals.batches++;
    this.totals.receipts += b.header.count;
    this.totals.fuel += b.header.fuelTotal;
    this.batchVersion++;
  }

  /** A module was published (the gateway's registry): pages showing the module list reload it. */
  onModule(): void {
    this.moduleVersion++;
  }

  batchTotals(): { batches: number; receipts: number; fuel: number } {
    return { ...this.totals };
  }

  // ---- views -------------------------------------------------------------------------
  private enrollmentOf(id: string): { status: EnrollmentStatus; name: string | null } {
    const e = this.d.enrollment.get(id);
    if (e) return { status: 'enrolled', name: e.name ?? null };
    const r = this.d.enrollment.revocation(id);
    return r ? { status: 'revoked', name: r.name ?? null } : { status: 'unknown', name: null };
  }

  /**
   * Every node the gateway knows, and enrolled devices it has not seen yet. `exact` reads
   * the store's node rows now (the API); otherwise rows read at most 10 s ago are used
   * with what is in memory (the live push, several times a second).
   */
  nodes(now = Date.now(), exact = false): ConsoleNode[] {
    const out: ConsoleNode[] = [];
    const seen = new Set<string>();
    for (const v of exact ? this.d.fleet.views(now) : this.d.fleet.liveViews(now)) {
      seen.add(v.id);
      const e = this.enrollmentOf(v.id);
      out.push({ ...v, name: e.name, enrollment: e.status });
    }
    for (const e of this.d.enrollment.list()) {
      if (e.role !== 'node' || seen.has(e.nodeId)) continue;
      out.push({ ...neverSeen(e.nodeId, this.d.rep.get(e.nodeId)), name: e.name ?? null, enrollment: 'enrolled' });
    }
    return out;
  }

  /**
   * What the alerts test, for the same nodes as nodes(): enrolled devices never seen can
   * raise only a quarantine, so only those are looked up (not the whole enrollment).
   */
  private alertNodes(now: number): Array<AlertView & { enrolled: boolean }> {
    const out: Array<AlertView & { enrolled: boolean }> = [];
    const seen = new Set<string>();
    for (const v of this.d.fleet.alertViews(now)) {
      seen.add(v.id);
      out.push(Object.assign(v, { enrolled: this.d.enrollment.get(v.id) !== undefined }));
    }
    for (const id of this.d.rep.quarantinedIds()) {
      if (seen.has(id) || this.d.enrollment.get(id)?.role !== 'node') continue;
      out.push({ id, online: false, quarantined: true, thermalState: null, throttled: null, benchedUntil: null, lastSeen: null, enrolled: true });
    }
    return out;
  }

  node(id: string, now = Date.now()): ConsoleNode | undefined {
    const v = this.d.fleet.view(id, now);
    const e = this.enrollmentOf(id);
    if (v) return { ...v, name: e.name, enrollment: e.status };
    const en = this.d.enrollment.get(id);
    if (en?.role === 'node') return { ...neverSeen(id, this.d.rep.get(id)), name: e.name, enrollment: 'enrolled' };
    return undefined;
  }

  summary(nodes: readonly ConsoleNode[]): Record<string, unknown> {
    const h = this.d.health();
    const states = { cool: 0, warm: 0, hot: 0, critical: 0 };
    let online = 0, freeSlots = 0, granted = 0, quarantined = 0, drained = 0, enrolled = 0;
    for (const n of nodes) {
      if (n.enrollment === 'enrolled') enrolled++;
      if (n.quarantined) quarantined++;
      if (n.drained) drained++;
      if (!n.online) continue;
      online++;
      freeSlots += n.freeSlots ?? 0;
      granted += n.grantedSlots;
      if (n.thermalState) states[n.thermalState]++;
    }
    return {
      gateway: { id: this.d.gatewayId, ok: h.ok, mqtt: h.mqtt, mqttError: h.mqttError ?? null, regions: this.d.regions },
      nodes: { total: nodes.length, enrolled, online, freeSlots, grantedSlots: granted, quarantined, drained, states },
      work: { openJobs: h.openJobs ?? 0, openTasks: h.openTasks ?? 0, queued: h.queued ?? 0 },
      batches: { ...this.totals },
      alerts: this.alerts.counts(),
      pending: this.d.enrollment.pending.size,
    };
  }

  runningJobs(): Array<{ id: string; task: string; tasks: number; finished: number }> {
    const out = [];
    for (const j of this.d.engine.jobs.values()) out.push({ id: j.id, task: j.taskName, tasks: j.tasks.length, finished: j.tasks.length - j.remaining });
    return out;
  }

  /** Everything the drill-down shows about one node (history comes separately). */
  detail(id: string, now = Date.now()): Record<string, unknown> | undefined {
    const node = this.node(id, now);
    const pending = this.d.enrollment.pending.get(id);
    if (!node && !pending) return undefined;
    const rev = this.d.enrollment.revocation(id);
    const en = this.d.enrollment.get(id) ?? rev;
    return {
      node: node ?? null,
      enrollment: {
        status: pending && !en ? 'pending' : this.enrollmentOf(id).status, role: en?.role ?? null, name: en?.name ?? null,
        publicKey: en ? toHex(en.publicKey) : pending ? toHex(pending.publicKey) : null,
        revokedAt: rev ? Date.parse(rev.at) : null,
        revokedReason: rev?.reason ?? null,
      },
      request: pending ? joinView(pending) : null,
      standing: { ...this.d.rep.get(id), ...(this.queries.standing(id) ?? {}) },
      grants: this.d.fleet.grants.view(id, now),
      leases: this.queries.leases(id),
      receipts: this.queries.receipts(id, 20, 0),
      billing: this.queries.billing(id),
      alerts: this.alerts.forSubject(id),
    };
  }

  // ---- actions -----------------------------------------------------------------------
  drain(id: string, on: boolean, by: string, now = Date.now()): boolean {
    if (!this.node(id, now)) throw new ActionError(404, `no node ${id}`);
    const changed = this.d.fleet.setDrained(id, on);
    this.flags.set(id, on, now);
    if (changed) this.d.log.warn({ nodeId: id, drained: on, by }, on ? 'node drained: no new work' : 'node undrained');
    return changed;
  }

  /**
   * Let a device back in. A revoked (or refused) key is enrolled again in the role and name
   * it had; otherwise a quarantined device has its quarantine lifted (its results are then
   * checked from scratch). One decision per call: a key both revoked and quarantined stays
   * quarantined after it is enrolled again (`quarantined` in the answer), and a second
   * readmit lifts the quarantine.
   */
  readmit(id: string, by: string): { enrolled: boolean; quarantineLifted: boolean; quarantined: boolean } {
    const r = this.d.enrollment.revocation(id);
    if (r) {
      if ((r.role ?? 'node') !== 'node') throw new ActionError(409, `node ${id} is a ${r.role} key: readmit it in the enrollment file, not through the API`);
      this.d.enrollment.readmit(id);
      this.d.log.warn({ nodeId: id, by }, 'node readmitted through the API: enrolled again');
      return { enrolled: true, quarantineLifted: false, quarantined: this.d.rep.isQuarantined(id) };
    }
    if (this.d.rep.readmit(id)) {
      this.d.log.warn({ nodeId: id, by }, 'node readmitted from quarantine: every result checked again until it earns trust');
      return { enrolled: false, quarantineLifted: true, quarantined: false };
    }
    if (this.d.enrollment.has(id)) throw new ActionError(409, `node ${id} is not quarantined (nor revoked)`);
    throw new ActionError(404, `node ${id} was not revoked here (enroll it with its public key)`);
  }

  approve(id: string, name: string | undefined, by: string): void {
    const p = this.d.enrollment.pending.get(id);
    if (!p) throw new ActionError(404, `no join request from ${id}`);
    if (this.d.enrollment.has(id)) throw new ActionError(409, `node ${id} is enrolled already`);
    this.d.enrollment.add(p.publicKey, 'node', name);
    this.d.log.warn({ nodeId: id, name, by }, 'join request approved: device enrolled');
  }

  deny(id: string, by: string): void {
    const p = this.d.enrollment.pending.get(id);
    if (!p) throw new ActionError(404, `no join request from ${id}`);
    this.d.enrollment.deny(p.publicKey);
    this.d.log.warn({ nodeId: id, by }, 'join request refused');
  }

  /** Enroll a device key by hand (role node). */
  enroll(publicKeyHex: string, name: string | undefined, by: string): string {
    const key = fromHex(publicKeyHex);
    const id = nodeIdFromPublicKey(key);
    const cur = this.d.enrollment.get(id);
    if (cur) throw new ActionError(409, `node ${id} is enrolled already (as ${cur.role})`);
    this.d.enrollment.add(key, 'node', name);
    this.d.log.warn({ nodeId: id, name, by }, 'device enrolled through the API');
    return id;
  }

  cancelJob(id: string, by: string): void {
    if (!this.d.store.getJob(id)) throw new ActionError(404, `no job ${id}`);
    if (!this.d.engine.cancel(id, `cancelled by ${by}`)) throw new ActionError(409, `job ${id} is not running`);
    this.d.log.warn({ jobId: id, by }, 'job cancelled');
  }

  enrollmentList(): { keys: unknown[]; revoked: unknown[]; pending: unknown[] } {
    return {
      keys: this.d.enrollment.list().map((e) => ({ nodeId: e.nodeId, role: e.role, name: e.name ?? null, publicKey: toHex(e.publicKey) })),
      revoked: this.d.enrollment.revocations().map((e) => ({ nodeId: e.nodeId, role: e.role ?? 'node', name: e.name ?? null, publicKey: toHex(e.publicKey), revokedAt: Date.parse(e.at), reason: e.reason })),
      pending: this.d.enrollment.pending.list().map(joinView),
    };
  }
}

export function joinView(r: JoinRequest): Record<string, unknown> {
  return { nodeId: r.nodeId, publicKey: toHex(r.publicKey), clientId: r.clientId, address: r.address, firstSeen: r.firstSeen, lastSeen: r.lastSeen, attempts: r.attempts };
}

function neverSeen(id: string, s: { reputation: number; quarantined: boolean }): NodeView {
  return {
    id, region: null, online: false, thermalState: null, temperatureC: null, throttled: null, load: null, memFreeMb: null, power: null, location: null,
    version: null, advertAt: null, slots: null, freeSlots: null, fuelRate: null, headroom: null, priceFloor: null, profile: null,
    reputation: s.reputation, quarantined: s.quarantined, leases: 0, grantedSlots: 0, benchedUntil: null, drained: false, lastSeen: null,
    clock: null, budget: null, sustain: null, sprintS: null, trendCPerMin: null,
  };
}
