import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkChain, judgeReceipt, GENESIS } from '../../protocol/receipt.js';
import { seal, open } from '../../protocol/envelope.js';
import { generateIdentity } from '../../protocol/identity.js';
import { ZERO_HASH } from '../../protocol/hash.js';
import type { Receipt } from '../../protocol/messages.js';
import { sampleMessages } from './samples.js';

const dev = generateIdentity();
const base = sampleMessages(dev, generateIdentity()).receipt;

/** Build a proper chain of n receipts, as an agent would. */
function chain(n: number): { receipt: Receipt; id: Uint8Array }[] {
  const out: { receipt: Receipt; id: Uint8Array }[] = [];
  let prev = ZERO_HASH;
  for (let seq = 1; seq <= n; seq++) {
    const r: Receipt = { ...base, taskId: `t-${seq}`, seq, prevHash: prev };
    const o = open(seal('receipt', r, dev).bytes, { kind: 'receipt' });
    out.push({ receipt: o.message, id: o.id });
    prev = o.id;
  }
  return out;
}

test('an intact chain has no issues', () => {
  assert.deepEqual(checkChain(chain(10)), []);
});

test('a dropped receipt is named as a gap', () => {
  const c = chain(5);
  const issues = checkChain([c[0]!, c[1]!, c[3]!, c[4]!]);
  assert.equal(issues.length, 1);
  assert.equal(issues[0]!.issue, 'gap');
  assert.equal(issues[0]!.index, 2);
  assert.match(issues[0]!.detail, /expected seq 3, got 4/);
});

test('a receipt seen twice is named as a replay', () => {
  const c = chain(3);
  const issues = checkChain([c[0]!, c[1]!, c[1]!, c[2]!]);
  assert.deepEqual(issues.map((i) => i.issue), ['replay']);
});

test('two receipts for one position are named as a fork', () => {
  const c = chain(3);
  const alt = open(seal('receipt', { ...c[1]!.receipt, taskId: 'other' }, dev).bytes, { kind: 'receipt' });
  assert.deepEqual(checkChain([c[0]!, c[1]!, { receipt: alt.message, id: alt.id }]).map((i) => i.issue), ['fork']);
  // right seq, wrong predecessor
  const wrongPrev = open(seal('receipt', { ...c[1]!.receipt, prevHash: c[0]!.receipt.prevHash }, dev).bytes, { kind: 'receipt' });
  assert.deepEqual(checkChain([c[0]!, { receipt: wrongPrev.message, id: wrongPrev.id }]).map((i) => i.issue), ['fork']);
});

test('judgeReceipt: the first receipt must be seq 1 with a zero prevHash', () => {
  const c = chain(2);
  assert.deepEqual(judgeReceipt(GENESIS, c[0]!.receipt, c[0]!.id, () => false), { ok: true });
  const v = judgeReceipt(GENESIS, c[1]!.receipt, c[1]!.id, () => false);
  assert.equal(v.ok, false);
});
