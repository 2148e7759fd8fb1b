/**
 * Many agents in one process share one task runner (as the simulator runs them): each
 * connects, advertises and returns its own signed receipt; two agents cannot share a dataDir.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startAgent, type AgentHandle } from '../../agent/index.js';
import { bytesEqual, sha256 } from '../../protocol/hash.js';
import type { TaskRunner } from '../../agent/runtime/types.js';
import { FakeGateway, startAedes, tempDir, waitFor, type TestBroker } from './harness.js';
import { taskWasm, testRunner } from './runner.js';

const N = 40;

describe('a fleet of agents in one process', () => {
  let broker: TestBroker;
  let gw: FakeGateway;
  let runner: TaskRunner;
  const agents: AgentHandle[] = [];
  const dir = tempDir();

  before(async () => {
    broker = await startAedes();
    gw = new FakeGateway(broker.url);
    await gw.connect();
    runner = await testRunner(2);
  });

  after(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await gw?.close();
    await runner?.close();
    await broker?.close();
    dir.cleanup();
  });

  it(`${N} agents share one runner and each returns its own receipt`, async () => {
    const config = (i: number) => ({
      brokers: [broker.url], region: 'test', dataDir: `${dir.path}/a${i}`, profile: i % 2 ? 'router' : 'appliance-hub', slots: 1,
      fuelRate: 50_000_000, trustedPublishers: [gw.publicKeyHex], sampleIntervalMs: 500,
    });
    for (let i = 0; i < N; i++) agents.push(await startAgent(config(i), { runner }));
    await assert.rejects(startAgent(config(0), { runner }), /already open/);
    await waitFor('all online', () => agents.every((a) => a.stats().connected), 30_000);
    const moduleHash = await gw.publishModule(taskWasm('sha256'), 'sha256');
    const jobs = agents.map((a, i) => gw.makeAssignment(a.nodeId, moduleHash, new Uint8Array([i, i + 1])));
    await Promise.all(jobs.map((j) => gw.assign(j)));
    await waitFor('a result from every agent', () => agents.every((a) => gw.resultsFor(a.nodeId).length === 1), 60_000);
    for (const [i, a] of agents.entries()) {
      const r = gw.resultsFor(a.nodeId)[0]!;
      assert.equal(r.receipt.message.seq, 1);
      assert.ok(bytesEqual(r.opened.message.output, sha256(jobs[i]!.input)));
    }
    assert.equal(new Set(gw.adverts.map((a) => a.nodeId)).size, N);
  });

  it('TEST/SIM cheat option: signs a wrong output, with a receipt that matches it', async () => {
    const cheater = await startAgent({
      brokers: [broker.url], region: 'test', dataDir: `${dir.path}/cheater`, profile: 'router', slots: 1,
      fuelRate: 50_000_000, trustedPublishers: [gw.publicKeyHex], cheat: { rate: 1 },
    }, { runner });
    agents.push(cheater);
    await waitFor('cheater online', () => cheater.stats().connected && gw.adverts.some((a) => a.nodeId === cheater.nodeId));
    const moduleHash = await gw.publishModule(taskWasm('sha256'), 'sha256');
    const a = gw.makeAssignment(cheater.nodeId, moduleHash, new Uint8Array([1, 2, 3]));
    await gw.assign(a);
    const r = await waitFor('cheated result', () => gw.resultsFor(cheater.nodeId)[0]);
    assert.equal(r.opened.message.ok, true);
    assert.equal(bytesEqual(r.opened.message.output, sha256(a.input)), false, 'output is wrong');
    assert.ok(bytesEqual(r.receipt.message.outputHash, sha256(r.opened.message.output)), 'but consistently signed');
    assert.equal(cheater.stats().executor.cheated, 1);
  });
});
