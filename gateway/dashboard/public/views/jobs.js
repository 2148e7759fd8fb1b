// Jobs: submit one from typed inputs (operator) for any module the gateway offers, with
// fast or verified delivery, and every job the gateway has run, paged by the gateway, with
// search, a state filter, sorting, progress (ok and failed tasks apart: a task that trapped
// is failed, with its reason), delivery, revisions, and cancel. The running jobs' progress
// is pushed; the page reloads when it moves.
import { el, num, si, ago, setText, throttle } from '../lib/dom.js';
import { api, post, query } from '../lib/api.js';
import { createTable } from '../lib/table.js';

/** Progress bar with ok / failed segments. */
export function progress(t) {
  const n = Math.max(1, t.tasks);
  const seg = (cls, k) => { const s = el('span', { class: cls }); s.style.width = `${(100 * k) / n}%`; return s; };
  return el('span', { class: 'bar', title: `${t.done} ok, ${t.failed} failed, ${t.open} open of ${t.tasks}` },
    seg('ok', t.done), seg('fail', t.failed));
}

/** running, revising (results of a caught device re-run), done, failed (N of M tasks), cancelled; "revised" once results were revised after delivery. */
export function stateText(j) {
  const revised = j.revised && j.state !== 'revising' ? ', revised' : '';
  if (j.state === 'failed' && j.totals.failed) return `failed (${j.totals.failed} of ${j.totals.tasks} tasks)${revised}`;
  return `${j.state}${revised}`;
}
export const stateClass = (j) => (j.state === 'revising' ? 'warn' : j.state);
export const deliveryText = (j) => (j.delivery === 'verified' ? 'verified' : 'fast');

function encode(line, how) {
  if (how === 'hex') {
    if (!/^([0-9a-fA-F]{2})*$/.test(line)) throw new Error(`not hex: ${line.slice(0, 20)}`);
    return btoa(String.fromCharCode(...line.match(/../g)?.map((h) => parseInt(h, 16)) ?? []));
  }
  if (how === 'base64') { atob(line); return line; }
  return btoa(String.fromCharCode(...new TextEncoder().encode(line)));
}

/** The modules a job may name (catalogue, then the registry's, newest first), offered by the form. */
async function loadModules(select) {
  const keep = select.value;
  let mods = [];
  try { mods = (await api('/api/modules')).modules ?? []; } catch { /* the form still takes the catalogue's names */ }
  if (!mods.length) return;
  select.replaceChildren(...mods.map((m) => el('option', { value: m.ref, title: m.summary ? `${m.summary.input} -> ${m.summary.output}` : '' }, m.source === 'registry' ? `${m.ref} (published)` : m.ref)));
  select.value = mods.some((m) => m.ref === keep) ? keep : 'sha256';
}

function submitForm(ctx, onDone) {
  const taskSelect = el('select', { name: 'task' }, el('option', { value: 'sha256' }, 'sha256'));
  void loadModules(taskSelect);
  const offModules = ctx.live.on('modules', () => void loadModules(taskSelect));
  const msg = el('div', { id: 'submit-msg', class: 'msg', role: 'status' });
  const form = el('form', { id: 'submit', class: 'submit' },
    el('h3', {}, 'Submit a job'),
    el('label', {}, 'task', taskSelect),
    el('label', {}, 'inputs, one per line', el('textarea', { name: 'inputs', rows: '4', required: true, placeholder: 'hello\nswarmlet' })),
    el('div', { class: 'row' },
      el('label', {}, 'lines are', el('select', { name: 'encoding' }, el('option', { value: 'text' }, 'UTF-8 text'), el('option', { value: 'hex' }, 'hex bytes'), el('option', { value: 'base64' }, 'base64'))),
      el('label', {}, 'redundancy', el('input', { name: 'redundancy', type: 'number', min: '1', max: '16', value: '1' })),
      el('label', {}, 'spot check', el('input', { name: 'spotCheck', type: 'number', min: '0', max: '1', step: '0.05', value: '0.1' })),
      el('label', {}, 'deadline (s)', el('input', { name: 'deadline', type: 'number', min: '1', max: '604800', value: '600' })),
      el('label', { title: 'verified: every task is re-executed by the gateway before its result is released' }, 'delivery',
        el('select', { name: 'delivery' }, el('option', { value: 'fast' }, 'fast'), el('option', { value: 'verified' }, 'verified (re-executed)')))),
    el('button', { type: 'submit' }, 'Submit'), msg);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    try {
      const inputs = String(f.get('inputs')).split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l.length > 0).map((l) => encode(l, f.get('encoding')));
      if (!inputs.length) throw new Error('type at least one input');
      const { id } = await post('/api/jobs', {
        task: f.get('task'), inputs, redundancy: Number(f.get('redundancy')), spotCheck: Number(f.get('spotCheck')), deadlineMs: Number(f.get('deadline')) * 1000,
        delivery: f.get('delivery'),
      });
      setText(msg, `submitted job ${id}`);
      msg.append(' · ', el('a', { href: `#/jobs/${id}`, id: 'submitted-link' }, 'open it'));
      onDone(id);
    } catch (e) {
      setText(msg, `refused: ${e.message}`);
    }
  });
  return { form, off: offModules };
}

