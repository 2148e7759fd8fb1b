// A list with search, filters, sortable columns and paging, used by every view.
//
//   client mode: `items()` returns the whole list (devices: pushed live); search, filter,
//                sort and paging happen here, and rows are keyed, so a live update
//                rewrites only the cells of rows on the page whose text changed.
//   server mode: `fetch(params)` returns {total, items} for {q, sort, order, limit, offset,
//                ...filters} (jobs, tasks, batches, receipts, enrollment); the gateway pages.
//
// Column: {key, label, sort?, num?, wide?, text?(item), cell?(td, item)}: `text` for plain
// cells (set only when it changed), `cell` to fill the cell yourself; `wide` columns are
// hidden on narrow screens. Filters: [{name, label, options: [[value, label], ...]}].
import { el, setText, perFrame } from './dom.js';

const memory = new Map(); // table id -> {q, sort, desc, filters, limit, offset}: kept across views

export function createTable(o) {
  const saved = memory.get(o.id) ?? { q: '', sort: o.sort ?? o.columns.find((c) => c.sort)?.sort, desc: o.desc ?? false, filters: { ...(o.filtersInitial ?? {}) }, limit: o.limit ?? 50, offset: 0 };
  memory.set(o.id, saved);
  const st = saved;
  const rows = new Map(); // key -> {tr, tds}
  let total = 0;
  let pageItems = [];
  let seq = 0;

  const tbody = el('tbody');
  const head = el('tr', {}, ...o.columns.map((c) => {
    const th = el('th', { class: `${c.num ? 'num' : ''} ${c.wide ? 'wide' : ''}`, scope: 'col' }, c.label);
    if (c.sort) {
      th.classList.add('sortable');
      th.tabIndex = 0;
      th.dataset.sort = c.sort;
      const go = () => { if (st.sort === c.sort) st.desc = !st.desc; else { st.sort = c.sort; st.desc = !!c.descFirst; } st.offset = 0; refresh(); };
      th.addEventListener('click', go);
      th.addEventListener('keydown', (e) => { if (e.key === 'Enter') go(); });
    }
    return th;
  }));
  const search = el('input', { type: 'search', class: 'search', placeholder: o.searchPlaceholder ?? 'search', 'aria-label': 'search', value: st.q });
  let timer = null;
  search.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(() => { st.q = search.value.trim(); st.offset = 0; refresh(); }, 150); });
  const filterEls = (o.filters ?? []).map((f) => {
    const s = el('select', { 'aria-label': f.label, 'data-filter': f.name }, el('option', { value: '' }, f.label), ...f.options.map(([v, l]) => el('option', { value: v }, l)));
    s.value = st.filters[f.name] ?? '';
    s.addEventListener('change', () => { st.filters[f.name] = s.value; st.offset = 0; refresh(); });
    return s;
  });
  const sizes = o.sizes ?? [25, 50, 100, 500];
  const size = el('select', { 'aria-label': 'rows per page', class: 'page-size' }, ...sizes.map((n) => el('option', { value: String(n) }, `${n} / page`)));
  size.value = String(st.limit);
  size.addEventListener('change', () => { st.limit = Number(size.value); st.offset = 0; refresh(); });
  const info = el('span', { class: 'page-info muted' });
  const prev = el('button', { class: 'small', type: 'button', 'data-page': 'prev' }, '‹ prev');
  const next = el('button', { class: 'small', type: 'button', 'data-page': 'next' }, 'next ›');
  prev.addEventListener('click', () => { st.offset = Math.max(0, st.offset - st.limit); refresh(); });
  next.addEventListener('click', () => { if (st.offset + st.limit < total) { st.offset += st.limit; refresh(); } });
  const empty = el('div', { class: 'empty muted', hidden: true }, o.empty ?? 'nothing here');
  const table = el('table', { class: 'list', id: o.id }, el('thead', {}, head), tbody);
  const root = el('div', { class: 'table-box' },
    el('div', { class: 'toolbar' }, o.search === false ? null : search, ...filterEls, ...(o.tools ?? [])),
    el('div', { class: 'scroll' }, table), empty,
    el('div', { class: 'pager' }, info, prev, next, size));

  function markSort() {
    for (const th of head.children) {
      if (!th.dataset.sort) continue;
      th.classList.toggle('asc', th.dataset.sort === st.sort && !st.desc);
      th.classList.toggle('desc', th.dataset.sort === st.sort && st.desc);
      th.setAttribute('aria-sort', th.dataset.sort === st.sort ? (st.desc ? 'descending' : 'ascending') : 'none');
    }
  }

  function rowFor(item) {
    const key = o.key(item);
    let r = rows.get(key);
    if (!r) {
      const tds = o.columns.map((c) => el('td', { class: `${c.num ? 'num' : ''} ${c.wide ? 'wide' : ''} ${c.cls ?? ''}` }));
      const tr = el('tr', { 'data-key': key }, ...tds);
      if (o.onRow) {
        tr.classList.add('clickable');
        tr.addEventListener('click', (e) => { if (!(e.target instanceof HTMLButtonElement) && !(e.target instanceof HTMLAnchorElement)) o.onRow(r.item); });
      }
      r = { tr, tds, item };
      rows.set(key, r);
    }
    r.item = item;
    o.columns.forEach((c, i) => {
      if (c.cell) c.cell(r.tds[i], item);
      else setText(r.tds[i], c.text ? c.text(item) : item[c.key]);
    });
    o.rowClass && r.tr.classList.toggle(...o.rowClass(item));
    return r.tr;
  }

  function paint() {
    const keep = new Set();
    const trs = pageItems.map((item) => { keep.add(o.key(item)); return rowFor(item); });
    for (const k of [...rows.keys()]) if (!keep.has(k)) rows.delete(k);
    // Reorder only when the order changed (moving rows costs layout).
    const cur = tbody.children;
    let same = cur.length === trs.length;
    for (let i = 0; same && i < trs.length; i++) same = cur[i] === trs[i];
    if (!same) tbody.replaceChildren(...trs);
    empty.hidden = total > 0;
    const from = total === 0 ? 0 : st.offset + 1;
    setText(info, `${from}–${Math.min(st.offset + st.limit, total)} of ${total}`);
    prev.disabled = st.offset === 0;
    next.disabled = st.offset + st.limit >= total;
    markSort();
  }

  function clientPage() {
    const q = st.q.toLowerCase();
    let list = o.items().filter((x) => (!q || o.match(x, q)) && (!o.filter || o.filter(x, st.filters)));
    const col = o.columns.find((c) => c.sort === st.sort);
    if (col) {
      const key = col.sortKey ?? ((x) => x[col.key]);
      const dir = st.desc ? -1 : 1;
      list = list.map((x) => [key(x), x]).sort((a, b) => {
        if (a[0] === b[0]) return 0;
        if (a[0] == null) return 1;
        if (b[0] == null) return -1;
        return (a[0] < b[0] ? -1 : 1) * dir;
      }).map((p) => p[1]);
    }
    total = list.length;
    if (st.offset >= total && total > 0) st.offset = Math.floor((total - 1) / st.limit) * st.limit;
    pageItems = list.slice(st.offset, st.offset + st.limit);
    paint();
  }

  async function serverPage() {
    const mine = ++seq;
    try {
      const r = await o.fetch({ q: st.q, sort: st.sort, order: st.desc ? 'desc' : 'asc', limit: st.limit, offset: st.offset, ...st.filters });
      if (mine !== seq) return; // a newer request is under way
      total = r.total;
      pageItems = r.items;
      paint();
      o.onLoaded?.(r);
    } catch (e) {
      if (mine !== seq) return;
      o.onError?.(e);
    }
  }

  const frame = perFrame(() => clientPage());
  function refresh() {
    if (o.fetch) return serverPage();
    frame();
  }
  refresh();
  return {
    root, refresh,
    /** Client mode: paint now, not on the next frame (first render). */
    renderNow: () => { if (!o.fetch) clientPage(); },
    rowOf: (key) => rows.get(key)?.tr,
    get state() { return st; },
  };
}
