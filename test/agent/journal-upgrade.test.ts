/**
 * An agent upgraded in place: its outbox journal, written by the previous version, holds
 * each unacknowledged result as a whole sealed `result` envelope. A real agent started on
 * that data dir must send it as an item of a new-format `result` message, and continue the
 * receipt chain after it. Also: one `assign` message with several tasks runs them all.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startAgent, type AgentHandle } from '../../agent/index.js';
import { Outbox } from '../../agent/outbox.js';
import { sealResult } from '../../agent/receipts.js';
import { loadOrCreateKey, lean } from '../../agent/signer.js';
import type { TaskRunner } from '../../agent/runtime/types.js';
import { encode } from '../../protocol/codec.js';
import { ENVELOPE_VERSION, open, seal, signingBytes } from '../../protocol/envelope.js';
import { bytesEqual, sha256, toHex, ZERO_HASH } from '../../protocol/hash.js';
import type { Identity } from '../../protocol/identity.js';
import { assignMessage, type Assignment, type Result } from '../../protocol/messages.js';
import { checkChain } from '../../protocol/receipt.js';
import { resultsOf } from '../../protocol/results.js';
import { topics } from '../../protocol/topics.js';
import { closeAll } from '../helpers/common.js';
import { FakeGateway, startAedes, tempDir, waitFor, type TestBroker } from './harness.js';
import { taskWasm, testRunner } from './runner.js';

/**
 * The previous version's journal data: `seal('result', result)` when a `result` message
 * was one Result. seal() now validates against the batched schema and refuses a bare
 * Result, so the envelope is built by hand, exactly as seal built it then.
 */
function oldSealedResult(result: Result, identity: Identity): Uint8Array {
  const body = encode(result);
  const sig = lean.sign(signingBytes('result', body), identity.secretKey);
  return encode({ v: ENVELOPE_VERSION, kind: 'result', signer: identity.publicKey, body, sig });
}

