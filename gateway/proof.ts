/**
 * Inclusion proofs: "this receipt is in batch N of gateway G". A proof is self-contained
 * JSON (what GET /api/receipts/:id/proof serves and `swarmlet proof check` reads), so
 * anyone can check it offline with no access to the gateway:
 *   1. the receipt envelope verifies (Ed25519, signed by the node it names) and its id is
 *      sha256(body) = receiptId;
 *   2. the Merkle path from that id leads to merkleRoot;
 *   3. the batch header envelope verifies, is signed by the gateway, and carries that root
 *      and a count consistent with the leaf index.
 * Optionally the verifier pins the gateway's public key (otherwise the proof only shows
 * the gateway that signed it, which the caller must trust separately).
 */
import * as v from 'valibot';
import { check } from '../util/valid.js';
import { open } from '../protocol/envelope.js';
import { bytesEqual, fromHex, toHex } from '../protocol/hash.js';
import { isProtocolError } from '../protocol/errors.js';
import type { BatchHeader, Receipt } from '../protocol/messages.js';
import { rootFromPath, type PathStep } from './merkle.js';

export const PROOF_FORMAT = 'swarmlet-inclusion-v1';

const hex = (n?: number) => v.pipe(v.string(), v.regex(n ? new RegExp(`^[0-9a-f]{${n}}$`) : /^(?:[0-9a-f]{2})+$/));
const whole = (min: number) => v.pipe(v.number(), v.safeInteger(), v.minValue(min));

export const InclusionProofSchema = v.object({
  format: v.literal(PROOF_FORMAT),
  receiptId: hex(64),
  receipt: hex(),
  batchNo: whole(0),
  leafIndex: whole(0),
  count: whole(1),
  path: v.pipe(v.array(v.strictObject({ hash: hex(64), side: v.picklist(['left', 'right']) })), v.maxLength(64)),
  merkleRoot: hex(64),
  batchHeader: hex(),
  gatewayId: v.pipe(v.string(), v.regex(/^[0-9a-f]{32}$/)),
  gatewayPublicKey: hex(64),
});
export type InclusionProof = v.InferOutput<typeof InclusionProofSchema>;

export type ProofVerdict =
  | { ok: true; receipt: Receipt; header: BatchHeader; gatewayId: string }
  | { ok: false; reason: string };

export function buildInclusionProof(p: {
  receiptId: string; receiptEnvelope: Uint8Array; batchNo: number; leafIndex: number; count: number;
  path: PathStep[]; merkleRoot: string; headerEnvelope: Uint8Array; gatewayId: string; gatewayPublicKey: Uint8Array;
}): InclusionProof {
  return {
    format: PROOF_FORMAT,
    receiptId: p.receiptId,
    receipt: toHex(p.receiptEnvelope),
    batchNo: p.batchNo,
    leafIndex: p.leafIndex,
    count: p.count,
    path: p.path,
    merkleRoot: p.merkleRoot,
    batchHeader: toHex(p.headerEnvelope),
    gatewayId: p.gatewayId,
    gatewayPublicKey: toHex(p.gatewayPublicKey),
  };
}

/** Check a proof offline. Never throws: every failure is a reason. */
export function verifyInclusionProof(input: unknown, opts: { gatewayPublicKey?: Uint8Array } = {}): ProofVerdict {
  const parsed = check(InclusionProofSchema, input);
  if (!parsed.ok) return { ok: false, reason: `not an inclusion proof: ${parsed.reason}` };
  const p = parsed.value;
  const why = (e: unknown) => (isProtocolError(e) ? `${e.code}: ${e.message}` : (e as Error).message);
  let receipt: Receipt;
  try {
    const r = open(fromHex(p.receipt), { kind: 'receipt' });
    if (toHex(r.id) !== p.receiptId) return { ok: false, reason: 'receipt envelope does not hash to receiptId' };
    receipt = r.message;
  } catch (e) {
    return { ok: false, reason: `receipt envelope: ${why(e)}` };
  }
  let root: Uint8Array;
  try {
    root = rootFromPath(fromHex(p.receiptId), p.leafIndex, p.count, p.path);
  } catch (e) {
    return { ok: false, reason: `merkle path: ${why(e)}` };
  }
  if (toHex(root) !== p.merkleRoot) return { ok: false, reason: 'merkle path does not lead to merkleRoot' };
  const gwKey = fromHex(p.gatewayPublicKey);
  if (opts.gatewayPublicKey && !bytesEqual(opts.gatewayPublicKey, gwKey)) {
    return { ok: false, reason: 'proof is signed by another gateway than the pinned key' };
  }
  let header: BatchHeader;
  try {
    const h = open(fromHex(p.batchHeader), { kind: 'batch-header', signer: gwKey });
    header = h.message;
    if (h.signerId !== p.gatewayId) return { ok: false, reason: 'gatewayId does not match the header signer' };
  } catch (e) {
    return { ok: false, reason: `batch header: ${why(e)}` };
  }
  if (toHex(header.merkleRoot) !== p.merkleRoot) return { ok: false, reason: 'batch header carries another merkle root' };
  if (header.count !== p.count) return { ok: false, reason: `batch header count ${header.count} differs from proof count ${p.count}` };
  if (header.batchNo !== p.batchNo) return { ok: false, reason: 'batch number differs from the header' };
  return { ok: true, receipt, header, gatewayId: p.gatewayId };
}
