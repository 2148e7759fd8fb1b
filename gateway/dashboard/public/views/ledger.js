// Ledger proof: the recursive prover's height and lag (GET /api/proofs/latest, polled while
// the view is open: a proof lands some time after its batch is sealed), and a check of the
// latest proof in this browser with o1js (vendored at build time, no CDN) against the
// verification key committed with the source (vendor/ledger-vk.json). o1js runs only in a
// module worker (../ledger-worker.js): its web build evaluates code, which the console's CSP
// forbids everywhere else (gateway/access/headers.ts).
import { el, num, ago, setText, throttle } from '../lib/dom.js';
import { api } from '../lib/api.js';

const shortKey = (k) => (k ? `${k.slice(0, 8)}…${k.slice(-6)}` : '–');
const POLL_MS = 5000;

export function mount(ctx, box) {
  const card = (id, label, cls = '') => el('div', { class: 'card' }, el('div', { class: 'label' }, label), el('div', { class: `value ${cls}`, id }, '–'));
  const status = el('span', { id: 'ledger-status' }, '–');
  const verify = el('button', { id: 'ledger-verify', class: 'small', type: 'button', disabled: true }, 'verify latest proof in browser');
  const out = el('div', { id: 'ledger-check', class: 'proof', hidden: true });
  box.append(el('h2', {}, 'Ledger proof'),
    el('p', { class: 'muted' }, 'One recursive proof covers every sealed batch: exact receipt, fuel and credit totals, rooted in the gateway\'s Pallas key. Checked here against the verification key shipped with this console, not one the gateway sends.'),
    el('div', { class: 'cards' },
      card('l-height', 'proof height (batches)'), card('l-lag', 'lag'), card('l-receipts', 'receipts proven'),
      card('l-fuel', 'fuel proven'), card('l-key', 'gateway Pallas key', 'mono')),
    el('div', { class: 'msg' }, status, ' ', verify), out);

  let latest = null;
  const render = (s) => {
    if (!s.enabled) {
      setText(status, `ledger proofs off: ${s.reason}`);
      verify.disabled = true;
      return;
    }
    latest = s.latest;
    setText(box.querySelector('#l-height'), num(s.height));
    setText(box.querySelector('#l-lag'), `${num(s.lag)} batch${s.lag === 1 ? '' : 'es'}`);
    setText(box.querySelector('#l-receipts'), latest ? num(Number(latest.state.receipts)) : '–');
    setText(box.querySelector('#l-fuel'), latest ? num(Number(latest.state.fuel)) : '–');
    const key = box.querySelector('#l-key');
    setText(key, shortKey(s.gatewayKey));
    key.title = s.gatewayKey || '';
    setText(status, s.error ? `prover: ${s.error}` : latest ? `latest proof made ${ago(latest.provedAt)}` : 'first proof on its way (a first start compiles the circuit)');
    verify.disabled = !latest;
  };
  let gone = false;
  const load = () => api('/api/proofs/latest').then((s) => { if (!gone) render(s); }, (e) => ctx.fail(e, status));
  void load();
  const timer = setInterval(load, POLL_MS);
  const offs = [ctx.live.on('batches', throttle(1000, load))];

  let worker = null;
  verify.addEventListener('click', async () => {
    out.hidden = false;
    if (!latest) { setText(out, 'no proof yet'); return; }
    const p = latest;
    verify.disabled = true;
    setText(out, 'verifying in this browser (loads o1js, ~16 MB, once)…');
    worker ??= new Worker('/dashboard/ledger-worker.js', { type: 'module' });
    const steps = await verifyLedgerProof(worker, p).catch((e) => [{ step: 'proof verifies', ok: false, detail: String(e?.message ?? e) }]);
    if (steps.some((s) => s.worker)) worker = null;
    verify.disabled = gone || !latest;
    const ok = steps.length > 0 && steps.every((s) => s.ok);
    out.replaceChildren(
      el('div', { id: 'ledger-verdict', class: ok ? 'yes' : 'no' }, ok ? `ledger proof at height ${p.state.height} verified in this browser` : 'ledger proof does NOT verify'),
      el('ul', {}, steps.map((s) => el('li', { class: s.ok ? undefined : 'fail' }, `${s.step}${s.detail ? ` — ${s.detail}` : ''}`))));
  });

  return {
    unmount() {
      gone = true;
      clearInterval(timer);
      offs.forEach((f) => f());
      worker?.terminate();
    },
  };
}

/** [{step, ok, detail}] for the proof `p`: made for the committed circuit, then o1js's check in the worker. */
async function verifyLedgerProof(worker, p) {
  const steps = [];
  const vk = await (await fetch('/dashboard/vendor/ledger-vk.json')).json();
  steps.push({ step: 'made for the committed circuit', ok: p.vkHash === vk.hash, detail: `vk ${String(vk.hash).slice(0, 12)}…` });
  if (!steps[0].ok) return steps;
  const answer = await new Promise((resolve) => {
    worker.onmessage = ({ data }) => resolve(data);
    worker.onerror = (e) => resolve({ steps: [{ step: 'proof verifies', ok: false, detail: e.message || 'the verifier worker failed', worker: true }] });
    worker.postMessage({ proof: p, vk });
  });
  return [...steps, ...answer.steps];
}