describe('agent: old journal upgraded on open; batched assignments', () => {
  let broker: TestBroker;
  let gw: FakeGateway;
  let runner: TaskRunner;
  let agent: AgentHandle | null = null;
  const dir = tempDir();
  const errors: string[] = [];
  let moduleHash: Uint8Array;
  let old: { assignment: Assignment; receiptId: string; output: Uint8Array };

  before(async () => {
    broker = await startAedes();
    gw = new FakeGateway(broker.url);
    await gw.connect();
    moduleHash = await gw.publishModule(taskWasm('sha256'), 'sha256');
    runner = await testRunner(2);

    // The key the agent will load, and a journal written the old way (no `upgrade` option).
    const identity = loadOrCreateKey(join(dir.path, 'node.key'));
    const outbox = await Outbox.open(join(dir.path, 'outbox'), { maxEntries: 1000, maxBytes: 16 * 1024 * 1024 });
    const input = new TextEncoder().encode('done before the upgrade');
    const assignment = gw.makeAssignment(identity.nodeId, moduleHash, input, { attempt: 1 });
    const output = sha256(input);
    const now = Date.now();
    const entry = await outbox.append((head) => {
      assert.equal(head.seq, 0);
      const s = sealResult({ assignment, ok: true, output, error: null, fuel: 1234, wallMs: 1, startedAt: now, finishedAt: now, tempStartC: 40, tempEndC: 41 }, head, identity);
      const data = oldSealedResult(s.result, identity);
      // what the old agent published: a single-Result envelope, no longer a valid message
      assert.throws(() => open(data, { kind: 'result' }));
      return { seq: s.seq, id: s.id, taskId: s.taskId, data };
    });
    assert.ok(entry.durable);
    await outbox.close();
    old = { assignment, receiptId: entry.idHex, output };
  });

  after(() => closeAll(agent, gw, runner, broker, dir));

  it('re-sends the old journal entry as an item of a new-format result message', async () => {
    gw.autoAck = null; // keep it in the outbox until we have looked
    agent = await startAgent({
      brokers: [broker.url], region: 'test', dataDir: dir.path, profile: 'pi5-active', slots: 2,
      fuelRate: 100_000_000, trustedPublishers: [gw.publicKeyHex], sampleIntervalMs: 200, advertIntervalMs: 60_000,
    }, { runner });
    agent.on('error', (e: Error) => errors.push(e.message));
    const nodeId = agent.nodeId;
    const got = await waitFor('the old result', () => gw.resultsFor(nodeId).find((r) => r.opened.message.taskId === old.assignment.taskId), 30_000);
    assert.deepEqual(gw.bad, [], 'every message the gateway got was well-formed');
    // the message carrying it decodes with resultsOf, as a proper item
    const items = resultsOf(open(got.raw, { kind: 'result', signer: nodeId }).message);
    const item = items.find((r) => r.taskId === old.assignment.taskId)!;
    assert.ok(item);
    assert.ok(bytesEqual(item.output, old.output));
    assert.equal(item.nodeId, nodeId);
    assert.equal(item.attempt, 1);
    assert.equal(toHex(got.receipt.id), old.receiptId, 'the same signed receipt as journaled');
    assert.equal(got.receipt.message.seq, 1);
    assert.ok(bytesEqual(got.receipt.message.prevHash, ZERO_HASH));
    assert.ok(bytesEqual(got.receipt.message.outputHash, sha256(item.output)));

    // acked: the outbox forgets it
    await gw.ack(nodeId, [{ receiptId: got.receipt.id, taskId: item.taskId, status: 'stored' }]);
    await waitFor('outbox empty', () => agent!.stats().outbox.entries === 0, 30_000);
    gw.autoAck = 'stored';
  });

  it('runs every task of one assign message and chains their receipts after the old one', async () => {
    const a = agent!;
    const inputs = Array.from({ length: 8 }, (_, i) => new Uint8Array(100 + i * 300).fill(i + 1));
    const list = inputs.map((input) => gw.makeAssignment(a.nodeId, moduleHash, input));
    await gw.client.publishAsync(topics.assign('test', a.nodeId), Buffer.from(seal('assign', assignMessage(list), gw.identity).bytes), { qos: 1 });
    const want = new Set(list.map((x) => x.taskId));
    await waitFor('8 results', () => gw.resultsFor(a.nodeId).filter((r) => want.has(r.opened.message.taskId)).length >= 8, 60_000);
    const got = gw.resultsFor(a.nodeId).filter((r) => want.has(r.opened.message.taskId));
    for (const x of list) {
      const r = got.find((g) => g.opened.message.taskId === x.taskId);
      assert.ok(r, `result for ${x.taskId}`);
      assert.equal(r.opened.message.ok, true);
      assert.ok(bytesEqual(r.opened.message.output, sha256(x.input)), `output of ${x.taskId}`);
      assert.equal(r.opened.signerId, a.nodeId);
    }
    assert.equal(a.stats().executor.refused, 0, 'no task refused');
    assert.deepEqual(gw.bad, []);
    // every message carried 1..64 items, each a task of this batch or the old one
    const messages = new Set(got.map((g) => g.raw));
    assert.ok(messages.size >= 1 && messages.size <= 8);
    // one chain: the journaled receipt (seq 1) then these 8
    const unique = new Map(gw.resultsFor(a.nodeId).map((g) => [toHex(g.receipt.id), g] as const));
    const chain = [...unique.values()].map((g) => ({ receipt: g.receipt.message, id: g.receipt.id })).sort((x, y) => x.receipt.seq - y.receipt.seq);
    assert.deepEqual(chain.map((c) => c.receipt.seq), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(checkChain(chain), []);
    await waitFor('outbox empty after acks', () => a.stats().outbox.entries === 0, 30_000);
    assert.deepEqual(errors, []);
  });
});
