/**
 * Receipts form a hash chain per node: receipt n carries seq = n and prevHash = the id
 * (sha256 of the signed body bytes) of receipt n-1; the first has seq 1 and a zero
 * prevHash. A dropped receipt shows as a gap, two receipts for one position as a fork,
 * and the same receipt twice as a replay.
 */
import { bytesEqual, toHex, ZERO_HASH } from './hash.js';
import type { Receipt } from './messages.js';

export interface ChainHead {
  /** Highest sequence number accepted; 0 before the first receipt. */
  seq: number;
  /** Id of the receipt at `seq`; zeros before the first. */
  id: Uint8Array;
}

export const GENESIS: ChainHead = Object.freeze({ seq: 0, id: ZERO_HASH });

export type ChainVerdict =
  | { ok: true }
  | { ok: false; issue: 'replay' | 'gap' | 'fork'; detail: string };

/**
 * Judge one receipt against the chain head of its node.
 * `known(id)` says whether this exact receipt was accepted before (a replay).
 */
export function judgeReceipt(head: ChainHead, receipt: Receipt, id: Uint8Array, known: (id: Uint8Array) => boolean): ChainVerdict {
  if (known(id)) return { ok: false, issue: 'replay', detail: `receipt ${toHex(id).slice(0, 16)} (seq ${receipt.seq}) was already accepted` };
  if (receipt.seq <= head.seq) {
    return { ok: false, issue: 'fork', detail: `seq ${receipt.seq} is already taken by another receipt (head is ${head.seq})` };
  }
  if (receipt.seq > head.seq + 1) {
    return { ok: false, issue: 'gap', detail: `expected seq ${head.seq + 1}, got ${receipt.seq}: ${receipt.seq - head.seq - 1} missing` };
  }
  if (!bytesEqual(receipt.prevHash, head.id)) {
    return { ok: false, issue: 'fork', detail: `seq ${receipt.seq} does not follow receipt ${toHex(head.id).slice(0, 16)}` };
  }
  return { ok: true };
}

export interface ChainIssue {
  index: number;
  issue: 'replay' | 'gap' | 'fork';
  detail: string;
}

/** Check a whole list of one node's receipts, in the order received. Returns every issue found. */
export function checkChain(items: ReadonlyArray<{ receipt: Receipt; id: Uint8Array }>, start: ChainHead = GENESIS): ChainIssue[] {
  const seen = new Set<string>();
  const issues: ChainIssue[] = [];
  let head: ChainHead = start;
  items.forEach(({ receipt, id }, index) => {
    const v = judgeReceipt(head, receipt, id, (x) => seen.has(toHex(x)));
    if (v.ok) {
      head = { seq: receipt.seq, id };
      seen.add(toHex(id));
    } else {
      issues.push({ index, issue: v.issue, detail: v.detail });
      // After a gap, continue from the receipt so later links are still checked.
      if (v.issue === 'gap') {
        head = { seq: receipt.seq, id };
        seen.add(toHex(id));
      }
    }
  });
  return issues;
}
