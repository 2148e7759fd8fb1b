/**
 * AckQueue: acks to one node are coalesced into one message per delay; a full list goes
 * out at once; flush() sends everything; with no delay, added() sends at once.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AckQueue, type AckEntry } from '../../gateway/acks.js';

const ack = (i: number): AckEntry => ({ receiptId: new Uint8Array(32).fill(i), taskId: `t.${i}`, status: 'stored', reason: null });
const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('receipt ack coalescing', () => {
  it('acks to a node within the delay go out as one message, per node', async () => {
    const out: Array<{ region: string; nodeId: string; n: number }> = [];
    const q = new AckQueue({ delayMs: 50, maxPerMessage: 100, publish: (region, nodeId, list) => out.push({ region, nodeId, n: list.length }) });
    for (let i = 0; i < 5; i++) { q.add('a', 'r1', ack(i)); q.added(); }
    q.add('b', 'r1', ack(9));
    q.added();
    assert.equal(out.length, 0, 'held back');
    assert.equal(q.pending, 6);
    await settle(120);
    assert.deepEqual(out.sort((x, y) => x.nodeId.localeCompare(y.nodeId)), [{ region: 'r1', nodeId: 'a', n: 5 }, { region: 'r1', nodeId: 'b', n: 1 }]);
    assert.equal(q.pending, 0);
  });

  it('a full list goes at once; flush sends the rest; delay 0 sends on added()', () => {
    const out: number[] = [];
    const q = new AckQueue({ delayMs: 10_000, maxPerMessage: 3, publish: (_r, _n, list) => out.push(list.length) });
    for (let i = 0; i < 4; i++) q.add('a', 'r', ack(i));
    assert.deepEqual(out, [3]);
    q.flush();
    assert.deepEqual(out, [3, 1]);
    const now: number[] = [];
    const q0 = new AckQueue({ delayMs: 0, maxPerMessage: 10, publish: (_r, _n, list) => now.push(list.length) });
    q0.add('a', 'r', ack(1));
    q0.add('a', 'r', ack(2));
    q0.added();
    assert.deepEqual(now, [2]);
  });
});
