import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, canPublish, canSubscribe, canWill, clientIdAllowed, topicMatches, type BrokerHandle } from '../../broker/index.js';
import { topics, filters } from '../../protocol/topics.js';
import { makeMesh, connectAs, waitClose, waitFor, collect } from './helpers.js';

const me = 'a'.repeat(32);
const other = 'b'.repeat(32);
const hash = 'c'.repeat(64);

test('node publish rules', () => {
  assert.ok(canPublish('node', me, topics.cap('eu', me)));
  assert.ok(canPublish('node', me, topics.status('us-west', me)));
  assert.ok(canPublish('node', me, topics.bids('eu')));
  assert.ok(canPublish('node', me, topics.results('eu')));
  assert.ok(!canPublish('node', me, topics.cap('eu', other)), "another node's advert");
  assert.ok(!canPublish('node', me, topics.status('eu', other)));
  assert.ok(!canPublish('node', me, topics.offer('eu')));
  assert.ok(!canPublish('node', me, topics.assign('eu', me)));
  assert.ok(!canPublish('node', me, topics.proofs('eu')));
  assert.ok(!canPublish('node', me, topics.module(hash)));
  assert.ok(!canPublish('node', me, '$SYS/x'));
  assert.ok(!canPublish('node', me, 'swarm/v1/eu/cap/' + me + '/extra'));
  assert.ok(!canPublish('node', me, 'other/topic'));
});

test('node subscribe rules', () => {
  assert.ok(canSubscribe('node', me, topics.offer('eu')));
  assert.ok(canSubscribe('node', me, 'swarm/v1/+/offer'));
  assert.ok(canSubscribe('node', me, topics.assign('eu', me)));
  assert.ok(canSubscribe('node', me, topics.ack('eu', me)));
  assert.ok(canSubscribe('node', me, filters.modules()));
  assert.ok(canSubscribe('node', me, topics.module(hash)));
  assert.ok(!canSubscribe('node', me, topics.assign('eu', other)), "another node's assignments");
  assert.ok(!canSubscribe('node', me, 'swarm/v1/eu/node/+/assign'));
  assert.ok(!canSubscribe('node', me, 'swarm/v1/eu/node/#'));
  assert.ok(!canSubscribe('node', me, 'swarm/v1/#'));
  assert.ok(!canSubscribe('node', me, '#'));
  assert.ok(!canSubscribe('node', me, filters.results('eu')), 'results of others');
  assert.ok(!canSubscribe('node', me, filters.caps('+')));
  assert.ok(!canSubscribe('node', me, 'swarm/v1/modules/#'));
  assert.ok(!canSubscribe('node', me, '$SYS/#'));
});

test('gateway, operator, bridge rules', () => {
  for (const t of [topics.offer('eu'), topics.assign('eu', me), topics.ack('eu', me), topics.proofs('eu'), topics.module(hash)]) assert.ok(canPublish('gateway', me, t), t);
  assert.ok(!canPublish('gateway', me, topics.cap('eu', other)));
  assert.ok(!canPublish('gateway', me, topics.results('eu')));
  assert.ok(canSubscribe('gateway', me, 'swarm/v1/#'));
  assert.ok(canSubscribe('gateway', me, filters.results('+')));
  assert.ok(!canSubscribe('gateway', me, '#'));
  assert.ok(!canSubscribe('gateway', me, '$SYS/#'));
  assert.ok(canSubscribe('operator', me, 'swarm/v1/#'));
  assert.ok(!canPublish('operator', me, topics.offer('eu')));
  assert.ok(canPublish('bridge', me, topics.cap('eu', other)));
  assert.ok(canSubscribe('bridge', me, 'swarm/v1/#'));
  assert.ok(!canPublish('bridge', me, '$SYS/x'));
  assert.ok(!canSubscribe('bridge', me, 'swarm/v1/a#'));
  assert.ok(!canSubscribe('bridge', me, 'swarm/v1/#/x'));
});

