/**
 * Receipt intake of batched `result` messages against a real SQLite store: one outcome per
 * item, in order; a bad item (wrong output, undecodable, another node's) costs only itself;
 * a message signed by someone other than the node it names is refused whole. The verifier
 * worker threads (VerifyPool) reach the same verdicts as the main thread.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seal } from '../../protocol/envelope.js';
import { sha256 } from '../../protocol/hash.js';
import type { Identity } from '../../protocol/identity.js';
import { decodeResult, encodeResult } from '../../protocol/results.js';
import { ReceiptIntake } from '../../gateway/intake.js';
import { parseResultMessage, type ParseOutcome } from '../../gateway/parse.js';
import { INLINE_BELOW, VerifyPool } from '../../gateway/verify-pool.js';
import { Device } from './harness.js';
import { intakeFixture, itemOf } from './intake-fixture.js';

const setup = (nTasks = 8) => intakeFixture(nTasks);

const wrap = (nodeId: string, items: Uint8Array[], signer: Identity) => seal('result', { nodeId, results: items }, signer).bytes;

/** A comparable summary of parse outcomes (structured clone keeps the values, not the classes). */
const summary = (list: ParseOutcome[]) => list.map((o) => (o.ok ? `ok ${o.parsed.result.taskId} ${o.parsed.idHex}` : `refused ${o.outcome.taskId} ${o.outcome.reason}`));

test('one message with several good items: all stored, one outcome per item, in order', async () => {
  const s = setup();
  try {
    const items = [0, 1, 2, 3, 4].map(s.good);
    const msg = wrap(s.node.nodeId, items, s.node);
    assert.equal(parseResultMessage(msg).length, 5);
    const r = s.intake.process([msg]);
    assert.deepEqual(r.outcomes.map((o) => o.status), ['stored', 'stored', 'stored', 'stored', 'stored']);
    assert.deepEqual(r.outcomes.map((o) => o.taskId), ['j1.0', 'j1.1', 'j1.2', 'j1.3', 'j1.4']);
    assert.deepEqual(r.outcomes.map((o) => o.receiptId), s.dev.receiptIds);
    assert.equal(r.accepted.length, 5);
    assert.equal(s.store.countUnbatched(), 5);
    assert.equal(s.store.chainHead(s.node.nodeId).seq, 5);
    // the same message again: every item a duplicate
    assert.deepEqual(s.intake.process([msg]).outcomes.map((o) => o.status), Array(5).fill('duplicate'));
  } finally { await s.close(); }
});

test('a corrupt item among good ones rejects only that item', async () => {
  const s = setup();
  try {
    const g0 = s.good(0);
    // the next link of the chain, with output bytes that do not match its receipt
    const real = decodeResult(itemOf(s.dev.makeResult(s.task(1), sha256(s.inputs[1]!), { seq: 2, prev: s.dev.prev })));
    const wrongOutput = encodeResult({ ...real, output: new Uint8Array([1, 2, 3]) });
    const g1 = s.good(1);
    const junk = new Uint8Array([0xff, 0x00, 0x13]);
    // an item naming another (enrolled) node inside this node's message
    const foreign = itemOf(Device.offline(s.other).makeResult(s.task(2), sha256(s.inputs[2]!)));
    const g2 = s.good(2);
    const msg = wrap(s.node.nodeId, [g0, wrongOutput, g1, junk, foreign, g2], s.node);
    const r = s.intake.process([msg]);
    assert.deepEqual(r.outcomes.map((o) => o.status), ['stored', 'rejected', 'stored', 'rejected', 'rejected', 'stored']);
    assert.match(r.outcomes[1]!.reason!, /output does not hash/);
    assert.match(r.outcomes[3]!.reason!, /bad result/);
    assert.match(r.outcomes[4]!.reason!, /another node/);
    assert.deepEqual([0, 2, 5].map((i) => r.outcomes[i]!.taskId), ['j1.0', 'j1.1', 'j1.2']);
    assert.equal(r.accepted.length, 3);
    assert.equal(s.store.countUnbatched(), 3);
    assert.equal(s.store.chainHead(s.node.nodeId).seq, 3, 'the good items chained; the bad ones moved nothing');
  } finally { await s.close(); }
});

test('a message signed by another key than the node it names is refused as a whole', async () => {
  const s = setup();
  try {
    const items = [0, 1, 2].map(s.good);
    const byOther = wrap(s.node.nodeId, items, s.other);
    const r = s.intake.process([byOther]);
    assert.equal(r.outcomes.length, 1, 'one refusal, not one per item');
    assert.equal(r.outcomes[0]!.status, 'rejected');
    assert.match(r.outcomes[0]!.reason!, /signer is not the node/);
    assert.equal(s.store.countUnbatched(), 0);
    // an unreadable message is one refusal too
    const trunc = wrap(s.node.nodeId, items, s.node);
    assert.equal(s.intake.process([trunc.slice(0, trunc.length - 4)]).outcomes.length, 1);
    // and the same items, properly signed, still go in
    assert.deepEqual(s.intake.process([wrap(s.node.nodeId, items, s.node)]).outcomes.map((o) => o.status), ['stored', 'stored', 'stored']);
  } finally { await s.close(); }
});

test('VerifyPool gives the same verdicts as the main thread, per message and per item', async () => {
  const s = setup(64);
  const pool = new VerifyPool(2);
  const stranger = Device.offline(s.other);
  try {
    // Enough messages that the pool really uses its threads (fewer are parsed inline).
    const msgs: Uint8Array[] = [];
    const expected: string[] = [];
    let next = 0;
    for (let m = 0; m < INLINE_BELOW + 8; m++) {
      const kind = m % 4;
      if (kind === 0) {
        msgs.push(wrap(s.node.nodeId, [s.good(next++), s.good(next++)], s.node));
        expected.push('stored', 'stored');
      } else if (kind === 1) {
        msgs.push(wrap(s.node.nodeId, [s.good(next++), new Uint8Array([0xff]), s.good(next++)], s.node));
        expected.push('stored', 'rejected', 'stored');
      } else if (kind === 2) {
        // signed by the other node while naming this one (its own chain: this one's stays whole)
        msgs.push(wrap(s.node.nodeId, [itemOf(stranger.makeResult(s.task(63), sha256(s.inputs[63]!)))], s.other));
        expected.push('rejected');
      } else {
        msgs.push(new Uint8Array([0xa0]));
        expected.push('rejected');
      }
    }
    const pooled = await pool.parse(msgs);
    const inline = msgs.map(parseResultMessage);
    assert.equal(pooled.length, msgs.length, 'one list per message');
    assert.deepEqual(pooled.map((l) => l.length), inline.map((l) => l.length));
    assert.deepEqual(pooled.map((l) => l.length).slice(0, 4), [2, 3, 1, 1]);
    assert.deepEqual(summary(pooled.flat()), summary(inline.flat()));

    // Intake through the pool: every good item stored, every bad one (or bad message) rejected.
    const intake = new ReceiptIntake({ store: s.store, enrollment: s.enrollment, verifyPool: pool });
    const r = await intake.processAsync(msgs);
    assert.deepEqual(r.outcomes.map((o) => o.status), expected);
    assert.equal(s.store.countUnbatched(), next);
    assert.equal(s.store.chainHead(s.node.nodeId).seq, next);
  } finally { await pool.close(); await s.close(); }
});
