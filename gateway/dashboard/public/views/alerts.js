// Alerts: what needs an operator now (critical first), and what cleared recently. Pushed;
// both lists searchable, filterable by severity and kind, sortable and paged.
import { el, ago, when } from '../lib/dom.js';
import { createTable } from '../lib/table.js';

const link = (a) => (a.kind.startsWith('node-') ? `#/devices/${a.subject}` : a.kind === 'job-stalled' ? `#/jobs/${a.subject}` : a.kind === 'join-request' ? '#/enrollment' : null);
const RANK = { critical: 0, warning: 1, info: 2 };
const KINDS = ['node-critical', 'node-quarantined', 'node-offline', 'node-benched', 'node-undervoltage', 'job-stalled', 'gateway-mqtt', 'join-request'];

function alertTable(ctx, id, list, resolved) {
  return createTable({
    id, limit: 25, sizes: [25, 50, 100],
    key: (a) => `${a.id}@${a.since}`,
    items: list,
    searchPlaceholder: 'search alerts',
    match: (a, q) => a.message.toLowerCase().includes(q) || a.subject.startsWith(q),
    filters: [
      { name: 'severity', label: 'any severity', options: [['critical', 'critical'], ['warning', 'warning'], ['info', 'info']] },
      { name: 'kind', label: 'any kind', options: KINDS.map((k) => [k, k]) },
    ],
    filter: (a, f) => (!f.severity || a.severity === f.severity) && (!f.kind || a.kind === f.kind),
    sort: resolved ? 'cleared' : 'severity', desc: !!resolved,
    rowClass: (a) => ['alert-row', true],
    empty: resolved ? 'none' : 'no active alerts',
    columns: [
      { key: 'severity', label: 'severity', sort: 'severity', sortKey: (a) => RANK[a.severity], cell: (td, a) => { if (td.dataset.k !== a.severity) { td.dataset.k = a.severity; td.replaceChildren(el('span', { class: `sev ${a.severity}` }, a.severity)); } } },
      { key: 'kind', label: 'kind', sort: 'kind' },
      { key: 'message', label: 'what', cls: 'wrap', cell: (td, a) => { if (td.dataset.k !== a.message) { td.dataset.k = a.message; const href = link(a); td.replaceChildren(href ? el('a', { href }, a.message) : a.message); } } },
      { key: 'since', label: 'since', sort: 'since', descFirst: true, cell: (td, a) => { td.textContent = ago(a.since); td.title = when(a.since); } },
      ...(resolved ? [{ key: 'resolvedAt', label: 'cleared', sort: 'cleared', sortKey: (a) => a.resolvedAt, cell: (td, a) => { td.textContent = ago(a.resolvedAt); td.title = when(a.resolvedAt); } }] : []),
    ],
  });
}

export function mount(ctx, box) {
  const active = alertTable(ctx, 'alerts-active', () => ctx.live.state.alerts.active, false);
  const recent = alertTable(ctx, 'alerts-recent', () => ctx.live.state.alerts.recent, true);
  box.append(el('h2', {}, 'Alerts'),
    el('section', { class: 'panel' }, el('h3', {}, 'Active'), active.root),
    el('section', { class: 'panel' }, el('h3', {}, 'Cleared recently'), recent.root),
    el('p', { class: 'muted' }, 'Raised: a device critical, quarantined, offline, benched or on low voltage; a job that stopped moving; the gateway\'s MQTT link down; devices waiting to join. Also on /metrics as swarmlet_alerts_active{kind}.'));
  active.renderNow();
  recent.renderNow();
  const offs = [ctx.live.on('alerts', () => { active.refresh(); recent.refresh(); })];
  return { unmount: () => offs.forEach((f) => f()) };
}