test('wills, client ids and filter matching', () => {
  assert.ok(canWill('node', me, topics.status('eu', me)));
  assert.ok(!canWill('node', me, topics.cap('eu', me)));
  assert.ok(!canWill('node', me, topics.status('eu', other)));
  assert.ok(clientIdAllowed(me, me));
  assert.ok(clientIdAllowed(me, `${me}-agent`));
  assert.ok(!clientIdAllowed(me, `${me}-`));
  assert.ok(!clientIdAllowed(me, other));
  assert.ok(topicMatches('swarm/v1/+/gw/#', 'swarm/v1/eu/gw/bids'));
  assert.ok(topicMatches('swarm/v1/#', 'swarm/v1'));
  assert.ok(!topicMatches('swarm/v1/+/offer', 'swarm/v1/eu/gw/bids'));
  assert.ok(!topicMatches('#', '$SYS/x'));
});

const { enrollment, members } = makeMesh({ a: 'node', b: 'node', gw: 'gateway', op: 'operator' });
let broker: BrokerHandle;
before(async () => {
  broker = await startBroker({ port: 0, enrollment });
});
after(async () => {
  await broker.close();
});

test('over the wire: a node gets its own assignments, the gateway gets bids; forbidden subscriptions get SUBACK 128', async () => {
  const a = await connectAs(broker.url, members.a!);
  const gw = await connectAs(broker.url, members.gw!);
  const A = members.a!.nodeId;
  const B = members.b!.nodeId;
  // mqtt.js reports a 128 grant as an error carrying the SUBACK packet.
  const one = async (f: string) => (await new Promise<number>((r) => a.subscribe(f, { qos: 1 }, (e, g) => r(e ? ((e as { packet?: { granted?: number[] } }).packet?.granted?.[0] ?? -1) : (g?.[0]?.qos ?? -1)))));
  assert.equal(await one(topics.assign('eu', A)), 1);
  assert.equal(await one(topics.assign('eu', B)), 128);
  assert.equal(await one('swarm/v1/#'), 128);
  assert.equal(await one(filters.results('eu')), 128);
  assert.ok(a.connected, 'a refused subscription does not disconnect');
  await gw.subscribeAsync(filters.bids('+'), { qos: 1 });
  const gotA = collect(a);
  const gotGw = collect(gw);
  await gw.publishAsync(topics.assign('eu', A), Buffer.from('job-for-a'), { qos: 1 });
  await gw.publishAsync(topics.assign('eu', B), Buffer.from('job-for-b'), { qos: 1 });
  await a.publishAsync(topics.bids('eu'), Buffer.from('bid'), { qos: 1 });
  await waitFor(() => gotA.length >= 1 && gotGw.length >= 1, 5000, 'deliveries');
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(gotA.map((m) => m.payload.toString()), ['job-for-a']);
  assert.deepEqual(gotGw.map((m) => m.payload.toString()), ['bid']);
  await a.endAsync();
  await gw.endAsync();
});

test('a node publishing as another node is disconnected, logged, and nothing is delivered; others keep going', async () => {
  const a = await connectAs(broker.url, members.a!);
  const b = await connectAs(broker.url, members.b!);
  const op = await connectAs(broker.url, members.op!);
  await op.subscribeAsync('swarm/v1/#', { qos: 0 });
  const seen = collect(op);
  const closed = waitClose(a, 5000);
  a.publish(topics.cap('eu', members.b!.nodeId), Buffer.from('forged advert'), { qos: 1 });
  await closed;
  await b.publishAsync(topics.cap('eu', members.b!.nodeId), Buffer.from('real advert'), { qos: 1 });
  await waitFor(() => seen.length >= 1, 5000, 'real advert');
  assert.deepEqual(seen.map((m) => m.payload.toString()), ['real advert']);
  assert.ok(b.connected && op.connected);
  // $SYS is refused for everyone, including gateways.
  const gw = await connectAs(broker.url, members.gw!);
  const gwClosed = waitClose(gw, 5000);
  gw.publish('$SYS/fake/heartbeat', Buffer.from('x'));
  await gwClosed;
  // An operator is read-only.
  const opClosed = waitClose(op, 5000);
  op.publish(topics.offer('eu'), Buffer.from('x'));
  await opClosed;
  assert.ok(b.connected);
  await b.endAsync();
});
