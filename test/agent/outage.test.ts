/**
 * A broker outage in the middle of a stream of tasks loses nothing: results finished while
 * the broker is down wait in the outbox and are sent when it is back; the chain is whole.
 * The agent also fails over past a dead broker in its list.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startAgent, type AgentHandle } from '../../agent/index.js';
import { toHex } from '../../protocol/hash.js';
import { checkChain } from '../../protocol/receipt.js';
import type { TaskRunner } from '../../agent/runtime/types.js';
import { FakeGateway, startAedes, tempDir, waitFor, type TestBroker } from './harness.js';
import { closeAll } from '../helpers/common.js';
import { taskWasm, testRunner } from './runner.js';

describe('broker outage', () => {
  let broker: TestBroker;
  let gw: FakeGateway;
  let agent: AgentHandle;
  let runner: TaskRunner;
  const dir = tempDir();

  before(async () => {
    broker = await startAedes();
    gw = new FakeGateway(broker.url);
    await gw.connect();
    runner = await testRunner(2);
  });

  after(() => closeAll(agent, gw, runner, broker, dir));

  it('fails over past a dead broker, and re-sends everything finished during an outage', async () => {
    const moduleHash = await gw.publishModule(taskWasm('sha256'), 'sha256');
    agent = await startAgent({
      brokers: ['mqtt://127.0.0.1:1', broker.url], // the first refuses connections
      region: 'test', dataDir: dir.path, profile: 'pi5-active', slots: 2, fuelRate: 50_000_000,
      trustedPublishers: [gw.publicKeyHex], sampleIntervalMs: 100,
      reconnect: { minMs: 100, maxMs: 400 }, outbox: { resendAfterMs: 1000 },
    }, { runner });
    await waitFor('connected through the second broker', () => agent.stats().connected);
    assert.equal(agent.stats().link.broker, broker.url);
    assert.ok(agent.stats().link.failures >= 1);

    const N = 8;
    let cut: Promise<void> | null = null;
    // The broker dies at the first result after every assignment arrived; the rest finish while it is down.
    agent.on('receipt', () => { if (agent.stats().assignments === N) cut ??= broker.close(); });
    const inputs = Array.from({ length: N }, (_, i) => new Uint8Array(20_000 + i).fill(i));
    for (const input of inputs) await gw.assign(gw.makeAssignment(agent.nodeId, moduleHash, input));
    await waitFor('first result', () => cut);
    await cut;
    await waitFor('all results durable while the broker is down', () => agent.stats().receipts === N);
    // (results share journal writes now, so they may all be durable before the close is seen)
    await waitFor('the agent saw the broker go', () => !agent.stats().connected);
    assert.ok(agent.stats().outbox.entries >= N - 1, 'unacked results wait in the outbox');

    await broker.restart();
    await waitFor('every receipt at the gateway', () => new Set(gw.resultsFor(agent.nodeId).map((r) => toHex(r.receipt.id))).size === N, 30_000);
    const byId = new Map(gw.resultsFor(agent.nodeId).map((r) => [toHex(r.receipt.id), r] as const));
    const chain = [...byId.values()].map((r) => ({ receipt: r.receipt.message, id: r.receipt.id })).sort((a, b) => a.receipt.seq - b.receipt.seq);
    assert.deepEqual(chain.map((c) => c.receipt.seq), Array.from({ length: N }, (_, i) => i + 1));
    assert.deepEqual(checkChain(chain), [], 'no gap, no fork');
    await waitFor('outbox emptied by acks', () => agent.stats().outbox.entries === 0, 30_000);
  });
});
