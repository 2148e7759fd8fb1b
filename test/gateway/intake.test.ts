/**
 * Receipt intake against a real SQLite store: forged, unenrolled, replayed, out-of-chain
 * (gap, fork) and mismatched receipts are refused with the right ack; so is every claim the
 * gateway can check: a task never assigned to the sender, fuel over the task's limit, a
 * second result for one assignment, a late result for a task done elsewhere. Good ones are
 * stored once (billing is the engine's, at acceptance); a group that arrived shuffled
 * still chains.
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

test('good receipts are stored once and acked stored; each carries its fuel and the lease price; nothing is billed at intake', async () => {
  const s = setup();
  try {
    const msgs = [0, 1, 2].map((i) => s.dev.makeResult(s.task(i), sha256(s.inputs[i]!), { fuel: 1_000_000 }));
    const r = s.intake.process(msgs);
    assert.deepEqual(r.outcomes.map((o) => o.status), ['stored', 'stored', 'stored']);
    assert.equal(r.accepted.length, 3);
    assert.ok(r.accepted.every((a) => a.fuel === 1_000_000 && a.price === 2));
    assert.equal(s.store.countUnbatched(), 3);
    assert.equal(s.store.jobBilling('j1').receipts, 0, 'billing waits for the engine to accept a result for its task');
    // the same messages again: duplicates
    const again = s.intake.process(msgs);
    assert.deepEqual(again.outcomes.map((o) => o.status), ['duplicate', 'duplicate', 'duplicate']);
    assert.equal(again.accepted.length, 0);
    assert.equal(s.store.countUnbatched(), 3);
    // a fresh intake (a restarted gateway) reads the chain head from SQLite
    const fresh = new ReceiptIntake({ store: s.store, enrollment: s.enrollment });
    assert.equal(fresh.process([msgs[1]!]).outcomes[0]!.status, 'duplicate');
    assert.equal(fresh.process([s.dev.makeResult(s.task(3), sha256(s.inputs[3]!))]).outcomes[0]!.status, 'stored');
  } finally { await s.close(); }
});

test('forged and unenrolled results are rejected and name no receipt', async () => {
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
    assert.equal(s.store.countUnbatched(), 0);
    // the genuine one still goes in afterwards: nothing above moved the chain
    assert.equal(s.intake.process([good]).outcomes[0]!.status, 'stored');
  } finally { await s.close(); }
});

test('out-of-chain receipts: a gap asks for a retry, a fork is rejected; a shuffled group still chains', async () => {
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
  } finally { await s.close(); }
});

test('a receipt whose hashes do not match the task is rejected but keeps the chain going', async () => {
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
    assert.equal(s.store.countUnbatched(), 1, 'only accepted receipts are batched');
  } finally { await s.close(); }
});

test('claims the gateway can check are refused: not assigned to the sender, fuel over the limit, a second result, a late one', async () => {
  const s = setup();
  try {
    // `other` is enrolled but holds no lease on any task: its receipts are refused, never batched.
    const stranger = Device.offline(s.other);
    const notMine = s.intake.process([stranger.makeResult(s.task(0), sha256(s.inputs[0]!))]).outcomes[0]!;
    assert.equal(notMine.status, 'rejected');
    assert.match(notMine.reason!, /never assigned to this node/);
    // fuel claims above the task's limit (1e6 in the fixture), up to the protocol's bound
    const greedy = s.intake.process([s.dev.makeResult(s.task(1), sha256(s.inputs[1]!), { fuel: 1_000_001 })]).outcomes[0]!;
    assert.equal(greedy.status, 'rejected');
    assert.match(greedy.reason!, /fuel 1000001 exceeds the task's fuel limit 1000000/);
    // beyond MAX_TASK_FUEL the receipt does not even pass the schema
    const huge = s.intake.process([s.dev.makeResult(s.task(1), sha256(s.inputs[1]!), { fuel: 5e15, seq: 3, prev: new Uint8Array(32) })]).outcomes[0]!;
    assert.equal(huge.status, 'rejected');
    assert.match(huge.reason!, /fuel/);
    // a good result, then a second (different) receipt for the same assignment
    assert.equal(s.intake.process([s.dev.makeResult(s.task(2), sha256(s.inputs[2]!))]).outcomes[0]!.status, 'stored');
    const twice = s.intake.process([s.dev.makeResult(s.task(2), sha256(s.inputs[2]!), { fuel: 999 })]).outcomes[0]!;
    assert.equal(twice.status, 'rejected');
    assert.match(twice.reason!, /already has a result/);
    // a late result: the lease expired long ago and the task was finished by someone else
    s.store.tx(() => {
      s.store.db.prepare("UPDATE attempts SET state = 'expired', lease_until = 1000 WHERE task_id = 'j1.3'").run();
      s.store.setTaskFinal('j1.3', { state: 'done', output: null, outputHash: null, ok: true, error: null, nodeId: s.other.nodeId, receiptId: 'x', verified: false });
    });
    const late = s.intake.process([s.dev.makeResult(s.task(3), sha256(s.inputs[3]!))]).outcomes[0]!;
    assert.equal(late.status, 'rejected');
    assert.match(late.reason!, /late/);
    // an expired lease whose task is still open: the result is still wanted
    s.store.db.prepare("UPDATE attempts SET state = 'expired', lease_until = 1000 WHERE task_id = 'j1.4'").run();
    assert.equal(s.intake.process([s.dev.makeResult(s.task(4), sha256(s.inputs[4]!))]).outcomes[0]!.status, 'stored');
    assert.equal(s.store.countUnbatched(), 2, 'only the two acceptable receipts are batched');
    assert.equal(s.store.chainHead(s.node.nodeId).seq, 5, 'refused (but authentic, in-chain) receipts still move the chain');
  } finally { await s.close(); }
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
  } finally { await pool.close(); await s.close(); }
});
