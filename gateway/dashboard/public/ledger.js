// The ledger-proof view: proof height and lag (GET /api/proofs/latest), and a check of the
// latest recursive proof in this browser with o1js (vendored at build time into
// vendor/o1js, no CDN) against the verification key committed with the source
// (vendor/ledger-vk.json), in a worker (ledger-worker.js, where alone o1js may run). o1js's web build runs wasm threads
// on shared memory, so the dashboard is served cross-origin isolated (gateway/access/headers.ts).
const $ = (sel) => document.querySelector(sel);
const shortKey = (k) => (k ? `${k.slice(0, 8)}…${k.slice(-6)}` : '–');
let latest = null;

export function renderLedger(s) {
  const box = $('#ledger-status');
  if (!s.enabled) {
    box.textContent = `ledger proofs off: ${s.reason}`;
    $('#ledger-verify').disabled = true;
    return;
  }
  latest = s.latest;
  $('#l-height').textContent = s.height.toLocaleString('en-US');
  $('#l-lag').textContent = `${s.lag.toLocaleString('en-US')} batch${s.lag === 1 ? '' : 'es'}`;
  $('#l-receipts').textContent = latest ? Number(latest.state.receipts).toLocaleString('en-US') : '–';
  $('#l-fuel').textContent = latest ? Number(latest.state.fuel).toLocaleString('en-US') : '–';
  const key = $('#l-key');
  key.textContent = shortKey(s.gatewayKey);
  key.title = s.gatewayKey || '';
  box.textContent = s.error ? `prover: ${s.error}` : latest ? `latest proof made ${Math.round((Date.now() - latest.provedAt) / 1000)} s ago` : 'first proof on its way (a first start compiles the circuit)';
  $('#ledger-verify').disabled = !latest;
}

let worker = null;

/** Returns [{step, ok, detail}]. o1js runs in ledger-worker.js (see there why). */
export async function verifyLedgerProof(p) {
  const steps = [];
  const check = (step, ok, detail = '') => { steps.push({ step, ok: !!ok, detail }); return !!ok; };
  try {
    const vk = await (await fetch('/dashboard/vendor/ledger-vk.json')).json();
    if (!check('made for the committed circuit', p.vkHash === vk.hash, `vk ${String(vk.hash).slice(0, 12)}…`)) return steps;
    worker ??= new Worker('/dashboard/ledger-worker.js', { type: 'module' });
    const answer = await new Promise((resolve, reject) => {
      worker.onmessage = ({ data }) => resolve(data);
      worker.onerror = (e) => { worker = null; reject(new Error(e.message || 'the verifier worker failed')); };
      worker.postMessage({ proof: p, vk });
    });
    steps.push(...answer.steps);
  } catch (e) {
    check('proof verifies', false, String((e && e.message) || e));
  }
  return steps;
}

$('#ledger-verify').addEventListener('click', async () => {
  const out = $('#ledger-check');
  out.hidden = false;
  if (!latest) { out.textContent = 'no proof yet'; return; }
  const p = latest;
  out.textContent = 'verifying in this browser (loads o1js, ~16 MB, once)…';
  const steps = await verifyLedgerProof(p);
  const ok = steps.length > 0 && steps.every((s) => s.ok);
  const verdict = document.createElement('div');
  verdict.id = 'ledger-verdict';
  verdict.className = ok ? 'yes' : 'no';
  verdict.textContent = ok ? `ledger proof at height ${p.state.height} verified in this browser` : 'ledger proof does NOT verify';
  const ul = document.createElement('ul');
  for (const s of steps) {
    const li = document.createElement('li');
    if (!s.ok) li.className = 'fail';
    li.textContent = `${s.step}${s.detail ? ` — ${s.detail}` : ''}`;
    ul.append(li);
  }
  out.replaceChildren(verdict, ul);
});
