/**
 * Offline checks of a ledger proof and of a receipt's inclusion in it (what `swarmlet proof
 * check` runs on a swarmlet-ledger-* file). Trusted: the committed verification key
 * (ledger-vk.json, reproducible from the source) and, when pinned, the gateway's Pallas
 * genesis key. Not trusted: anything else in the file, including every batch signature.
 *
 * Inclusion, step by step:
 *   1. the receipt envelope verifies (Ed25519, by the node it names) and hashes to receiptId;
 *   2. its slot's cells [Poseidon(id, node, task), fuel x 2^64 + price] with the claimed
 *      price sit at its place in its group, and the group's path leads to the batch root;
 *   3. the batch leaf Poseidon(batchNo, root, count, fuel, credits) sits in slot batchNo-1
 *      of the proven batches tree (path to state.batchesRoot);
 *   4. the recursive proof verifies against the committed key, and its public output is
 *      exactly the state the file shows (optionally: made for the pinned key).
 */
import { open } from '../../protocol/envelope.js';
import { fromHex, toHex } from '../../protocol/hash.js';
import { isProtocolError } from '../../protocol/errors.js';
import { LedgerInclusion, LedgerProof, type LedgerState } from '../../protocol/ledger-proof.js';
import { check } from '../../util/valid.js';
import { defineLedger, stateJson } from './circuit.js';
import { hashing } from './hashing.js';
import type { O1js } from './o1js.js';
import { readLedgerVk, type LedgerVk } from './vk.js';

export interface CheckStep { step: string; ok: boolean; detail: string }
export interface CheckVerdict {
  ok: boolean;
  /** The first failed step's reason, when not ok. */
  reason: string | null;
  steps: CheckStep[];
  state: LedgerState | null;
}

export interface CheckOptions {
  /** Pin the gateway's Pallas key (base58); without it the verdict names the key the ledger is rooted in. */
  gatewayKey?: string;
  vk?: LedgerVk;
}

class Steps {
  readonly list: CheckStep[] = [];
  add(step: string, ok: boolean, detail = ''): boolean {
    this.list.push({ step, ok, detail });
    return ok;
  }
  verdict(state: LedgerState | null): CheckVerdict {
    const bad = this.list.find((s) => !s.ok);
    return { ok: !bad, reason: bad ? `${bad.step}: ${bad.detail}` : null, steps: this.list, state };
  }
}

async function proofSteps(o: O1js, p: LedgerProof, opts: CheckOptions, s: Steps): Promise<void> {
  const vk = opts.vk ?? readLedgerVk();
  if (!s.add('made for the committed circuit', p.vkHash === vk.hash, p.vkHash === vk.hash ? `vk ${vk.hash.slice(0, 12)}…` : `proof names vk ${p.vkHash}, expected ${vk.hash}`)) return;
  const { LedgerState: State } = defineLedger(o);
  let shown: LedgerState;
  try {
    shown = stateJson(State.fromFields(p.proof.publicOutput.map((x) => o.Field(x))));
  } catch (e) {
    s.add('public output decodes', false, (e as Error).message);
    return;
  }
  if (!s.add('public output is the stated ledger', JSON.stringify(shown) === JSON.stringify(p.state), `height ${p.state.height}, ${p.state.receipts} receipts, ${p.state.fuel} fuel`)) return;
  if (opts.gatewayKey !== undefined) {
    if (!s.add('rooted in the pinned gateway key', opts.gatewayKey === p.state.gatewayKey, p.state.gatewayKey)) return;
  }
  let ok = false;
  let why = '';
  try {
    ok = await o.verify(p.proof, vk.data);
  } catch (e) {
    why = (e as Error).message;
  }
  s.add('recursive proof verifies', ok, ok ? `${p.proof.proof.length} base64 chars` : why || 'verification failed');
}

/** Check a ledger proof (swarmlet-ledger-proof-v1). Never throws. */
export async function checkLedgerProof(o: O1js, input: unknown, opts: CheckOptions = {}): Promise<CheckVerdict> {
  const s = new Steps();
  const parsed = check(LedgerProof, input);
  if (!s.add('ledger proof format', parsed.ok, parsed.ok ? '' : parsed.reason)) return s.verdict(null);
  const p = (parsed as { value: LedgerProof }).value;
  try {
    await proofSteps(o, p, opts, s);
  } catch (e) {
    s.add('ledger proof', false, (e as Error).message);
  }
  return s.verdict(p.state);
}

/** Check a receipt's inclusion in a ledger proof (swarmlet-ledger-inclusion-v2). Never throws. */
export async function checkLedgerInclusion(o: O1js, input: unknown, opts: CheckOptions = {}): Promise<CheckVerdict & { receipt?: { taskId: string; nodeId: string; fuel: number; batchNo: number } }> {
  const s = new Steps();
  const parsed = check(LedgerInclusion, input);
  if (!s.add('inclusion proof format', parsed.ok, parsed.ok ? '' : parsed.reason)) return s.verdict(null);
  const p = (parsed as { value: LedgerInclusion }).value;
  const state = p.ledger.state;
  try {
    const h = hashing(o);
    let r;
    try {
      r = open(fromHex(p.receipt), { kind: 'receipt' });
    } catch (e) {
      s.add('receipt signature', false, isProtocolError(e) ? `${e.code}: ${e.message}` : (e as Error).message);
      return s.verdict(state);
    }
    s.add('receipt signature (Ed25519, by the node it names)', true, `node ${r.signerId}`);
    if (!s.add('receipt id = sha256(body)', toHex(r.id) === p.receiptId, p.receiptId.slice(0, 16))) return s.verdict(state);
    const b = p.batch;
    if (!s.add('leaf index inside the batch', p.leafIndex < b.count, `leaf ${p.leafIndex} of ${b.count}`)) return s.verdict(state);
    const own = h.cellsOf(h.slot({ id: p.receiptId, nodeId: r.message.nodeId, taskId: r.message.taskId, fuel: BigInt(r.message.fuel), price: BigInt(p.price) }));
    const root = h.batchRootFromPath(own, p.leafIndex, p.group.map(BigInt), p.receiptPath.map(BigInt));
    if (!s.add('receipt slot (id, node, task, fuel, price) leads to the batch root', root === BigInt(b.root), `batch ${b.batchNo}, fuel ${r.message.fuel}, price ${p.price}`)) return s.verdict(state);
    if (!s.add('batch is within the proven height', b.batchNo <= state.height, `batch ${b.batchNo} of ${state.height}`)) return s.verdict(state);
    const batchLeaf = h.batchLeaf({ batchNo: b.batchNo, root: BigInt(b.root), count: b.count, fuel: BigInt(b.fuel), credits: BigInt(b.credits) });
    const top = h.batchesRootFromPath(batchLeaf, b.batchNo - 1, p.batchesPath.map(BigInt));
    if (!s.add('batch sits in the proven batches tree', top === BigInt(state.batchesRoot), `${b.count} receipts, ${b.fuel} fuel`)) return s.verdict(state);
    await proofSteps(o, p.ledger, opts, s);
    return { ...s.verdict(state), receipt: { taskId: r.message.taskId, nodeId: r.message.nodeId, fuel: r.message.fuel, batchNo: b.batchNo } };
  } catch (e) {
    s.add('inclusion proof', false, (e as Error).message);
    return s.verdict(state);
  }
}
