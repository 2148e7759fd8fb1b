// Batches: totals over every batch sealed (not a page of them), and the batches, paged by
// the gateway, searchable by number, Merkle root or header id. New batches are pushed.
import { el, num, si, ago, when, setText, throttle } from '../lib/dom.js';
import { api, query } from '../lib/api.js';
import { createTable } from '../lib/table.js';

export function mount(ctx, box) {
  const totals = el('div', { class: 'cards' });
  const err = el('div');
  const renderTotals = (b) => {
    if (!b) return;
    totals.replaceChildren(
      ...[['batches', num(b.batches)], ['receipts batched', num(b.receipts)], ['fuel batched', si(b.fuel)]]
        .map(([l, v], i) => el('div', { class: 'card', id: `b-total-${i}` }, el('div', { class: 'label' }, l), el('div', { class: 'value' }, v))));
  };
  const t = createTable({
    id: 'batches', limit: 25, sizes: [25, 50, 100],
    key: (b) => String(b.batchNo),
    fetch: (p) => api(`/api/batches${query(p)}`).then((r) => ({ total: r.total, items: r.batches })),
    searchPlaceholder: 'batch number, root or header id',
    sort: 'batch', desc: true,
    onError: (e) => ctx.fail(e, err),
    empty: 'no batches sealed yet',
    columns: [
      { key: 'batchNo', label: '#', num: true, sort: 'batch' },
      { key: 'count', label: 'receipts', num: true, sort: 'count', text: (b) => num(b.count) },
      { key: 'fuelTotal', label: 'fuel', num: true, sort: 'fuel', text: (b) => si(b.fuelTotal) },
      { key: 'merkleRoot', label: 'Merkle root', cls: 'mono', cell: (td, b) => { setText(td, b.merkleRoot.slice(0, 16)); td.title = b.merkleRoot; } },
      { key: 'headerId', label: 'header id', cls: 'mono', text: (b) => b.headerId.slice(0, 16), wide: true },
      { key: 'createdAt', label: 'sealed', cell: (td, b) => { setText(td, ago(b.createdAt)); td.title = when(b.createdAt); } },
    ],
  });
  renderTotals(ctx.live.state.batches);
  box.append(el('h2', {}, 'Batches'), totals, err, t.root);
  const reload = throttle(1000, () => t.refresh());
  const offs = [ctx.live.on('batches', (b) => { renderTotals(b); reload(); })];
  return { unmount: () => offs.forEach((f) => f()) };
}
