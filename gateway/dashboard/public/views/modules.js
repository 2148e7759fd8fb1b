// Modules: what a job may name, the catalogue built into the gateway and the modules
// operators published to its registry (GET /api/modules), with their input and output
// layouts. Searched, filtered and sorted here (the list is bounded by the registry's size);
// reloaded when a publish is pushed.
import { el, si, ago, when, setText } from '../lib/dom.js';
import { api } from '../lib/api.js';
import { createTable } from '../lib/table.js';

export async function mount(ctx, box) {
  const err = el('div');
  let list = [];
  const t = createTable({
    id: 'modules', limit: 50, sizes: [50, 100, 500],
    key: (m) => m.ref,
    items: () => list,
    match: (m, q) => m.ref.toLowerCase().includes(q) || m.hash.startsWith(q) || (m.description ?? '').toLowerCase().includes(q),
    filter: (m, f) => !f.source || m.source === f.source,
    filters: [{ name: 'source', label: 'catalogue and registry', options: [['catalogue', 'catalogue'], ['registry', 'registry']] }],
    searchPlaceholder: 'name, hash or description',
    sort: 'ref',
    empty: 'no modules',
    columns: [
      { key: 'ref', label: 'module', sort: 'ref', cell: (td, m) => { setText(td, m.ref); td.title = m.description ?? ''; } },
      { key: 'source', label: 'source', sort: 'source' },
      { key: 'hash', label: 'sha256', cls: 'mono', cell: (td, m) => { setText(td, m.hash.slice(0, 10)); td.title = m.hash; } },
      { key: 'size', label: 'size', num: true, sort: 'size', text: (m) => si(m.size) },
      { key: 'input', label: 'input', cls: 'mono layout', text: (m) => (m.summary ? m.summary.input : '–') },
      { key: 'output', label: 'output', cls: 'mono layout', text: (m) => (m.summary ? m.summary.output : '–') },
      { key: 'published', label: 'published', sort: 'published', sortKey: (m) => m.publishedAt ?? 0, cell: (td, m) => {
        setText(td, m.publishedAt ? `${ago(m.publishedAt)} by ${m.publishedBy}` : 'built in');
        td.title = m.publishedAt ? when(m.publishedAt) : '';
      } },
    ],
  });
  async function load() {
    try { list = (await api('/api/modules')).modules ?? []; setText(err, ''); } catch (e) { ctx.fail(e, err); }
    t.refresh();
  }
  box.append(el('h2', {}, 'Modules'),
    el('p', { class: 'muted' }, 'A job names one of these: a catalogue task by name, a published module as name@version (or its bare name: the newest version), or any by its sha256. Publish with ', el('code', {}, 'swarmlet task publish'), '.'),
    err, t.root);
  // Subscribed first: a module published while the list loads is not missed.
  const offs = [ctx.live.on('modules', () => void load())];
  await load();
  return { unmount: () => offs.forEach((f) => f()) };
}
