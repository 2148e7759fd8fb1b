/**
 * The gateway with real agents (agent/index.ts startAgent, simulated sensors, the real
 * runtime) through the authenticating broker (broker/index.ts, connect proofs and ACLs):
 * jobs come back with every output equal to the reference, by the fast path and by the
 * auction, and a cheating agent is caught while the outputs stay correct.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { toHex } from '../../protocol/hash.js';
import { generateIdentity } from '../../protocol/identity.js';
import { startBroker } from '../../broker/index.js';
import { startAgent } from '../../agent/index.js';
import type { AgentHandle } from '../../agent/types.js';
import { startGateway, type GatewayOptions } from '../../gateway/index.js';
import { closeRuntime, enrollmentFor, gatewayRuntime, runtime, tempDir, waitFor } from './harness.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const enc = (s: string) => new TextEncoder().encode(s);

after(closeRuntime);

async function mesh(agentCheat: Array<number | null>, o: Partial<GatewayOptions>) {
  const dir = tempDir();
  const gwId = generateIdentity();
  const ids = agentCheat.map(() => generateIdentity());
  const enrollment = enrollmentFor(gwId, ids);
  const broker = await startBroker({ port: 0, enrollment, meshId: 'swarmlet', dataDir: join(dir.path, 'broker') });
  const gw = await startGateway({ brokerUrl: broker.url, identity: gwId, enrollment, dataDir: join(dir.path, 'gw'), runtime: gatewayRuntime(true), durability: 'normal', bidWindowMs: 100, ...o });
  const agents: AgentHandle[] = [];
  for (const [i, cheat] of agentCheat.entries()) {
    agents.push(await startAgent({
      brokers: [broker.url], dataDir: join(dir.path, `agent${i}`), profile: 'pi5-active', slots: 2, fuelRate: 5e8, priceFloor: 1 + i,
      trustedPublishers: [toHex(gwId.publicKey)], advertIntervalMs: 1000, ...(cheat !== null ? { cheat: { rate: cheat } } : {}),
    }, { identity: ids[i]!, runner: runtime().runner }));
  }
  await waitFor('agents advertised', () => gw.store.listNodes().filter((n) => n.online === 1 && n.state !== null).length === agents.length, 30_000);
  return {
    gw, agents,
    async close() {
      for (const a of agents) await a.stop().catch(() => {});
      await gw.stop();
      await broker.close();
      dir.cleanup();
    },
  };
}

test('real agents run a job through the fast path and the outputs equal the reference', async () => {
  const m = await mesh([null, null, null], { spotCheck: 0.1 });
  try {
    const ins = Array.from({ length: 40 }, (_, i) => enc(`agent-input-${i}`));
    const { id } = await m.gw.submitJob({ task: 'sha256', inputs: ins });
    const v = await m.gw.waitForJob(id, 60_000);
    assert.equal(v.state, 'done', JSON.stringify(v.totals));
    assert.ok(v.results!.every((r) => r.ok), JSON.stringify(v.results!.find((r) => !r.ok)));
    assert.deepEqual(v.results!.map((r) => r.outputHex), ins.map(sha));
    assert.equal(v.totals.receipts, 40);
    assert.ok(new Set(v.results!.map((r) => r.nodeId)).size >= 2, 'work spread over several agents');
  } finally { await m.close(); }
});

test('real agents bid in auctions; a cheating agent is caught and the outputs stay correct', async () => {
  // the cheater asks the lowest price, so it wins the first auctions
  const m = await mesh([1, null, null], { spotCheck: 1, fastPath: false });
  try {
    const ins = Array.from({ length: 12 }, (_, i) => enc(`auction-${i}`));
    const { id } = await m.gw.submitJob({ task: 'sha256', inputs: ins });
    const v = await m.gw.waitForJob(id, 60_000);
    assert.equal(v.state, 'done');
    assert.deepEqual(v.results!.map((r) => r.outputHex), ins.map(sha));
    const cheater = m.agents[0]!.nodeId;
    assert.ok(m.gw.store.jobAttempts(id).some((a) => a.node_id === cheater), 'the cheater won work');
    assert.equal(m.gw.store.getNode(cheater)?.quarantined, 1, 'and was caught');
    assert.ok(v.results!.every((r) => r.nodeId !== cheater && r.verified));
  } finally { await m.close(); }
});
