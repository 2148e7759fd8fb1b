// Enrollment: which device keys may join. Devices that tried to join unenrolled wait here
// for an admin to approve (enroll) or refuse them; enrolled keys can be revoked (the
// broker disconnects them at once) and revoked ones readmitted; a key can be enrolled by
// hand. The same as `swarmlet enroll` on the enrollment file.
import { el, fill, ago, setText, throttle } from '../lib/dom.js';
import { api, post, query } from '../lib/api.js';
import { createTable } from '../lib/table.js';

export function mount(ctx, box) {
  const msg = el('div', { class: 'msg', role: 'status', id: 'enroll-msg' });
  const counts = el('div', { class: 'muted', id: 'enroll-counts' });
  const act = async (label, path, body) => {
    try { await post(path, body); setText(msg, `${label}: done`); } catch (e) { setText(msg, `${label} refused: ${e.message}`); }
    t.refresh();
  };
  const actions = (td, k) => {
    const sig = `${k.status}|${ctx.can('admin')}`;
    if (td.dataset.k === sig) return;
    td.dataset.k = sig;
    const list = [];
    if (ctx.can('admin')) {
      if (k.status === 'pending') {
        const name = el('input', { type: 'text', class: 'name-input', placeholder: 'name (optional)', 'aria-label': 'name', maxlength: '128' });
        const ok = el('button', { type: 'button', class: 'small', 'data-approve': k.nodeId }, 'approve');
        ok.addEventListener('click', () => act(`approve ${k.nodeId.slice(0, 10)}`, `/api/enrollment/pending/${k.nodeId}/approve`, name.value ? { name: name.value } : {}));
        const no = el('button', { type: 'button', class: 'small danger', 'data-deny': k.nodeId }, 'refuse');
        no.addEventListener('click', () => { if (confirm(`Refuse ${k.nodeId}?`)) void act(`refuse ${k.nodeId.slice(0, 10)}`, `/api/enrollment/pending/${k.nodeId}/deny`); });
        list.push(name, ok, no);
      } else if (k.status === 'enrolled' && k.role === 'node') {
        const b = el('button', { type: 'button', class: 'small danger', 'data-revoke': k.nodeId }, 'revoke');
        b.addEventListener('click', () => { if (confirm(`Revoke ${k.nodeId}? The broker disconnects it at once.`)) void act(`revoke ${k.nodeId.slice(0, 10)}`, `/api/nodes/${k.nodeId}/revoke`); });
        list.push(b);
      } else if (k.status === 'revoked' && k.role === 'node') {
        const b = el('button', { type: 'button', class: 'small', 'data-readmit': k.nodeId }, 'readmit');
        b.addEventListener('click', () => act(`readmit ${k.nodeId.slice(0, 10)}`, `/api/nodes/${k.nodeId}/readmit`));
        list.push(b);
      }
    }
    td.replaceChildren(...list);
  };
  const t = createTable({
    id: 'enrollment', limit: 50, sizes: [50, 100, 500],
    key: (k) => `${k.status}:${k.nodeId}`,
    fetch: (p) => api(`/api/enrollment${query(p)}`).then((r) => {
      setText(counts, `${r.counts.pending} waiting to join · ${r.counts.enrolled} enrolled · ${r.counts.revoked} revoked or refused`);
      return r;
    }),
    searchPlaceholder: 'node id or name',
    filters: [{ name: 'status', label: 'all keys', options: [['pending', 'waiting to join'], ['enrolled', 'enrolled'], ['revoked', 'revoked or refused']] }],
    filtersInitial: ctx.live.state.summary?.pending ? { status: 'pending' } : {},
    sort: 'id',
    onRow: (k) => { if (k.role === 'node' && k.status !== 'pending') ctx.go(`#/devices/${k.nodeId}`); },
    onError: (e) => ctx.fail(e, msg),
    empty: 'no keys match',
    columns: [
      { key: 'nodeId', label: 'node id', sort: 'id', cls: 'mono', text: (k) => k.nodeId },
      { key: 'status', label: 'status', cell: (td, k) => { setText(td, k.status === 'pending' ? 'waiting to join' : k.status); td.className = `status ${k.status}`; } },
      { key: 'role', label: 'role', sort: 'role' },
      { key: 'name', label: 'name', sort: 'name', text: (k) => k.name ?? '–' },
      { key: 'seen', label: 'when', sort: 'seen', text: (k) => (k.status === 'pending' ? `asked ${ago(k.lastSeen)} (${k.attempts}×${k.address ? `, ${k.address}` : ''})` : k.revokedAt ? `revoked ${ago(k.revokedAt)}` : ''), wide: true },
      { key: 'actions', label: '', cell: actions },
    ],
  });
  const add = el('form', { class: 'inline-form', id: 'enroll-add' },
    el('input', { name: 'publicKey', placeholder: 'device public key (64 hex digits)', required: true, pattern: '[0-9a-f]{64}', 'aria-label': 'public key' }),
    el('input', { name: 'name', placeholder: 'name (optional)', 'aria-label': 'name', maxlength: '128' }),
    el('button', { type: 'submit', class: 'small' }, 'enroll'));
  add.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = new FormData(add);
    await act('enroll', '/api/enrollment', { publicKey: String(f.get('publicKey')).trim(), ...(f.get('name') ? { name: String(f.get('name')) } : {}) });
    add.reset();
  });
  fill(box, el('h2', {}, 'Enrollment'), counts,
    el('p', { class: 'muted' }, 'Devices whose key is not enrolled are refused by the broker and listed here as waiting to join. The CLI does the same on the enrollment file: ', el('code', {}, 'swarmlet enroll list --pending'), ', ', el('code', {}, 'add NODE_ID'), ', ', el('code', {}, 'revoke'), ', ', el('code', {}, 'readmit'), '.'),
    ctx.can('admin') ? add : null, msg, t.root);
  const reload = throttle(1000, () => t.refresh());
  let pending = ctx.live.state.summary?.pending;
  const offs = [ctx.live.on('summary', (s) => { if (s.pending !== pending) { pending = s.pending; reload(); } }), ctx.live.on('nodes', ({ full }) => { if (full) reload(); })];
  return { unmount: () => offs.forEach((f) => f()) };
}
