/**
 * The agent against swarmlet's own broker (startBroker) with authentication and ACLs on:
 * it connects with its node key, works end to end, makes a fresh connect proof for every
 * reconnect (a reused one is refused as a replay), and an unenrolled agent stays out.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type BrokerHandle } from '../../broker/index.js';
import { startAgent, type AgentHandle } from '../../agent/index.js';
import { Enrollment } from '../../protocol/enrollment.js';
import { bytesEqual, sha256 } from '../../protocol/hash.js';
import { generateIdentity } from '../../protocol/identity.js';
import type { TaskRunner } from '../../agent/runtime/types.js';
import { FakeGateway, tempDir, waitFor } from './harness.js';
import { closeAll } from '../helpers/common.js';
import { taskWasm, testRunner } from './runner.js';

const MESH = 'testmesh';

describe('agent on the authenticating swarmlet broker', () => {
  let broker: BrokerHandle;
  let gw: FakeGateway;
  let runner: TaskRunner;
  const agents: AgentHandle[] = [];
  const dir = tempDir();
  const nodeKey = generateIdentity();

  before(async () => {
    gw = new FakeGateway('', 'test');
    const enrollment = new Enrollment();
    enrollment.add(nodeKey.publicKey, 'node');
    enrollment.add(gw.identity.publicKey, 'gateway');
    broker = await startBroker({ port: 0, host: '127.0.0.1', enrollment, meshId: MESH, dataDir: dir.path });
    (gw as unknown as { url: string }).url = broker.url;
    await gw.connect({ meshId: MESH });
    runner = await testRunner(1);
  });

  after(() => closeAll(agents, gw, runner, broker, dir));

  const config = (name: string) => ({
    brokers: [broker.url], meshId: MESH, region: 'test', dataDir: `${dir.path}/${name}`, profile: 'pi5-active', slots: 1,
    fuelRate: 100_000_000, trustedPublishers: [gw.publicKeyHex], sampleIntervalMs: 100, reconnect: { minMs: 100, maxMs: 500 },
  });

  it('connects with its key, runs a task, and re-authenticates with a fresh proof after a drop', async () => {
    const agent = await startAgent(config('enrolled'), { identity: nodeKey, runner });
    agents.push(agent);
    await waitFor('connected', () => agent.stats().connected);
    await waitFor('advert through the ACL', () => gw.adverts.find((a) => a.nodeId === nodeKey.nodeId));

    const moduleHash = await gw.publishModule(taskWasm('sha256'), 'sha256');
    const a = gw.makeAssignment(nodeKey.nodeId, moduleHash, new Uint8Array([5, 6, 7]));
    await gw.assign(a);
    const r = await waitFor('result', () => gw.resultsFor(nodeKey.nodeId).find((g) => g.opened.message.taskId === a.taskId));
    assert.ok(bytesEqual(r.opened.message.output, sha256(a.input)));
    await waitFor('acked', () => agent.stats().outbox.entries === 0);

    // The broker drops the session; the agent must come back with a new proof (the old nonce is spent).
    const connectsBefore = agent.stats().link.connects;
    const client = (broker.aedes as unknown as { clients: Record<string, { close(): void }> }).clients[nodeKey.nodeId];
    assert.ok(client, 'agent session on the broker, client id = node id');
    client.close();
    await waitFor('reconnected', () => agent.stats().link.connects > connectsBefore && agent.stats().connected, 15_000);
  });

  it('an agent whose key is not enrolled is refused and keeps retrying without crashing', async () => {
    const outsider = await startAgent(config('outsider'), { identity: generateIdentity(), runner });
    agents.push(outsider);
    await waitFor('refused a few times', () => outsider.stats().link.failures >= 2, 15_000);
    assert.equal(outsider.stats().connected, false);
    assert.equal(gw.adverts.some((a) => a.nodeId === outsider.nodeId), false);
  });
});
