/**
 * Alerts: conditions an operator should see, evaluated once a second from what the gateway
 * knows (no extra state on the hot paths). An alert is active while its condition holds;
 * when it clears it moves to a bounded list of recent ones.
 *
 *   node-critical     an online device at thermal state critical (takes no work)
 *   node-quarantined  a device caught returning a wrong result
 *   node-offline      an enrolled device seen in the last day is offline (after a grace period)
 *   node-benched      a device that let its leases expire gets no work for a while
 *   node-undervoltage a Raspberry Pi reporting under-voltage now (firmware bit 0)
 *   job-stalled       a running job whose progress has not moved for `jobStallMs`
 *   gateway-mqtt      the gateway's own MQTT link is down
 *   join-request      devices waiting for an operator to approve them
 *
 * Alert text is built from ids and numbers the gateway checked, never from device strings.
 */
import type { AlertView } from '../fleet.js';

export type Severity = 'critical' | 'warning' | 'info';
export const ALERT_KINDS = ['node-critical', 'node-quarantined', 'node-offline', 'node-benched', 'node-undervoltage', 'job-stalled', 'gateway-mqtt', 'join-request'] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

export interface Alert {
  id: string;
  kind: AlertKind;
  severity: Severity;
  /** A node id, a job id, or 'gateway'. */
  subject: string;
  message: string;
  since: number;
  resolvedAt?: number;
}

export interface AlertInputs {
  nodes: readonly (AlertView & { enrolled: boolean })[];
  /** Running jobs with their progress (tasks finished) and size. */
  jobs: ReadonlyArray<{ id: string; finished: number; tasks: number }>;
  mqttUp: boolean;
  pendingJoins: number;
}

export interface AlertOptions {
  /** A node offline this long (ms) raises node-offline. Default 60 s. */
  offlineGraceMs?: number;
  /** Only nodes seen within this long (ms) raise node-offline. Default 24 h. */
  offlineWindowMs?: number;
  /** A running job with no progress for this long (ms) is stalled. Default 120 s. */
  jobStallMs?: number;
}

const MAX_RECENT = 100;
const short = (id: string) => id.slice(0, 10);

export class Alerts {
  private readonly active = new Map<string, Alert>();
  private readonly recent: Alert[] = [];
  private readonly progress = new Map<string, { finished: number; since: number }>();
  private readonly startedAt: number;
  private readonly o: Required<AlertOptions>;
  /** Changes since start (the live push sends the list when this moves). */
  version = 0;

  constructor(o: AlertOptions = {}, now = Date.now()) {
    this.o = { offlineGraceMs: o.offlineGraceMs ?? 60_000, offlineWindowMs: o.offlineWindowMs ?? 24 * 3600_000, jobStallMs: o.jobStallMs ?? 120_000 };
    this.startedAt = now;
  }

  evaluate(x: AlertInputs, now = Date.now()): void {
    const want = new Map<string, Omit<Alert, 'id' | 'since'>>();
    const raise = (kind: AlertKind, severity: Severity, subject: string, message: string) => want.set(`${kind}:${subject}`, { kind, severity, subject, message });
    for (const n of x.nodes) {
      if (!n.enrolled) continue;
      if (n.quarantined) raise('node-quarantined', 'critical', n.id, `device ${short(n.id)} is quarantined: it returned a wrong result`);
      if (n.online && n.thermalState === 'critical') raise('node-critical', 'critical', n.id, `device ${short(n.id)} is critical (over its thermal limit): it takes no work`);
      if (n.online && n.throttled && n.throttled.now.underVoltage) raise('node-undervoltage', 'warning', n.id, `device ${short(n.id)} reports under-voltage (check its power supply)`);
      if (n.benchedUntil !== null) raise('node-benched', 'warning', n.id, `device ${short(n.id)} let its leases expire: no work until ${new Date(n.benchedUntil).toISOString().slice(11, 19)} UTC`);
      const seen = n.lastSeen ?? 0;
      // Right after a start every node looks offline until it advertises: wait the grace period first.
      if (!n.online && seen > 0 && now - seen > this.o.offlineGraceMs && now - seen < this.o.offlineWindowMs && now - this.startedAt > this.o.offlineGraceMs) {
        raise('node-offline', 'warning', n.id, `device ${short(n.id)} is offline`);
      }
    }
    const running = new Set<string>();
    for (const j of x.jobs) {
      running.add(j.id);
      const p = this.progress.get(j.id);
      if (!p || p.finished !== j.finished) { this.progress.set(j.id, { finished: j.finished, since: now }); continue; }
      if (now - p.since > this.o.jobStallMs) raise('job-stalled', 'warning', j.id, `job ${j.id} has not moved for over ${Math.round(this.o.jobStallMs / 1000)} s (${j.finished}/${j.tasks} tasks finished)`);
    }
    for (const id of this.progress.keys()) if (!running.has(id)) this.progress.delete(id);
    if (!x.mqttUp) raise('gateway-mqtt', 'critical', 'gateway', 'the gateway\'s MQTT link is down: devices cannot be reached');
    if (x.pendingJoins > 0) raise('join-request', 'info', 'enrollment', `${x.pendingJoins} device${x.pendingJoins === 1 ? '' : 's'} asked to join: approve or refuse them under Enrollment`);

    let changed = false;
    for (const [id, a] of this.active) {
      if (want.has(id)) continue;
      this.active.delete(id);
      this.recent.unshift({ ...a, resolvedAt: now });
      if (this.recent.length > MAX_RECENT) this.recent.pop();
      changed = true;
    }
    for (const [id, a] of want) {
      const cur = this.active.get(id);
      if (cur) {
        if (cur.message !== a.message) { cur.message = a.message; changed = true; }
        continue;
      }
      this.active.set(id, { id, ...a, since: now });
      changed = true;
    }
    if (changed) this.version++;
  }

  list(): { active: Alert[]; recent: Alert[] } {
    const rank: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };
    const active = [...this.active.values()].sort((a, b) => rank[a.severity] - rank[b.severity] || b.since - a.since);
    return { active, recent: [...this.recent] };
  }

  counts(): Record<Severity, number> & Partial<Record<AlertKind, number>> {
    const c: Record<string, number> = { critical: 0, warning: 0, info: 0 };
    for (const a of this.active.values()) { c[a.severity]!++; c[a.kind] = (c[a.kind] ?? 0) + 1; }
    return c as Record<Severity, number>;
  }

  forSubject(subject: string): Alert[] {
    return [...this.active.values()].filter((a) => a.subject === subject);
  }
}
