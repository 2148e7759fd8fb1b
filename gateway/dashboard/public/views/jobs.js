// Jobs: submit one from typed inputs (operator), and every job the gateway has run, paged
// by the gateway, with search, a state filter, sorting, progress (results, errors, failures
// apart: a task that trapped is done but not ok) and cancel. The running jobs' progress
// is pushed; the page reloads when it moves.
import { el, num, si, ago, setText, throttle } from '../lib/dom.js';
import { api, post, query } from '../lib/api.js';
import { createTable } from '../lib/table.js';

const TASKS = ['sha256', 'primes', 'matmul', 'blur', 'stats', 'mlp', 'mandelbrot'];

/** Progress bar with ok / error / failed segments. */
export function progress(t) {
  const n = Math.max(1, t.tasks);
  const seg = (cls, k) => { const s = el('span', { class: cls }); s.style.width = `${(100 * k) / n}%`; return s; };
  return el('span', { class: 'bar', title: `${t.done - t.errors} ok, ${t.errors} errors, ${t.failed} failed, ${t.open} open of ${t.tasks}` },
    seg('ok', t.done - t.errors), seg('err', t.errors), seg('fail', t.failed));
}

export function stateText(j) {
  if (j.state === 'done' && j.totals.errors) return `done, ${j.totals.errors} error${j.totals.errors === 1 ? '' : 's'}`;
  return j.state;
}
export const stateClass = (j) => (j.state === 'done' && j.totals.errors ? 'warn' : j.state);

function encode(line, how) {
  if (how === 'hex') {
    if (!/^([0-9a-fA-F]{2})*$/.test(line)) throw new Error(`not hex: ${line.slice(0, 20)}`);
    return btoa(String.fromCharCode(...line.match(/../g)?.map((h) => parseInt(h, 16)) ?? []));
  }
  if (how === 'base64') { atob(line); return line; }
  return btoa(String.fromCharCode(...new TextEncoder().encode(line)));
}

function submitForm(ctx, onDone) {
  const msg = el('div', { id: 'submit-msg', class: 'msg', role: 'status' });
  const form = el('form', { id: 'submit', class: 'submit' },
    el('h3', {}, 'Submit a job'),
    el('label', {}, 'task', el('select', { name: 'task' }, ...TASKS.map((t) => el('option', { value: t }, t)))),
    el('label', {}, 'inputs, one per line', el('textarea', { name: 'inputs', rows: '4', required: true, placeholder: 'hello\nswarmlet' })),
    el('div', { class: 'row' },
      el('label', {}, 'lines are', el('select', { name: 'encoding' }, el('option', { value: 'text' }, 'UTF-8 text'), el('option', { value: 'hex' }, 'hex bytes'), el('option', { value: 'base64' }, 'base64'))),
      el('label', {}, 'redundancy', el('input', { name: 'redundancy', type: 'number', min: '1', max: '16', value: '1' })),
      el('label', {}, 'spot check', el('input', { name: 'spotCheck', type: 'number', min: '0', max: '1', step: '0.05', value: '0.1' })),
      el('label', {}, 'deadline (s)', el('input', { name: 'deadline', type: 'number', min: '1', max: '604800', value: '600' }))),
    el('button', { type: 'submit' }, 'Submit'), msg);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    try {
      const inputs = String(f.get('inputs')).split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l.length > 0).map((l) => encode(l, f.get('encoding')));
      if (!inputs.length) throw new Error('type at least one input');
      const { id } = await post('/api/jobs', {
        task: f.get('task'), inputs, redundancy: Number(f.get('redundancy')), spotCheck: Number(f.get('spotCheck')), deadlineMs: Number(f.get('deadline')) * 1000,
      });
      setText(msg, `submitted job ${id}`);
      msg.append(' · ', el('a', { href: `#/jobs/${id}`, id: 'submitted-link' }, 'open it'));
      onDone(id);
    } catch (e) {
      setText(msg, `refused: ${e.message}`);
    }
  });
  return form;
}

export function mount(ctx, box) {
  const err = el('div');
  const t = createTable({
    id: 'jobs', limit: 25, sizes: [25, 50, 100],
    key: (j) => j.id,
    fetch: (p) => api(`/api/jobs${query(p)}`).then((r) => ({ total: r.total, items: r.jobs })),
    searchPlaceholder: 'search job id or task',
    filters: [{ name: 'state', label: 'any state', options: [['running', 'running'], ['done', 'done'], ['failed', 'failed'], ['cancelled', 'cancelled']] }],
    sort: 'created', desc: true,
    onRow: (j) => ctx.go(`#/jobs/${j.id}`),
    onError: (e) => ctx.fail(e, err),
    empty: 'no jobs',
    columns: [
      { key: 'id', label: 'job', cls: 'mono' },
      { key: 'task', label: 'task', sort: 'task' },
      { key: 'state', label: 'state', sort: 'state', cell: (td, j) => { setText(td, stateText(j)); td.className = stateClass(j); } },
      { key: 'progress', label: 'progress', cell: (td, j) => { const sig = JSON.stringify(j.totals); if (td.dataset.sig !== sig) { td.dataset.sig = sig; td.replaceChildren(progress(j.totals), ` ${j.totals.done + j.totals.failed}/${j.totals.tasks}`); } } },
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
  if (ctx.can('operator')) box.append(el('h2', {}, 'Jobs'), submitForm(ctx, () => t.refresh()), err, t.root);
  else box.append(el('h2', {}, 'Jobs'), err, t.root);
  // Running jobs move: reload the page (at most once a second) when their progress is pushed.
  const reload = throttle(1000, () => t.refresh());
  const offs = [ctx.live.on('jobs', reload)];
  return { unmount: () => offs.forEach((f) => f()) };
}
