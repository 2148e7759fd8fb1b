/**
 * Receipt intake against a real SQLite store: forged, unenrolled, replayed, out-of-chain
 * (gap, fork) and mismatched receipts are refused with the right ack; good ones are
 * stored once and billed once; a group that arrived shuffled still chains.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decode, encode } from '../../protocol/codec.js';
import { seal } from '../../protocol/envelope.js';
import type { Result } from '../../protocol/messages.js';
import { decodeResult, encodeResult } from '../../protocol/results.js';
import { sha256 } from '../../protocol/hash.js';
import { generateIdentity } from '../../protocol/identity.js';
import { ReceiptIntake } from '../../gateway/intake.js';
import { parseResultMessage } from '../../gateway/parse.js';
import { VerifyPool } from '../../gateway/verify-pool.js';
import { Device } from './harness.js';
import { intakeFixture, itemOf } from './intake-fixture.js';

const setup = (nTasks = 6) => intakeFixture(nTasks);

test('good receipts are stored once, acked stored, billed once at the winning price', () => {
  const s = setup();
  try {
    const msgs = [0, 1, 2].map((i) => s.dev.makeResult(s.task(i), sha256(s.inputs[i]!), { fuel: 1_000_000 }));
    const r = s.intake.process(msgs);
    assert.deepEqual(r.outcomes.map((o) => o.status), ['stored', 'stored', 'stored']);
    assert.equal(r.accepted.length, 3);
    assert.ok(r.accepted.every((a) => a.billed));
    const bill = s.store.jobBilling('j1');
    assert.equal(bill.receipts, 3);
    assert.equal(bill.fuel, 3_000_000);
    assert.equal(bill.credits, 6, 'credits = fuel x price / 1e6');
    // the same messages again: duplicates, nothing billed twice
    const again = s.intake.process(msgs);
    assert.deepEqual(again.outcomes.map((o) => o.status), ['duplicate', 'duplicate', 'duplicate']);
    assert.equal(again.accepted.length, 0);
    assert.equal(s.store.jobBilling('j1').receipts, 3);
    // a fresh intake (a restarted gateway) reads the chain head from SQLite
    const fresh = new ReceiptIntake({ store: s.store, enrollment: s.enrollment, isQuarantined: () => false });
    assert.equal(fresh.process([msgs[1]!]).outcomes[0]!.status, 'duplicate');
    assert.equal(fresh.process([s.dev.makeResult(s.task(3), sha256(s.inputs[3]!))]).outcomes[0]!.status, 'stored');
  } finally { s.close(); }
});

test('forged and unenrolled results are rejected and name no receipt', () => {
  const s = setup();
  try {
    const good = s.dev.makeResult(s.task(0), sha256(s.inputs[0]!), { seq: 1, prev: new Uint8Array(32) });
    // flip a bit inside the receipt's signature
    const result = decodeResult(itemOf(good));
    const rEnv = decode(result.receipt) as Record<string, unknown> & { sig: Uint8Array };
    const sig = new Uint8Array(rEnv.sig); sig[5]! ^= 1;
    const forgedReceipt = encode({ ...rEnv, sig });
    const wrap = (r: Result) => seal('result', { nodeId: s.node.nodeId, results: [encodeResult(r)] }, s.node).bytes;
    const forged = wrap({ ...result, receipt: forgedReceipt });
    // a stranger signs a receipt claiming to be the node
    const mallory = generateIdentity();
    const stranger = Device.offline(mallory);
    const unenrolled = stranger.makeResult(s.task(0), sha256(s.inputs[0]!));
    // output bytes that do not hash to the receipt's outputHash
    const resultWrongOutput = wrap({ ...result, output: new Uint8Array([1, 2, 3]) });
    const r = s.intake.process([forged, unenrolled, resultWrongOutput, new Uint8Array([0xa0]), new Uint8Array(0)]);
    assert.deepEqual(r.outcomes.map((o) => o.status), ['rejected', 'rejected', 'rejected', 'rejected', 'rejected']);
    assert.match(r.outcomes[0]!.reason!, /bad-signature/);
    assert.equal(r.outcomes[0]!.receiptId, null, 'a forged receipt gets no receipt id (and so no ack)');
    assert.match(r.outcomes[1]!.reason!, /not enrolled/);
    assert.match(r.outcomes[2]!.reason!, /output does not hash/);
    assert.equal(s.store.jobBilling('j1').receipts, 0);
    // the genuine one still goes in afterwards: nothing above moved the chain
    assert.equal(s.intake.process([good]).outcomes[0]!.status, 'stored');
  } finally { s.close(); }
});

test('out-of-chain receipts: a gap asks for a retry, a fork is rejected; a shuffled group still chains', () => {
  const s = setup();
  try {
    const r1 = s.dev.makeResult(s.task(0), sha256(s.inputs[0]!));
    const r2 = s.dev.makeResult(s.task(1), sha256(s.inputs[1]!));
    const r3 = s.dev.makeResult(s.task(2), sha256(s.inputs[2]!));
    assert.equal(s.intake.process([r1]).outcomes[0]!.status, 'stored');
    // r3 before r2: gap
    const gap = s.intake.process([r3]).outcomes[0]!;
    assert.equal(gap.status, 'retry');
    assert.match(gap.reason!, /gap/);
    // a second receipt for seq 2 with another prevHash: fork
    const fork = s.dev.makeResult(s.task(3), sha256(s.inputs[3]!), { seq: 2, prev: sha256(new Uint8Array([9])) });
    const f = s.intake.process([fork]).outcomes[0]!;
    assert.equal(f.status, 'rejected');
    assert.match(f.reason!, /fork/);
    // r3 and r2 arrive together, in the wrong order: both stored
    const both = s.intake.process([r3, r2]);
    assert.deepEqual(both.outcomes.map((o) => o.status), ['stored', 'stored']);
    // and now a receipt re-using seq 2 is a fork
    const late = s.dev.makeResult(s.task(4), sha256(s.inputs[4]!), { seq: 2, prev: sha256(new Uint8Array([1])) });
    assert.equal(s.intake.process([late]).outcomes[0]!.status, 'rejected');
    assert.equal(s.store.chainHead(s.node.nodeId).seq, 3);
  } finally { s.close(); }
});

test('a receipt whose hashes do not match the task is rejected but keeps the chain going', () => {
  const s = setup();
  try {
    const wrongInput = s.dev.makeResult({ ...s.task(0), input: new TextEncoder().encode('other input') }, sha256(s.inputs[0]!));
    const wrongModule = s.dev.makeResult({ ...s.task(1), moduleHash: sha256(new Uint8Array([7])) }, sha256(s.inputs[1]!));
    const unknownTask = s.dev.makeResult({ ...s.task(2), taskId: 'j9.0', jobId: 'j9' }, sha256(s.inputs[2]!));
    const ok = s.dev.makeResult(s.task(3), sha256(s.inputs[3]!));
    const r = s.intake.process([wrongInput, wrongModule, unknownTask, ok]);
    assert.deepEqual(r.outcomes.map((o) => o.status), ['rejected', 'rejected', 'rejected', 'stored']);
    assert.match(r.outcomes[0]!.reason!, /input hash/);
    assert.match(r.outcomes[1]!.reason!, /module hash/);
    assert.match(r.outcomes[2]!.reason!, /not one of ours/);
    assert.equal(s.store.jobBilling('j1').receipts, 1);
    assert.equal(s.store.countUnbatched(), 1, 'only accepted receipts are batched');
  } finally { s.close(); }
});

test('a quarantined node\'s receipts are stored but not billed', () => {
  const s = setup();
  try {
    s.quarantined.add(s.node.nodeId);
    const r = s.intake.process([s.dev.makeResult(s.task(0), sha256(s.inputs[0]!))]);
    assert.equal(r.outcomes[0]!.status, 'stored');
    assert.equal(r.accepted[0]!.billed, false);
    assert.equal(s.store.jobBilling('j1').receipts, 0);
  } finally { s.close(); }
});

test('verifier worker threads give the same verdicts as inline parsing, in order', async () => {
  const s = setup(80);
  const pool = new VerifyPool(2);
  try {
    const msgs = Array.from({ length: 80 }, (_, i) => s.dev.makeResult(s.task(i), sha256(s.inputs[i]!)));
    // corrupt every 7th message (truncated)
    const mixed = msgs.map((m, i) => (i % 7 === 3 ? m.slice(0, m.length - 5) : m));
    const viaPool = (await pool.parse(mixed)).flat();
    const inline = mixed.flatMap(parseResultMessage);
    assert.equal(viaPool.length, mixed.length, 'one outcome per single-result message');
    assert.deepEqual(viaPool.map((o) => o.ok), inline.map((o) => o.ok));
    assert.deepEqual(viaPool.map((o) => (o.ok ? o.parsed.idHex : o.outcome.reason)), inline.map((o) => (o.ok ? o.parsed.idHex : o.outcome.reason)));
    assert.ok(viaPool.some((o) => !o.ok) && viaPool.some((o) => o.ok));
    // only the first good run of the chain is stored; after the first corrupt one, the rest wait (gap)
    const r = s.intake.processParsed(viaPool);
    const firstBad = mixed.findIndex((_, i) => i % 7 === 3);
    assert.deepEqual(r.outcomes.slice(0, firstBad).map((o) => o.status), new Array(firstBad).fill('stored'));
    assert.equal(r.outcomes[firstBad]!.status, 'rejected');
    assert.ok(r.outcomes.slice(firstBad + 1).every((o) => o.status === 'retry' || o.status === 'rejected'));
  } finally { await pool.close(); s.close(); }
});
