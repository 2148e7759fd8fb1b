/**
 * Per-node and per-state gauges on /metrics, computed when Prometheus scrapes (no work in
 * between, and no series left behind for a node that is gone: each scrape starts afresh).
 *
 * Cardinality is bounded: per-node series (a `node` label each) for at most `maxNodes`
 * nodes (default 1000; online nodes first, then by id), `swarmlet_node_series_dropped`
 * says how many were left out; the fleet gauges have a fixed label set.
 */
import { Gauge, type Registry } from 'prom-client';
import { THERMAL_STATES } from '../../protocol/messages.js';
import type { NodeView } from '../fleet.js';
import { ALERT_KINDS, type Alerts } from './alerts.js';
import type { History } from './history.js';

export function registerNodeMetrics(registry: Registry, views: () => NodeView[], alerts: Alerts, history: History, maxNodes = 1000): void {
  const registers = [registry];
  let cache: { at: number; views: NodeView[] } | null = null;
  // One scrape reads every gauge's collect; compute the views once per scrape.
  const current = () => {
    const now = Date.now();
    if (!cache || now - cache.at > 500) {
      const all = views();
      all.sort((a, b) => Number(b.online) - Number(a.online) || (a.id < b.id ? -1 : 1));
      cache = { at: now, views: all };
    }
    return cache.views;
  };
  const limited = () => current().slice(0, maxNodes);

  new Gauge({
    name: 'swarmlet_node_temperature_celsius', help: 'Temperature each online node advertised last', labelNames: ['node'], registers,
    collect() {
      this.reset();
      for (const n of limited()) if (n.online && n.temperatureC !== null) this.set({ node: n.id }, n.temperatureC);
    },
  });
  new Gauge({
    name: 'swarmlet_node_slots', help: 'Slots per node: advertised, free (advertised), granted (what the gateway fills), leased (ours held)', labelNames: ['node', 'kind'], registers,
    collect() {
      this.reset();
      for (const n of limited()) {
        if (!n.online) continue;
        this.set({ node: n.id, kind: 'advertised' }, n.slots ?? 0);
        this.set({ node: n.id, kind: 'free' }, n.freeSlots ?? 0);
        this.set({ node: n.id, kind: 'granted' }, n.grantedSlots);
        this.set({ node: n.id, kind: 'leased' }, n.leases);
      }
    },
  });
  new Gauge({
    name: 'swarmlet_node_state', help: 'Thermal state of each online node (1 for its state, 0 for the others)', labelNames: ['node', 'state'], registers,
    collect() {
      this.reset();
      for (const n of limited()) {
        if (!n.online || !n.thermalState) continue;
        for (const s of THERMAL_STATES) this.set({ node: n.id, state: s }, n.thermalState === s ? 1 : 0);
      }
    },
  });
  new Gauge({
    name: 'swarmlet_node_up', help: 'Whether each known node is online (1) or not (0)', labelNames: ['node'], registers,
    collect() {
      this.reset();
      for (const n of limited()) this.set({ node: n.id }, n.online ? 1 : 0);
    },
  });
  new Gauge({
    name: 'swarmlet_node_reputation', help: 'Reputation of each known node (0..1)', labelNames: ['node'], registers,
    collect() {
      this.reset();
      for (const n of limited()) this.set({ node: n.id }, n.reputation);
    },
  });
  new Gauge({
    name: 'swarmlet_node_series_dropped', help: 'Nodes left out of the per-node series (over the cardinality bound)', registers,
    collect() {
      this.set(Math.max(0, current().length - maxNodes));
    },
  });
  new Gauge({
    name: 'swarmlet_nodes', help: 'Nodes by condition: online in each thermal state, offline, quarantined, drained, benched', labelNames: ['condition'], registers,
    collect() {
      const c: Record<string, number> = { offline: 0, quarantined: 0, drained: 0, benched: 0 };
      for (const s of THERMAL_STATES) c[s] = 0;
      for (const n of current()) {
        if (!n.online) c.offline!++;
        else if (n.thermalState) c[n.thermalState]!++;
        if (n.quarantined) c.quarantined!++;
        if (n.drained) c.drained!++;
        if (n.benchedUntil !== null) c.benched!++;
      }
      for (const [k, v] of Object.entries(c)) this.set({ condition: k }, v);
    },
  });
  new Gauge({
    name: 'swarmlet_history_ring_bytes', help: 'Memory the console history ring holds (bounded: nodes x 10 fields x points x 4 bytes)', registers,
    collect() { this.set(history.memory().bytes); },
  });
  new Gauge({
    name: 'swarmlet_history_rollup', help: 'The last minute rollup of the console history: rows written, and milliseconds it took (one transaction)', labelNames: ['what'], registers,
    collect() {
      this.set({ what: 'rows' }, history.lastRollup.rows);
      this.set({ what: 'ms' }, Math.round(history.lastRollup.ms * 1000) / 1000);
    },
  });
  new Gauge({
    name: 'swarmlet_alerts_active', help: 'Active console alerts by kind', labelNames: ['kind'], registers,
    collect() {
      const counts = alerts.counts() as Record<string, number>;
      for (const k of ALERT_KINDS) this.set({ kind: k }, counts[k] ?? 0);
    },
  });
}
