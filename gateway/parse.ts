/**
 * The stateless half of receipt intake: decode a `result` message, verify the receipt
 * inside each of its items (Ed25519, protocol's fast backend) and check that result and receipt agree.
 * Pure and self-contained, so it runs on the main thread or in verifier worker threads.
 * Never throws: a refusal is an outcome with a reason.
 *
 * The outer `result` envelope's own signature is not checked, on purpose: everything that
 * matters in it is bound by the signed receipt (node, task, job, module, input and output
 * hashes, outcome, fuel) and the output bytes are checked against the receipt's hash. Only
 * the advisory `attempt` number and error text ride unsigned. Skipping it halves the
 * Ed25519 work per result, which is the intake's main cost (and the agent signs a
 * message once for all the results it carries).
 */
import { decode } from '../protocol/codec.js';
import { BODY_LIMITS, ENVELOPE_LIMITS, open } from '../protocol/envelope.js';
import { isProtocolError } from '../protocol/errors.js';
import { bytesEqual, sha256, toHex } from '../protocol/hash.js';
import { nodeIdFromPublicKey } from '../protocol/identity.js';
import { validate, type AckStatus, type CapacityAdvert, type Receipt, type Result, type ResultMessage, type Status } from '../protocol/messages.js';
import { decodeResult } from '../protocol/results.js';

export interface Parsed {
  result: Result;
  receipt: Receipt;
  receiptBytes: Uint8Array;
  id: Uint8Array;
  idHex: string;
}

export interface Refusal {
  nodeId: string | null;
  taskId: string | null;
  /** Set only once the receipt's signature verified: a forged receipt names nothing. */
  receiptId: string | null;
  status: AckStatus;
  reason: string | null;
}

export type ParseOutcome = { ok: true; parsed: Parsed } | { ok: false; outcome: Refusal };

const refuse = (reason: string, nodeId: string | null = null, taskId: string | null = null, receiptId: string | null = null): ParseOutcome =>
  ({ ok: false, outcome: { nodeId, taskId, receiptId, status: 'rejected', reason } });

/**
 * Parse one `result` message: one outcome per item it carries, in order, or a single
 * refusal when the message itself is unreadable. A bad item costs only itself.
 */
export function parseResultMessage(bytes: Uint8Array): ParseOutcome[] {
  let msg: ResultMessage;
  try {
    const env = decode(bytes, ENVELOPE_LIMITS) as Record<string, unknown>;
    if (typeof env !== 'object' || env === null || env.kind !== 'result' || !(env.body instanceof Uint8Array) || !(env.signer instanceof Uint8Array)) {
      return [refuse('not a result envelope')];
    }
    msg = validate('result', decode(env.body, BODY_LIMITS));
    if (nodeIdFromPublicKey(env.signer) !== msg.nodeId) return [refuse('result signer is not the node it names', msg.nodeId)];
  } catch (e) {
    return [refuse(`bad result: ${(e as Error).message}`)];
  }
  return msg.results.map((item, i) => parseItem(msg.nodeId, item, i));
}

function parseItem(nodeId: string, item: Uint8Array, i: number): ParseOutcome {
  let result: Result;
  try {
    result = decodeResult(item, `result.results.${i}`);
  } catch (e) {
    return refuse(`bad result: ${(e as Error).message}`, nodeId);
  }
  if (result.nodeId !== nodeId) return refuse('result item names another node', nodeId, result.taskId);
  let opened;
  try {
    opened = open(result.receipt, { kind: 'receipt', signer: result.nodeId });
  } catch (e) {
    return refuse(`receipt refused: ${isProtocolError(e) ? `${e.code}: ${e.message}` : String(e)}`, result.nodeId, result.taskId);
  }
  const receipt = opened.message;
  const idHex = toHex(opened.id);
  if (receipt.taskId !== result.taskId || receipt.jobId !== result.jobId) return refuse('result and receipt name different tasks', result.nodeId, result.taskId, idHex);
  if (result.ok) {
    if (receipt.outcome !== 'ok') return refuse('result says ok but the receipt does not', result.nodeId, result.taskId, idHex);
    if (!bytesEqual(sha256(result.output), receipt.outputHash)) return refuse('output does not hash to the receipt outputHash', result.nodeId, result.taskId, idHex);
  } else if (receipt.outcome === 'ok' || (result.error && result.error.kind !== receipt.outcome)) {
    return refuse('result failure does not match the receipt outcome', result.nodeId, result.taskId, idHex);
  }
  return { ok: true, parsed: { result, receipt, receiptBytes: result.receipt, id: opened.id, idHex } };
}

/** A retained advert or status as it came off the wire (topic parsed, bytes not yet opened). */
export interface SoftItem {
  type: 'cap' | 'status';
  nodeId: string;
  region: string;
  payload: Uint8Array;
}

export type SoftOutcome =
  | { ok: true; type: 'cap'; message: CapacityAdvert }
  | { ok: true; type: 'status'; message: Status }
  /** An emptied retained topic: the node is gone. */
  | { ok: true; type: 'gone' }
  | { ok: false; why: string };

/**
 * Open one advert or status: signature by the node its topic names, schema, region equal
 * to the topic's. Stateless (enrollment is checked by the caller), so it runs in the
 * verifier workers: at 10,000 devices the adverts alone are hundreds of signatures a second.
 */
export function parseSoftState(item: SoftItem): SoftOutcome {
  if (item.payload.length === 0) return { ok: true, type: 'gone' };
  try {
    if (item.type === 'cap') {
      const m = open(item.payload, { kind: 'cap', signer: item.nodeId }).message;
      if (m.region !== item.region) return { ok: false, why: 'advert region differs from its topic' };
      return { ok: true, type: 'cap', message: m };
    }
    const m = open(item.payload, { kind: 'status', signer: item.nodeId }).message;
    if (m.region !== item.region) return { ok: false, why: 'status region differs from its topic' };
    return { ok: true, type: 'status', message: m };
  } catch (e) {
    return { ok: false, why: isProtocolError(e) ? `${e.code}: ${e.message}` : (e as Error).message };
  }
}
