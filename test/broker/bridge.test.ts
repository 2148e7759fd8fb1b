import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, parseBridgeTopics, HUB_BRIDGE_TOPICS, type BrokerHandle } from '../../broker/index.js';
import { topics } from '../../protocol/topics.js';
import { makeMesh, connectAs, waitFor, collect, tempDir, cuttableProxy } from './helpers.js';

test('parseBridgeTopics', () => {
  assert.deepEqual(parseBridgeTopics('swarm/v1/+/gw/#:out, swarm/v1/+/offer:in:0,swarm/v1/+/cap/+'), [
    { filter: 'swarm/v1/+/gw/#', direction: 'out', qos: 1 },
    { filter: 'swarm/v1/+/offer', direction: 'in', qos: 0 },
    { filter: 'swarm/v1/+/cap/+', direction: 'both', qos: 1 },
  ]);
  assert.throws(() => parseBridgeTopics('a/#/b'), /bad #/);
  assert.throws(() => parseBridgeTopics('a/b:sideways'), /direction/);
  assert.throws(() => parseBridgeTopics('$SYS/#'), /\$/);
  assert.throws(() => parseBridgeTopics(' , '), /no bridge topics/);
  const hub = parseBridgeTopics(HUB_BRIDGE_TOPICS);
  assert.ok(hub.some((t) => t.filter === 'swarm/v1/+/gw/results' && t.direction === 'out'));
  assert.ok(hub.some((t) => t.filter === 'swarm/v1/+/node/+/assign' && t.direction === 'in'));
  assert.ok(hub.every((t) => t.direction !== 'both'), 'the default set needs no echo cancelling');
});

/** A regional swarmlet broker and a hub broker bridged into it through a cuttable link. */
async function setup() {
  const region = makeMesh({ hubBridge: 'bridge', gw: 'gateway', tool: 'bridge' });
  const hub = makeMesh({ a: 'node', op: 'operator' });
  const regional = await startBroker({ port: 0, enrollment: region.enrollment, meshId: 'region-eu' });
  const proxy = await cuttableProxy(regional.port);
  const tmp = tempDir();
  let hubBroker: BrokerHandle;
  try {
    hubBroker = await startBroker({
      port: 0,
      enrollment: hub.enrollment,
      dataDir: tmp.dir,
      bridges: [{
        url: `mqtt://127.0.0.1:${proxy.port}`,
        identity: region.members.hubBridge!,
        remoteMeshId: 'region-eu',
        topics: parseBridgeTopics('swarm/v1/+/gw/#:out,swarm/v1/+/offer:in,swarm/v1/+/cap/+:both'),
        reconnectMinMs: 100,
        reconnectMaxMs: 400,
      }],
    });
  } catch (e) {
    await regional.close();
    await proxy.close();
    tmp.cleanup();
    throw e;
  }
  const bridge = hubBroker.bridges[0]!;
  await waitFor(() => bridge.stats.connected, 10_000, 'bridge up');
  return {
    region, hub, regional, hubBroker, proxy, bridge,
    async close() {
      await hubBroker.close();
      await regional.close();
      await proxy.close();
      tmp.cleanup();
    },
  };
}

test('hub <-> regional swarmlet brokers: bids go up, offers come down, with bridge auth', async () => {
  const s = await setup();
  try {
    const a = await connectAs(s.hubBroker.url, s.hub.members.a!);
    const gw = await connectAs(s.regional.url, s.region.members.gw!, { meshId: 'region-eu' });
    await gw.subscribeAsync('swarm/v1/+/gw/bids', { qos: 1 });
    await a.subscribeAsync(topics.offer('eu'), { qos: 1 });
    await waitFor(() => s.bridge.stats.connected, 5000);
    const atGw = collect(gw);
    const atA = collect(a);
    await a.publishAsync(topics.bids('eu'), Buffer.from('bid-1'), { qos: 1 });
    await waitFor(() => atGw.length >= 1, 5000, 'bid at the gateway');
    await gw.publishAsync(topics.offer('eu'), Buffer.from('offer-1'), { qos: 1 });
    await waitFor(() => atA.length >= 1, 5000, 'offer at the node');
    assert.equal(atGw[0]!.payload.toString(), 'bid-1');
    assert.equal(atA[0]!.payload.toString(), 'offer-1');
    await a.endAsync();
    await gw.endAsync();
  } finally {
    await s.close();
  }
});

test('no loops on a topic bridged both ways, from either side', async () => {
  const s = await setup();
  try {
    const A = s.hub.members.a!.nodeId;
    const a = await connectAs(s.hubBroker.url, s.hub.members.a!);
    const hubWatch = await connectAs(s.hubBroker.url, s.hub.members.op!);
    const regWatch = await connectAs(s.regional.url, s.region.members.gw!, { meshId: 'region-eu' });
    const tool = await connectAs(s.regional.url, s.region.members.tool!, { meshId: 'region-eu' });
    await hubWatch.subscribeAsync('swarm/v1/+/cap/+', { qos: 1 });
    await regWatch.subscribeAsync('swarm/v1/+/cap/+', { qos: 1 });
    const atHub = collect(hubWatch);
    const atReg = collect(regWatch);
    await a.publishAsync(topics.cap('eu', A), Buffer.from('advert-from-hub'), { qos: 1 });
    await tool.publishAsync(topics.cap('eu', 'f'.repeat(32)), Buffer.from('advert-from-region'), { qos: 1 });
    await waitFor(() => atHub.length >= 2 && atReg.length >= 2, 5000, 'adverts on both sides');
    // Give a loop every chance to show: several round trips on loopback.
    await new Promise((r) => setTimeout(r, 700));
    assert.deepEqual(atHub.map((m) => m.payload.toString()).sort(), ['advert-from-hub', 'advert-from-region']);
    assert.deepEqual(atReg.map((m) => m.payload.toString()).sort(), ['advert-from-hub', 'advert-from-region']);
    assert.equal(s.bridge.stats.up, 1);
    assert.equal(s.bridge.stats.down, 1);
    assert.ok(s.bridge.stats.echoesDropped >= 2, `echoes dropped: ${s.bridge.stats.echoesDropped}`);
    // Two genuinely identical messages are both delivered (echo cancelling counts copies).
    await a.publishAsync(topics.cap('eu', A), Buffer.from('same'), { qos: 1 });
    await a.publishAsync(topics.cap('eu', A), Buffer.from('same'), { qos: 1 });
    await waitFor(() => atReg.filter((m) => m.payload.toString() === 'same').length >= 2, 5000, 'both copies');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(atReg.filter((m) => m.payload.toString() === 'same').length, 2);
    assert.equal(atHub.filter((m) => m.payload.toString() === 'same').length, 2);
    for (const c of [a, hubWatch, regWatch, tool]) await c.endAsync();
  } finally {
    await s.close();
  }
});

test('uplink cut for a while: QoS 1 messages are spooled to disk and all delivered, in order, when it returns', async () => {
  const s = await setup();
  try {
    const a = await connectAs(s.hubBroker.url, s.hub.members.a!);
    const gw = await connectAs(s.regional.url, s.region.members.gw!, { meshId: 'region-eu' });
    await gw.subscribeAsync('swarm/v1/+/gw/results', { qos: 1 });
    const atGw = collect(gw);
    await a.publishAsync(topics.results('eu'), Buffer.from('before'), { qos: 1 });
    await waitFor(() => atGw.length >= 1, 5000, 'first result');
    s.proxy.cut();
    await waitFor(() => !s.bridge.stats.connected, 5000, 'bridge down');
    const N = 60;
    for (let i = 0; i < N; i++) await a.publishAsync(topics.results('eu'), Buffer.from(`r${i}`), { qos: 1 });
    await a.publishAsync(topics.bids('eu'), Buffer.from('qos0-while-down'), { qos: 0 });
    assert.equal(s.bridge.stats.spooled, N, 'every QoS 1 message went to the spool');
    await new Promise((r) => setTimeout(r, 1500)); // several failed reconnect attempts with backoff
    assert.equal(atGw.length, 1);
    s.proxy.restore();
    await waitFor(() => atGw.length >= N + 1, 15_000, 'spool drained');
    const got = atGw.map((m) => m.payload.toString());
    assert.deepEqual(got, ['before', ...Array.from({ length: N }, (_, i) => `r${i}`)]);
    assert.equal(s.bridge.stats.droppedOffline, 1, 'QoS 0 while down is dropped, not spooled');
    await a.endAsync();
    await gw.endAsync();
  } finally {
    await s.close();
  }
});
