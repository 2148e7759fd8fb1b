// Overview: the fleet at a glance. Cards (devices, slots, work, receipts and fuel over
// every batch, alerts), a map of every device coloured by its state, fleet charts over
// time (online and hot devices, temperature, tasks per minute) that grow as the gateway
// pushes each history bucket, and the alerts that are active.
import { el, setText, setClass, num, si, ago, perFrame, temp } from '../lib/dom.js';
import { api, query } from '../lib/api.js';
import { timeChart, rangePicker, RANGE_MS } from '../lib/chart.js';
import { statusOf, nodeLabel } from './common.js';

let range = '1h';

function card(label, id) {
  return el('div', { class: 'card', id }, el('div', { class: 'label' }, label), el('div', { class: 'value' }, '–'), el('div', { class: 'sub muted' }));
}

export async function mount(ctx, box) {
  const live = ctx.live;
  const cards = el('section', { class: 'cards' },
    card('devices online', 'c-online'), card('slots granted / free', 'c-slots'), card('open tasks', 'c-open'),
    card('receipts batched', 'c-receipts'), card('fuel batched', 'c-fuel'), card('alerts', 'c-alerts'));
  const map = el('div', { class: 'tiles', id: 'tiles', role: 'list' });
  const legend = el('div', { class: 'legend muted' }, ...['cool', 'warm', 'hot', 'critical', 'offline', 'quarantined', 'unknown'].map((s) => el('span', { class: `key ${s}` }, s)));
  const charts = el('div', { class: 'charts' });
  const alertsBox = el('div', { class: 'alert-list' });
  box.append(el('h2', {}, 'Overview'), cards,
    el('section', { class: 'panel' }, el('div', { class: 'panel-head' }, el('h3', {}, 'Fleet map'), legend), map),
    el('section', { class: 'panel' }, el('div', { class: 'panel-head' }, el('h3', {}, 'Fleet over time'), rangePicker(range, (r) => { range = r; void load(); })), charts),
    el('section', { class: 'panel' }, el('div', { class: 'panel-head' }, el('h3', {}, 'Active alerts'), el('a', { href: '#/alerts' }, 'all alerts')), alertsBox));

  const setCard = (id, value, sub, cls = '') => {
    const c = box.querySelector(`#${id}`);
    setText(c.querySelector('.value'), value);
    setText(c.querySelector('.sub'), sub ?? '');
    setClass(c, `card ${cls}`);
  };
  function renderCards() {
    const s = live.state.summary;
    if (!s) return;
    const t = live.trusted();
    setCard('c-online', t ? `${num(s.nodes.online)} / ${num(s.nodes.total)}` : `? / ${num(s.nodes.total)}`, t ? `${s.nodes.states.hot + s.nodes.states.critical} hot or critical · ${s.nodes.quarantined} quarantined` : 'status unknown: gateway unreachable', t ? '' : 'stale');
    setCard('c-slots', `${num(s.nodes.grantedSlots)} / ${num(s.nodes.freeSlots)}`, `${s.nodes.drained} drained`);
    setCard('c-open', num(s.work.openTasks), `${num(s.work.openJobs)} jobs running · ${num(s.work.queued)} queued`);
    setCard('c-receipts', num(s.batches.receipts), `in ${num(s.batches.batches)} batches`);
    setCard('c-fuel', si(s.batches.fuel), 'fuel units, every batch');
    setCard('c-alerts', num(s.alerts.critical + s.alerts.warning), `${s.alerts.critical} critical · ${s.alerts.warning} warning`, s.alerts.critical ? 'bad' : '');
  }

  // One tile per device, kept and updated in place (500 devices: 500 small elements).
  const tiles = new Map();
  function renderTiles() {
    const t = live.trusted();
    const seen = new Set();
    let order = false;
    for (const n of live.state.nodes.values()) {
      seen.add(n.id);
      let tile = tiles.get(n.id);
      if (!tile) {
        tile = el('a', { class: 'tile', href: `#/devices/${n.id}`, role: 'listitem', 'data-node': n.id });
        tiles.set(n.id, tile);
        order = true;
      }
      const s = statusOf(n, t);
      const cls = s === 'online' || s === 'drained' || s === 'benched' ? (n.thermalState ?? 'unknown') : s === 'never seen' ? 'offline' : s;
      setClass(tile, `tile ${cls}`);
      const title = `${nodeLabel(n)} · ${s}${n.online ? ` · ${n.thermalState ?? ''} ${temp(n.temperatureC)}` : ''}`;
      if (tile.title !== title) { tile.title = title; tile.setAttribute('aria-label', title); }
    }
    for (const [id, tile] of tiles) if (!seen.has(id)) { tile.remove(); tiles.delete(id); order = true; }
    if (order) map.replaceChildren(...[...tiles.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map((e) => e[1]));
  }

  function renderAlerts() {
    const a = live.state.alerts.active.slice(0, 6);
    alertsBox.replaceChildren(...(a.length ? a.map((x) => el('div', { class: `alert ${x.severity}` }, el('span', { class: 'sev' }, x.severity), ' ', x.message, el('span', { class: 'muted' }, ` · ${ago(x.since)}`)))
      : [el('p', { class: 'muted' }, 'no active alerts')]));
  }

  let cOnline = null, cTemp = null, cTasks = null;
  const windowMs = () => RANGE_MS[range];
  async function load() {
    let h;
    try { h = await api(`/api/fleet/history${query({ range })}`); } catch (e) { ctx.fail(e, charts); return; }
    if (!cOnline) {
      cOnline = await timeChart(charts, { id: 'fleet-online', title: 'devices', windowMs, series: [
        { key: 'online', label: 'online', color: '#3fb950' }, { key: 'hot', label: 'hot+', color: '#f0883e' }, { key: 'critical', label: 'critical', color: '#f85149' }] });
      cTemp = await timeChart(charts, { id: 'fleet-temp', title: 'temperature °C', windowMs, series: [
        { key: 'tempAvg', label: 'mean', color: '#58a6ff' }, { key: 'tempMax', label: 'max', color: '#f0883e' }] });
      cTasks = await timeChart(charts, { id: 'fleet-tasks', title: 'tasks per minute', windowMs, series: [{ key: 'tasksPerMin', label: 'tasks/min', color: '#d29922' }] });
    }
    for (const c of [cOnline, cTemp, cTasks]) c.setData(h);
  }
  const paint = perFrame(() => { renderCards(); renderTiles(); });
  renderCards();
  renderTiles();
  renderAlerts();
  // Charts after the map: they load uPlot and the fleet's history first.
  await load();
  const offs = [
    live.on('nodes', paint), live.on('summary', paint), live.on('status', paint), live.on('alerts', renderAlerts),
    live.on('history', (p) => {
      // Fine ranges grow with each bucket the gateway closes; longer ones reload now and then.
      if (RANGE_MS[range] <= 3_600_000) { for (const c of [cOnline, cTemp, cTasks]) c?.append(p.t, p.fleet); }
    }),
  ];
  const slow = setInterval(() => { if (RANGE_MS[range] > 3_600_000) void load(); }, 60_000);
  return { unmount: () => { offs.forEach((f) => f()); clearInterval(slow); for (const c of [cOnline, cTemp, cTasks]) c?.destroy(); } };
}
