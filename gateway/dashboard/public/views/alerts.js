// Alerts: what needs an operator now (critical first), and what cleared recently. Pushed.
import { el, ago, when } from '../lib/dom.js';

const link = (a) => (a.kind.startsWith('node-') ? `#/devices/${a.subject}` : a.kind === 'job-stalled' ? `#/jobs/${a.subject}` : a.kind === 'join-request' ? '#/enrollment' : null);

function row(a, resolved) {
  const href = link(a);
  return el('tr', { class: `alert-row ${a.severity}`, 'data-alert': a.id },
    el('td', {}, el('span', { class: `sev ${a.severity}` }, a.severity)),
    el('td', {}, a.kind),
    el('td', { class: 'wrap' }, href ? el('a', { href }, a.message) : a.message),
    el('td', {}, el('span', { title: when(a.since) }, ago(a.since))),
    resolved ? el('td', {}, el('span', { title: when(a.resolvedAt) }, `cleared ${ago(a.resolvedAt)}`)) : null);
}

export function mount(ctx, box) {
  const active = el('tbody');
  const recent = el('tbody');
  const render = () => {
    const a = ctx.live.state.alerts;
    active.replaceChildren(...(a.active.length ? a.active.map((x) => row(x, false)) : [el('tr', {}, el('td', { colspan: '4', class: 'muted' }, 'no active alerts'))]));
    recent.replaceChildren(...(a.recent.length ? a.recent.map((x) => row(x, true)) : [el('tr', {}, el('td', { colspan: '5', class: 'muted' }, 'none'))]));
  };
  const head = (...h) => el('thead', {}, el('tr', {}, ...h.map((x) => el('th', {}, x))));
  box.append(el('h2', {}, 'Alerts'),
    el('section', { class: 'panel' }, el('h3', {}, 'Active'), el('div', { class: 'scroll' }, el('table', { class: 'list', id: 'alerts-active' }, head('severity', 'kind', 'what', 'since'), active))),
    el('section', { class: 'panel' }, el('h3', {}, 'Cleared recently'), el('div', { class: 'scroll' }, el('table', { class: 'list', id: 'alerts-recent' }, head('severity', 'kind', 'what', 'since', 'cleared'), recent))),
    el('p', { class: 'muted' }, 'Raised: a device critical, quarantined, offline, benched or on low voltage; a job that stopped moving; the gateway\'s MQTT link down; devices waiting to join. Also on /metrics as swarmlet_alerts_active{kind}.'));
  render();
  const offs = [ctx.live.on('alerts', render)];
  return { unmount: () => offs.forEach((f) => f()) };
}
