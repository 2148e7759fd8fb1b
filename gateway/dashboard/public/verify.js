// In-browser check of a receipt inclusion proof (format swarmlet-inclusion-v1), with no
// trust in the gateway's word: Ed25519 through @noble/ed25519 (the same library the
// protocol uses, RFC 8032 strict), sha256 through WebCrypto, Merkle per RFC 6962. The
// batch header must be signed by the gateway key the operator pinned (session.js), not
// by whatever key the proof names: a gateway that lies could sign with any key.
import * as ed from './vendor/noble-ed25519.js';
import { decodeCbor } from './cbor-lite.js';

const DOMAIN = new TextEncoder().encode('swarmlet/v1/envelope\0');
const hexToBytes = (h) => new Uint8Array(h.match(/../g).map((x) => parseInt(x, 16)));
const toHex = (b) => [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
const sha256 = async (...parts) => {
  const len = parts.reduce((n, p) => n + p.length, 0);
  const all = new Uint8Array(len);
  let o = 0;
  for (const p of parts) { all.set(p, o); o += p.length; }
  return new Uint8Array(await crypto.subtle.digest('SHA-256', all));
};

async function openEnvelope(bytes, kind) {
  const env = decodeCbor(bytes);
  if (env.kind !== kind) throw new Error(`expected a ${kind} envelope, got ${env.kind}`);
  const k = new TextEncoder().encode(kind);
  const msg = new Uint8Array(DOMAIN.length + k.length + 1 + env.body.length);
  msg.set(DOMAIN, 0); msg.set(k, DOMAIN.length); msg.set(env.body, DOMAIN.length + k.length + 1);
  const ok = await ed.verifyAsync(env.sig, msg, env.signer, { zip215: false });
  const signerId = toHex((await sha256(env.signer)).subarray(0, 16));
  return { ok, signer: env.signer, signerId, body: env.body, message: decodeCbor(env.body) };
}

function expectedSides(index, count) {
  const sides = [];
  let lo = 0, hi = count;
  while (hi - lo > 1) {
    let k = 1; while (k * 2 < hi - lo) k *= 2;
    if (index < lo + k) { sides.push('right'); hi = lo + k; } else { sides.push('left'); lo = lo + k; }
  }
  return sides.reverse();
}

/** Returns [{step, ok, detail}], one line per check. `pinnedKeyHex`: the gateway key the operator trusts (null: none pinned, which fails). */
export async function verifyProof(proof, pinnedKeyHex) {
  const steps = [];
  const check = (step, ok, detail = '') => { steps.push({ step, ok: !!ok, detail }); return !!ok; };
  try {
    const r = await openEnvelope(hexToBytes(proof.receipt), 'receipt');
    check('receipt signature (Ed25519, noble)', r.ok, `signed by ${r.signerId}`);
    check('receipt names its signer', r.message.nodeId === r.signerId, r.message.nodeId);
    const id = await sha256(r.body);
    check('receipt id = sha256(body)', toHex(id) === proof.receiptId, proof.receiptId.slice(0, 16));
    const sides = expectedSides(proof.leafIndex, proof.count);
    let acc = await sha256(Uint8Array.of(0), id);
    let pathOk = sides.length === proof.path.length;
    for (let i = 0; pathOk && i < proof.path.length; i++) {
      const s = proof.path[i];
      if (s.side !== sides[i]) { pathOk = false; break; }
      const sib = hexToBytes(s.hash);
      acc = s.side === 'left' ? await sha256(Uint8Array.of(1), sib, acc) : await sha256(Uint8Array.of(1), acc, sib);
    }
    check('Merkle path leads to the root', pathOk && toHex(acc) === proof.merkleRoot, `leaf ${proof.leafIndex} of ${proof.count}`);
    const h = await openEnvelope(hexToBytes(proof.batchHeader), 'batch-header');
    const signer = toHex(h.signer);
    check('batch header signature (Ed25519)', h.ok, `signed by ${h.signerId}`);
    check('signed by the gateway key you pinned', !!pinnedKeyHex && signer === pinnedKeyHex,
      !pinnedKeyHex ? 'no gateway key pinned in this browser (Settings)' : signer === pinnedKeyHex ? `pinned key ${pinnedKeyHex.slice(0, 16)}…` : `signer ${signer.slice(0, 16)}… is not the pinned ${pinnedKeyHex.slice(0, 16)}…`);
    check('batch header carries the root and count', toHex(h.message.merkleRoot) === proof.merkleRoot && h.message.count === proof.count,
      `batch ${h.message.batchNo}, ${h.message.count} receipts, ${h.message.fuelTotal} fuel`);
  } catch (e) {
    check('proof decodes', false, String(e && e.message || e));
  }
  return steps;
}
