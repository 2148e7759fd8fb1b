// Devices: every device the gateway knows, live (pushed), with search, filters, sortable
// columns and paging; a row opens the device's drill-down.
import { el, num, ago, temp } from '../lib/dom.js';
import { createTable } from '../lib/table.js';
import { statusCell, thermalCell, slotsText, powerText, throttleText, clockText, nodeLabel, statusOf } from './common.js';

const RANK = { cool: 0, warm: 1, hot: 2, critical: 3 };

export function deviceTable(ctx, { id = 'nodes', limit = 50 } = {}) {
  const live = ctx.live;
  const trusted = () => live.trusted();
  return createTable({
    // At most 200 live rows on a page: the fleet map shows every device at once.
    id, limit, sizes: [25, 50, 100, 200],
    key: (n) => n.id,
    items: () => [...live.state.nodes.values()],
    searchPlaceholder: 'search id, name, profile',
    match: (n, q) => n.id.startsWith(q) || (n.name ?? '').toLowerCase().includes(q) || (n.profile ?? '').toLowerCase().includes(q),
    filters: [
      { name: 'status', label: 'any status', options: [['online', 'online'], ['offline', 'offline'], ['quarantined', 'quarantined'], ['drained', 'drained'], ['benched', 'benched'], ['revoked', 'revoked']] },
      { name: 'state', label: 'any thermal state', options: [['cool', 'cool'], ['warm', 'warm'], ['hot', 'hot'], ['critical', 'critical']] },
    ],
    filter: (n, f) => (!f.status || statusOf(n, true) === f.status || (f.status === 'offline' && !n.online)) && (!f.state || (n.online && n.thermalState === f.state)),
    sort: 'device',
    onRow: (n) => ctx.go(`#/devices/${n.id}`),
    empty: 'no devices match',
    columns: [
      { key: 'id', label: 'device', sort: 'device', sortKey: (n) => nodeLabel(n).toLowerCase(), cls: 'mono', cell: (td, n) => { if (td.title !== n.id) td.title = n.id; if (td.textContent !== nodeLabel(n)) td.textContent = nodeLabel(n); } },
      { key: 'status', label: 'status', sort: 'status', sortKey: (n) => statusOf(n, true), cell: (td, n) => statusCell(td, n, trusted()) },
      { key: 'thermalState', label: 'thermal', sort: 'state', sortKey: (n) => (n.online && n.thermalState ? RANK[n.thermalState] : null), cell: (td, n) => thermalCell(td, n, trusted()) },
      { key: 'temperatureC', label: 'temp', num: true, sort: 'temp', descFirst: true, sortKey: (n) => n.temperatureC, text: (n) => temp(n.temperatureC) },
      { key: 'clock', label: 'clock', num: true, sort: 'clock', sortKey: (n) => n.clock, text: (n) => (trusted() && n.online ? clockText(n) : '–'), wide: true },
      { key: 'load', label: 'load', num: true, sort: 'load', descFirst: true, text: (n) => num(n.load, 2) },
      { key: 'memFreeMb', label: 'free mem', num: true, sort: 'mem', sortKey: (n) => n.memFreeMb, text: (n) => (n.memFreeMb == null ? '–' : `${num(n.memFreeMb)} MB`), wide: true },
      { key: 'slots', label: 'slots', num: true, sort: 'slots', sortKey: (n) => n.slots, text: slotsText },
      { key: 'throttled', label: 'throttle', text: (n) => throttleText(n.throttled), wide: true },
      { key: 'power', label: 'power', text: (n) => powerText(n.power), wide: true },
      { key: 'profile', label: 'profile', sort: 'profile', text: (n) => n.profile ?? '–', wide: true },
      { key: 'version', label: 'version', text: (n) => n.version ?? '–', wide: true },
      { key: 'reputation', label: 'reputation', num: true, sort: 'reputation', text: (n) => num(n.reputation, 2) },
      { key: 'lastSeen', label: 'last seen', sort: 'seen', descFirst: true, sortKey: (n) => n.lastSeen, text: (n) => ago(n.lastSeen), wide: true },
    ],
  });
}

export function mount(ctx, box) {
  const t = deviceTable(ctx, { id: 'nodes' });
  box.append(el('h2', {}, 'Devices'), t.root);
  t.renderNow();
  // Trust (stream live, MQTT up) decides whether statuses show: repaint when it flips.
  let trusted = ctx.live.trusted();
  const onTrust = () => { if (ctx.live.trusted() !== trusted) { trusted = !trusted; t.refresh(); } };
  const offs = [ctx.live.on('nodes', t.refresh), ctx.live.on('status', onTrust), ctx.live.on('summary', onTrust)];
  return { unmount: () => offs.forEach((f) => f()) };
}