export function mount(ctx, box) {
  const err = el('div');
  const t = createTable({
    id: 'jobs', limit: 25, sizes: [25, 50, 100],
    key: (j) => j.id,
    fetch: (p) => api(`/api/jobs${query(p)}`).then((r) => ({ total: r.total, items: r.jobs })),
    searchPlaceholder: 'search job id or task',
    filters: [{ name: 'state', label: 'any state', options: [['running', 'running'], ['revising', 'revising'], ['done', 'done'], ['failed', 'failed'], ['cancelled', 'cancelled']] }],
    sort: 'created', desc: true,
    onRow: (j) => ctx.go(`#/jobs/${j.id}`),
    onError: (e) => ctx.fail(e, err),
    empty: 'no jobs',
    columns: [
      { key: 'id', label: 'job', cls: 'mono' },
      { key: 'task', label: 'task', sort: 'task' },
      { key: 'state', label: 'state', sort: 'state', cell: (td, j) => { setText(td, stateText(j)); td.className = stateClass(j); } },
      { key: 'progress', label: 'progress', cell: (td, j) => { const sig = JSON.stringify(j.totals); if (td.dataset.sig !== sig) { td.dataset.sig = sig; td.replaceChildren(progress(j.totals), ` ${j.totals.done + j.totals.failed}/${j.totals.tasks}`); } } },
      { key: 'delivery', label: 'delivery', text: deliveryText, wide: true },
      { key: 'receipts', label: 'receipts', num: true, text: (j) => num(j.totals.receipts), wide: true },
      { key: 'fuel', label: 'fuel', num: true, text: (j) => si(j.totals.fuel), wide: true },
      { key: 'credits', label: 'credits', num: true, text: (j) => num(j.totals.credits, 6), wide: true },
      { key: 'created', label: 'created', sort: 'created', text: (j) => ago(j.createdAt) },
      { key: 'actions', label: '', cell: (td, j) => {
        const want = j.state === 'running' && ctx.can('operator');
        if (!want) { if (td.firstChild) td.replaceChildren(); return; }
        if (td.firstChild) return;
        const b = el('button', { type: 'button', class: 'small danger', 'data-cancel': j.id }, 'cancel');
        b.addEventListener('click', async () => {
          if (!confirm(`Cancel job ${j.id}? Its unfinished tasks end as failed.`)) return;
          try { await post(`/api/jobs/${j.id}/cancel`); } catch (e) { alert(e.message); }
          t.refresh();
        });
        td.append(b);
      } },
    ],
  });
  const submit = ctx.can('operator') ? submitForm(ctx, () => t.refresh()) : null;
  box.append(el('h2', {}, 'Jobs'), submit?.form ?? '', err, t.root);
  // Running jobs move: reload the page (at most once a second) when their progress is pushed.
  const reload = throttle(1000, () => t.refresh());
  const offs = [ctx.live.on('jobs', reload), ...(submit ? [submit.off] : [])];
  return { unmount: () => offs.forEach((f) => f()) };
}
