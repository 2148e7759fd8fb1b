// One job: state, delivery (fast or verified) and totals, its revisions (results of a
// device caught cheating, voided and re-run), its tasks paged by the gateway (filter ok /
// failed / open, a failed task with its reason; search by index, node or receipt, sort),
// cancel, and each receipt's inclusion proof verified in this browser against the gateway
// key the operator pinned.
import { el, fill, num, si, ago, when, setText, throttle } from '../lib/dom.js';
import { api, post, query } from '../lib/api.js';
import { createTable } from '../lib/table.js';
import { pinnedKey } from '../session.js';
import { progress, stateText, stateClass, deliveryText } from './jobs.js';

export async function mount(ctx, box, { id }) {
  const head = el('div', { class: 'job-head' });
  const proofBox = el('div', { id: 'proof', class: 'proof', hidden: true });
  const err = el('div');
  box.append(el('a', { href: '#/jobs', class: 'back' }, '‹ jobs'), head, err);

  let job = null;
  async function loadJob() {
    try { job = await api(`/api/jobs/${encodeURIComponent(id)}${query({ results: 'false' })}`); } catch (e) { ctx.fail(e, head); return; }
    const t = job.totals;
    const cancel = job.state === 'running' && ctx.can('operator') ? el('button', { type: 'button', class: 'small danger', id: 'job-cancel' }, 'cancel job') : null;
    cancel?.addEventListener('click', async () => {
      if (!confirm(`Cancel job ${id}?`)) return;
      try { await post(`/api/jobs/${id}/cancel`); } catch (e) { setText(err, e.message); }
      await loadJob();
      tasks.refresh();
    });
    fill(head,
      el('h2', {}, 'Job ', el('span', { class: 'mono' }, job.id), ' ', el('span', { class: stateClass(job), id: 'job-state' }, stateText(job)), ' ', cancel),
      job.error ? el('p', { class: job.state === 'cancelled' ? 'muted' : 'no' }, job.error) : null,
      el('div', { class: 'facts' },
        ...[['task', job.task], ['delivery', deliveryText(job)], ['tasks', num(t.tasks)], ['ok', num(t.done)], ['failed', num(t.failed)], ['open', num(t.open)],
          ['receipts billed', num(t.receipts)], ['fuel', si(t.fuel)], ['credits', num(t.credits, 6)], ['redundancy', job.redundancy], ['spot check', num(job.spotCheck, 2)],
          ['created', when(job.createdAt)], ['finished', job.finishedAt ? `${when(job.finishedAt)} (${ago(job.finishedAt)})` : '–']]
          .map(([l, v]) => el('div', { class: 'fact' }, el('div', { class: 'label' }, l), el('div', { class: 'value' }, v)))),
      el('div', {}, progress(t), ` ${t.done + t.failed}/${t.tasks}`),
      revisionsOf(job));
  }

  /** A device caught cheating had results in this job: they were voided and run again elsewhere. */
  function revisionsOf(j) {
    if (!j.revisions?.length) return null;
    return el('section', { class: 'panel', id: 'revisions' },
      el('h3', {}, 'Revisions'),
      el('p', { class: 'muted' }, 'Results of a device caught returning wrong results were voided (its credits reversed) and run again on other devices.'),
      el('ul', {}, ...j.revisions.map((r) => el('li', { class: r.state === 'pending' ? 'warn' : '' },
        `${ago(r.at)}: ${num(r.indexes.length)} result${r.indexes.length === 1 ? '' : 's'} of `,
        el('a', { href: `#/devices/${r.nodeId}`, class: 'mono' }, r.nodeId.slice(0, 10)),
        r.state === 'pending' ? ' being re-run' : ` re-run; ${num(r.changed?.length ?? 0)} came out different${r.changed?.length ? ` (tasks ${r.changed.slice(0, 20).join(', ')}${r.changed.length > 20 ? ', …' : ''})` : ''}`))));
  }

  const tasks = createTable({
    id: 'results', limit: 50, sizes: [50, 100, 500],
    key: (r) => String(r.index),
    fetch: (p) => api(`/api/jobs/${encodeURIComponent(id)}/tasks${query(p)}`),
    searchPlaceholder: 'task number, node or receipt id',
    filters: [{ name: 'state', label: 'all tasks', options: [['ok', 'ok'], ['failed', 'failed'], ['open', 'open']] }],
    sort: 'index',
    onError: (e) => ctx.fail(e, err),
    empty: 'no tasks match',
    columns: [
      { key: 'index', label: '#', num: true, sort: 'index' },
      { key: 'state', label: 'result', sort: 'state', cell: (td, r) => {
        const text = r.state === 'open' ? 'open' : r.ok ? 'ok' : `failed: ${r.error ?? 'no result'}`;
        setText(td, text);
        td.className = r.state === 'open' ? 'muted' : r.ok ? 'yes' : 'no';
      } },
      { key: 'output', label: 'output (hex)', cls: 'mono output', cell: (td, r) => {
        setText(td, r.outputHex ? (r.outputHex.length > 32 ? `${r.outputHex.slice(0, 32)}…` : r.outputHex) : '–');
        const title = r.outputHex ?? '';
        if (td.getAttribute('title') !== title) td.setAttribute('title', title);
      } },
      { key: 'bytes', label: 'bytes', num: true, text: (r) => num(r.outputBytes), wide: true },
      { key: 'sha', label: 'output sha256', cls: 'mono', text: (r) => (r.outputSha256 ? r.outputSha256.slice(0, 16) : '–'), wide: true },
      { key: 'node', label: 'node', sort: 'node', cell: (td, r) => { if (td.dataset.k !== r.nodeId) { td.dataset.k = r.nodeId ?? ''; td.replaceChildren(r.nodeId ? el('a', { href: `#/devices/${r.nodeId}`, class: 'mono' }, r.nodeId.slice(0, 10)) : '–'); } } },
      { key: 'attempts', label: 'tries', num: true, sort: 'attempts', wide: true },
      { key: 'verified', label: 'checked', text: (r) => (r.verified ? 're-executed' : ''), wide: true },
      { key: 'proof', label: 'inclusion proof', cell: (td, r) => {
        if (td.dataset.k === (r.receiptId ?? '')) return;
        td.dataset.k = r.receiptId ?? '';
        if (!r.receiptId) { td.replaceChildren(); return; }
        const b = el('button', { type: 'button', class: 'small', 'data-verify': r.receiptId }, 'verify in browser');
        b.addEventListener('click', () => void checkProof(r.receiptId));
        td.replaceChildren(b);
      } },
    ],
  });
  box.append(el('section', { class: 'panel' }, el('h3', {}, 'Tasks'), tasks.root, proofBox));

  async function checkProof(receiptId) {
    proofBox.hidden = false;
    proofBox.replaceChildren(el('div', {}, `checking receipt ${receiptId.slice(0, 10)}…`));
    try {
      const proof = await api(`/api/receipts/${receiptId}/proof`);
      const { verifyProof } = await import('../verify.js');
      const pinned = pinnedKey();
      const steps = await verifyProof(proof, pinned);
      const ok = steps.every((s) => s.ok);
      proofBox.replaceChildren(
        el('div', { id: 'proof-verdict', class: ok ? 'yes' : 'no' }, ok
          ? `receipt ${receiptId.slice(0, 10)} is included in batch ${proof.batchNo}, signed by the gateway key you pinned; verified in this browser`
          : pinned ? 'proof does NOT verify against the gateway key you pinned' : 'not verified: pin the gateway key you trust first (Settings)'),
        el('ul', {}, ...steps.map((s) => el('li', { class: s.ok ? '' : 'fail' }, s.step, s.detail ? el('span', { class: 'muted' }, ` — ${s.detail}`) : ''))));
    } catch (e) {
      proofBox.replaceChildren(el('div', { id: 'proof-verdict', class: 'no' }, `no proof yet: ${e.message} (receipts are batched every few seconds)`));
    }
  }

  // Subscribed before the first load, so a job that ends while it loads is not missed: a
  // job shown open that the gateway no longer lists as running is loaded again.
  const reload = throttle(1000, () => { void loadJob().then(settle); tasks.refresh(); });
  const open = () => job?.state === 'running' || job?.state === 'revising';
  let running = null; // the ids the gateway last listed as running
  const settle = () => { if (job?.state === 'running' && running && !running.has(id)) reload(); };
  const offs = [ctx.live.on('jobs', (d) => {
    running = new Set(d.running.map((j) => j.id));
    if (running.has(id) || open()) reload();
  })];
  await loadJob();
  settle();
  // A backstop for a lost push (a reconnect in between): while open, look again now and then.
  const poll = setInterval(() => { if (open()) reload(); }, 5000);
  return { unmount: () => { clearInterval(poll); offs.forEach((f) => f()); } };
}
