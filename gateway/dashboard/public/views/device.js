// A device's drill-down: who it is (enrollment, profile, version), how it is now (live),
// its history in charts, what it holds (leases), what it did (receipts, billing), its
// standing (reputation, grants, bench) and alerts, and the operator's actions on it:
// drain or undrain (operator), revoke or readmit (admin), approve or refuse a join request.
import { el, num, si, ago, when, temp, fact, setText, perFrame } from '../lib/dom.js';
import { api, post, query } from '../lib/api.js';
import { timeChart, rangePicker, RANGE_MS } from '../lib/chart.js';
import { createTable } from '../lib/table.js';
import { statusOf, slotsText, powerText, throttleText, flagNames, clockText, nodeLabel } from './common.js';

// Columns of a live history point, in the gateway's order (gateway/console/history.ts SERIES_COLUMNS).
const COLS = ['temp', 'tempMax', 'load', 'mem', 'battery', 'throttled', 'state', 'tasksPerMin', 'online', 'fuelRate', 'reputation'];
const STATES = ['cool', 'warm', 'hot', 'critical'];
let range = '15m';

export async function mount(ctx, box, { id }) {
  const live = ctx.live;
  const head = el('div', { class: 'dev-head' });
  const actions = el('div', { class: 'actions', id: 'dev-actions' });
  const msg = el('div', { class: 'msg', role: 'status', id: 'dev-msg' });
  const facts = el('div', { class: 'facts', id: 'dev-facts' });
  const charts = el('div', { class: 'charts', id: 'dev-charts' });
  const leasesBox = el('div');
  const receiptsBox = el('div');
  const alertsBox = el('div', { class: 'alert-list' });
  box.append(el('a', { href: '#/devices', class: 'back' }, '‹ devices'), head, actions, msg,
    el('section', { class: 'panel' }, el('h3', {}, 'Now'), facts),
    el('section', { class: 'panel' }, el('div', { class: 'panel-head' }, el('h3', {}, 'History'), rangePicker(range, (r) => { range = r; void loadHistory(); })), charts),
    el('section', { class: 'panel' }, el('h3', {}, 'Alerts'), alertsBox),
    el('section', { class: 'panel' }, el('h3', {}, 'Leases held'), leasesBox),
    el('section', { class: 'panel' }, el('h3', {}, 'Receipts'), receiptsBox));

  let detail = null;
  async function loadDetail() {
    try { detail = await api(`/api/nodes/${id}`); } catch (e) { ctx.fail(e, facts); return; }
    render();
  }

  function render() {
    if (!detail) return;
    const n = live.state.nodes.get(id) ?? detail.node;
    const trusted = live.trusted();
    const s = n ? statusOf(n, trusted) : detail.enrollment.status;
    head.replaceChildren(
      el('h2', {}, n ? nodeLabel(n) : id.slice(0, 10), ' ', el('span', { class: `status ${s.replace(' ', '-')}`, id: 'dev-status' }, s),
        n && trusted && n.online && n.thermalState ? el('span', { class: `badge ${n.thermalState}` }, n.thermalState) : null),
      el('div', { class: 'mono muted wrap' }, id));
    renderActions(n);
    const e = detail.enrollment;
    const st = detail.standing;
    const g = detail.grants;
    const b = detail.billing;
    const thr = n?.throttled;
    facts.replaceChildren(
      fact('enrollment', `${e.status}${e.role ? ` (${e.role})` : ''}${e.revokedAt ? ` ${ago(e.revokedAt)}${e.revokedReason ? `: ${e.revokedReason}` : ''}` : ''}`),
      fact('name', e.name ?? '–'), fact('profile', n?.profile ?? '–'), fact('agent version', n?.version ?? '–'), fact('region', n?.region ?? '–'),
      fact('last seen', n?.lastSeen ? `${ago(n.lastSeen)} (${when(n.lastSeen)})` : 'never'),
      fact('temperature', trusted && n?.online ? temp(n.temperatureC) : '–'), fact('load', num(n?.load, 2)),
      fact('free memory', n?.memFreeMb == null ? '–' : `${num(n.memFreeMb)} MB`), fact('power', powerText(n?.power)),
      fact('throttle now', throttleText(thr), thr && flagNames(thr.now).length ? 'warn' : ''), fact('throttle since boot', thr ? (flagNames(thr.sinceBoot).join(', ') || 'none') : '–'),
      fact('clock', trusted && n?.online ? clockText(n) : '–'),
      fact('forecast at its budget', n?.sustain == null ? '–' : `sustains ${num(n.sustain * 100)}% clock${n.sprintS != null ? `, sprints ${num(n.sprintS)} s` : ''}`),
      fact('temperature trend', n?.trendCPerMin == null ? '–' : `${n.trendCPerMin >= 0 ? '+' : ''}${num(n.trendCPerMin, 1)} °C/min`),
      fact('slots granted/advertised', n ? slotsText(n) : '–'), fact('leases held', num(n?.leases)), fact('fuel rate', n?.fuelRate == null ? '–' : `${si(n.fuelRate)}/s`),
      fact('price floor', num(n?.priceFloor, 2)), fact('headroom', num(n?.headroom, 2)),
      fact('location', n?.location ? `${num(n.location.lat, 3)}, ${num(n.location.lon, 3)}` : '–'),
      fact('reputation', `${num(st.reputation, 3)}${st.quarantined ? ' (quarantined: caught with a wrong result)' : ''}`, st.quarantined ? 'bad' : ''), fact('results agreed / wrong', `${num(st.good)} / ${num(st.bad)}`),
      fact('receipt chain', num(st.chainSeq)), fact('delivered / leases expired', `${num(g.delivered)} / ${num(g.expired)}`),
      fact('benched until', g.benchedUntil ? when(g.benchedUntil) : 'not benched', g.benchedUntil ? 'warn' : ''), fact('drained', n?.drained ? 'yes: no new work' : 'no'),
      fact('credits earned', num(b.credits, 6)), fact('fuel billed', si(b.fuel)), fact('receipts billed', num(b.receipts)), fact('voided', num(b.voided), b.voided ? 'bad' : ''),
      fact('public key', e.publicKey ?? '–', 'mono wrap'),
    );
    alertsBox.replaceChildren(...(detail.alerts.length ? detail.alerts.map((a) => el('div', { class: `alert ${a.severity}` }, el('span', { class: 'sev' }, a.severity), ' ', a.message, el('span', { class: 'muted' }, ` · ${ago(a.since)}`)))
      : [el('p', { class: 'muted' }, 'none')]));
    leasesBox.replaceChildren(detail.leases.length
      ? el('div', { class: 'scroll' }, el('table', { class: 'list', id: 'leases' }, el('thead', {}, el('tr', {}, ...['task', 'job', 'attempt', 'lease ends', 'price'].map((h) => el('th', {}, h)))),
        el('tbody', {}, ...detail.leases.map((l) => el('tr', {}, el('td', { class: 'mono' }, l.taskId), el('td', {}, el('a', { href: `#/jobs/${l.jobId}` }, l.jobId)), el('td', { class: 'num' }, l.attempt), el('td', {}, when(l.leaseUntil)), el('td', { class: 'num' }, num(l.price, 2)))))))
      : el('p', { class: 'muted' }, 'no leases'));
  }

  function button(label, cls, action, confirmText) {
    const b = el('button', { type: 'button', class: cls, 'data-action': action }, label);
    b.addEventListener('click', async () => {
      if (confirmText && !confirm(confirmText)) return;
      b.disabled = true;
      try {
        const paths = { drain: ['drain', { drain: true }], undrain: ['drain', { drain: false }], revoke: ['revoke'], readmit: ['readmit'] };
        if (action === 'approve' || action === 'deny') await post(`/api/enrollment/pending/${id}/${action}`);
        const r = action === 'approve' || action === 'deny' ? null : await post(`/api/nodes/${id}/${paths[action][0]}`, paths[action][1]);
        setText(msg, `${action}: done${r?.enrolled && r.quarantined ? ' (enrolled again; still quarantined: readmit again to lift it)' : r?.quarantineLifted ? ' (quarantine lifted: every result is checked again)' : ''}`);
      } catch (e) {
        setText(msg, `${action} refused: ${e.message}`);
      }
      b.disabled = false;
      await loadDetail();
    });
    return b;
  }

  function renderActions(n) {
    const e = detail.enrollment;
    const list = [];
    if (ctx.can('operator') && n) list.push(n.drained ? button('undrain', 'small', 'undrain') : button('drain', 'small', 'drain', `Drain ${nodeLabel(n)}? It gets no new work; what it holds runs out.`));
    if (ctx.can('admin')) {
      if (e.status === 'enrolled' && e.role === 'node') list.push(button('revoke', 'small danger', 'revoke', `Revoke ${id}? The broker disconnects it at once and refuses its key until it is readmitted.`));
      // Readmit: a revoked key is enrolled again; a quarantined device has its quarantine lifted.
      if (e.status === 'revoked') list.push(button('readmit', 'small', 'readmit'));
      else if (detail.standing.quarantined) list.push(button('lift quarantine', 'small', 'readmit', `Lift the quarantine of ${id}? Its results are then checked from scratch.`));
      if (e.status === 'pending') list.push(button('approve', 'small', 'approve'), button('refuse', 'small danger', 'deny', `Refuse ${id}?`));
    }
    actions.replaceChildren(...list);
  }

  // ---- history charts ----------------------------------------------------------------
  const made = [];
  const chart = async (o) => { const c = await timeChart(charts, { windowMs: () => RANGE_MS[range], ...o }); made.push(c); return c; };
  let cTemp, cLoad, cMem, cState, cRep, cBatt = null;
  async function loadHistory() {
    let h;
    try { h = await api(`/api/nodes/${id}/history${query({ range })}`); } catch (e) { ctx.fail(e, charts); return; }
    if (!cTemp) {
      cTemp = await chart({ id: 'temp', title: 'temperature °C', series: [{ key: 'temp', label: 'mean', color: '#58a6ff' }, { key: 'tempMax', label: 'max', color: '#f0883e' }] });
      cLoad = await chart({ id: 'load', title: 'load and tasks per minute', series: [{ key: 'load', label: 'load', color: '#58a6ff' }, { key: 'tasksPerMin', label: 'tasks/min', color: '#d29922', scale: 'tasks' }], scales: { tasks: { auto: true } } });
      cMem = await chart({ id: 'mem', title: 'free memory MB', series: [{ key: 'mem', label: 'free MB', color: '#3fb950' }] });
      cState = await chart({ id: 'state', title: 'thermal state and throttle bits', yRange: [0, 15], series: [
        { key: 'state', label: 'state (0 cool … 3 critical)', color: '#f0883e', stepped: true, format: (v) => STATES[v] ?? String(v) },
        { key: 'throttled', label: 'throttle bits', color: '#f85149', stepped: true }] });
      cRep = await chart({ id: 'rep', title: 'reputation and online', yRange: [0, 1], series: [{ key: 'reputation', label: 'reputation', color: '#a371f7' }, { key: 'online', label: 'online', color: '#3fb950', stepped: true }] });
    }
    if (!cBatt && h.battery.some((v) => v !== null)) cBatt = await chart({ id: 'battery', title: 'battery %', yRange: [0, 100], series: [{ key: 'battery', label: 'battery %', color: '#d29922' }] });
    for (const c of made) c.setData(h);
  }

  await loadDetail();
  await loadHistory();
  const receipts = createTable({
    id: 'receipts', limit: 20, sizes: [20, 50, 100], search: false,
    key: (r) => r.id,
    fetch: (p) => api(`/api/nodes/${id}/receipts${query({ limit: p.limit, offset: p.offset, status: p.status })}`),
    filters: [{ name: 'status', label: 'any status', options: [['accepted', 'accepted'], ['rejected', 'rejected']] }],
    empty: 'no receipts',
    onError: (e) => ctx.fail(e, receiptsBox),
    columns: [
      { key: 'seq', label: 'seq', num: true },
      { key: 'id', label: 'receipt', cls: 'mono', text: (r) => r.id.slice(0, 12) },
      { key: 'jobId', label: 'job', cell: (td, r) => { if (!td.firstChild) td.append(el('a', { href: `#/jobs/${r.jobId}` }, r.jobId)); } },
      { key: 'status', label: 'status', cell: (td, r) => { setText(td, r.status === 'rejected' ? `rejected: ${r.reason ?? ''}` : r.batchNo ? `accepted, batch ${r.batchNo}` : 'accepted'); td.className = r.status === 'rejected' ? 'no' : 'yes'; } },
      { key: 'fuel', label: 'fuel', num: true, text: (r) => si(r.fuel) },
      { key: 'at', label: 'stored', text: (r) => ago(r.at), wide: true },
    ],
  });
  receiptsBox.append(receipts.root);

  // Live: the node's own view is pushed; its history grows with every closed bucket.
  const paint = perFrame(render);
  let lastLeases = live.state.nodes.get(id)?.leases;
  let reloadAt = 0;
  const offs = [
    live.on('nodes', ({ full, ids }) => {
      if (!full && !ids.includes(id)) return;
      const n = live.state.nodes.get(id);
      // What the push does not carry (leases, receipts, billing) is read again when it moved, at most once a second.
      if (n && n.leases !== lastLeases && Date.now() - reloadAt > 1000) { lastLeases = n.leases; reloadAt = Date.now(); void loadDetail(); receipts.refresh(); }
      paint();
    }),
    live.on('status', paint),
    live.on('alerts', () => void loadDetail()),
    live.on('history', (p) => {
      const v = p.nodes[id];
      if (!v || RANGE_MS[range] > 3_600_000) return;
      const point = Object.fromEntries(COLS.map((c, i) => [c, v[i]]));
      for (const c of made) c.append(p.t, point);
    }),
  ];
  return { unmount: () => { offs.forEach((f) => f()); for (const c of made) c.destroy(); } };
}
