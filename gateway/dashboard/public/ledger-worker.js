// The ledger proof's check with o1js, in a worker of its own: o1js's web build evaluates
// strings as code, which the dashboard's CSP forbids, so only this worker's script is served
// with a policy that allows it (gateway/access/headers.ts); the page never runs o1js. The
// worker inherits the page's cross-origin isolation, so o1js verifies with wasm threads.
// In: {proof (LedgerProof), vk ({hash, data})}. Out: {steps: [{step, ok, detail}]}.
let o1jsLoading = null;
const loadO1js = () => (o1jsLoading ??= import('./vendor/o1js/index.js'));
const shortKey = (k) => (k ? `${k.slice(0, 8)}…${k.slice(-6)}` : '–');

self.onmessage = async ({ data: { proof: p, vk } }) => {
  const steps = [];
  const check = (step, ok, detail = '') => { steps.push({ step, ok: !!ok, detail }); return !!ok; };
  try {
    const o = await loadO1js();
    const s = p.state;
    const fields = [...o.PublicKey.fromBase58(s.gatewayKey).toFields(), o.Field(s.height), o.Field(s.batchesRoot), o.Field(s.receipts), o.Field(s.fuel), o.Field(s.credits)]
      .map((f) => f.toString());
    if (check('public output is the stated ledger', JSON.stringify(fields) === JSON.stringify(p.proof.publicOutput), `height ${s.height}, ${s.receipts} receipts, ${s.fuel} fuel`)) {
      const t0 = performance.now();
      const ok = await o.verify(p.proof, vk.data);
      check('recursive proof verifies (o1js in this browser)', ok, `${Math.round(performance.now() - t0)} ms, rooted in ${shortKey(s.gatewayKey)}`);
    }
  } catch (e) {
    check('proof verifies', false, String((e && e.message) || e));
  }
  self.postMessage({ steps });
};
