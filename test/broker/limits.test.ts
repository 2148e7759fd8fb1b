import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import { startBroker, resolveLimits } from '../../broker/index.js';
import { TokenBucket } from '../../broker/limits.js';
import { topics } from '../../protocol/topics.js';
import { credentialsFor } from '../../broker/auth.js';
import { makeMesh, connectAs, tryConnect, waitClose, waitFor, collect } from './helpers.js';

test('limits are validated', () => {
  assert.throws(() => resolveLimits({ publishRate: -1 }), /publishRate/);
  assert.throws(() => resolveLimits({ nonsense: 1 } as never), /nonsense|unrecognized/i);
  assert.equal(resolveLimits({}).maxSubscriptions, 64);
});

test('token bucket: burst, then the sustained rate', () => {
  const b = new TokenBucket(10, 5, 0);
  let n = 0;
  while (b.take(0)) n++;
  assert.equal(n, 5);
  assert.ok(!b.take(50));
  assert.ok(b.take(100)); // 100 ms at 10/s = one token
});

test('an oversized packet disconnects only its sender; the broker keeps serving', async () => {
  const { enrollment, members } = makeMesh({ a: 'node', b: 'node', gw: 'gateway' });
  const broker = await startBroker({ port: 0, enrollment, limits: { maxNodePacketBytes: 64 * 1024, maxPacketBytes: 512 * 1024 } });
  try {
    const a = await connectAs(broker.url, members.a!);
    const b = await connectAs(broker.url, members.b!);
    const gw = await connectAs(broker.url, members.gw!);
    await gw.subscribeAsync('swarm/v1/+/gw/bids', { qos: 1 });
    const got = collect(gw);
    const closed = waitClose(a, 5000);
    a.publish(topics.bids('eu'), Buffer.alloc(100 * 1024, 7), { qos: 0 });
    await closed;
    // A gateway may send bigger packets (modules) than a node.
    await gw.publishAsync(topics.offer('eu'), Buffer.alloc(200 * 1024, 1), { qos: 1 });
    assert.ok(gw.connected);
    await b.publishAsync(topics.bids('eu'), Buffer.from('small bid'), { qos: 1 });
    await waitFor(() => got.length >= 1, 5000, 'small bid');
    assert.deepEqual(got.map((m) => m.payload.toString()), ['small bid']);
    await b.endAsync();
    await gw.endAsync();
  } finally {
    await broker.close();
  }
});

test('a raw socket announcing a huge packet is cut off before the body is buffered', async () => {
  const broker = await startBroker({ port: 0 });
  try {
    const sock = netConnect(broker.port, '127.0.0.1');
    await new Promise<void>((r) => sock.once('connect', () => r()));
    const closed = new Promise<void>((r) => sock.once('close', () => r()));
    sock.on('error', () => undefined);
    // CONNECT fixed header with remaining length 200,000,000 (varint), then a little junk.
    const len = [];
    let n = 200_000_000;
    do { let d = n % 128; n = Math.floor(n / 128); if (n > 0) d |= 128; len.push(d); } while (n > 0);
    sock.write(Buffer.from([0x10, ...len, 0, 4, 77, 81, 84, 84]));
    await closed;
    const r = await tryConnect(broker.url, { clientId: 'x' });
    assert.equal(r.code, 4, 'the broker still answers (and still wants credentials)');
  } finally {
    await broker.close();
  }
});

test('an oversized CONNECT (huge last will) is refused before authentication', async () => {
  const { enrollment, members } = makeMesh({ a: 'node' });
  const broker = await startBroker({ port: 0, enrollment });
  try {
    const a = members.a!;
    const r = await tryConnect(broker.url, { clientId: a.nodeId, ...credentialsFor(a, 'swarmlet', a.nodeId), will: { topic: topics.status('eu', a.nodeId), payload: Buffer.alloc(60 * 1024), qos: 0, retain: false } });
    assert.equal(r.client, undefined);
  } finally {
    await broker.close();
  }
});

test('a publish flood disconnects the flooder; a gateway is exempt and others keep going', async () => {
  const { enrollment, members } = makeMesh({ flood: 'node', calm: 'node', gw: 'gateway' });
  const broker = await startBroker({ port: 0, enrollment, limits: { publishRate: 20, publishBurst: 40 } });
  try {
    const F = members.flood!.nodeId;
    const flood = await connectAs(broker.url, members.flood!, { will: { topic: topics.status('eu', F), payload: Buffer.from('offline'), qos: 1, retain: false } });
    const calm = await connectAs(broker.url, members.calm!);
    const gw = await connectAs(broker.url, members.gw!);
    await gw.subscribeAsync('swarm/v1/+/status/+', { qos: 1 });
    const statuses = collect(gw);
    const closed = waitClose(flood, 5000);
    for (let i = 0; i < 500; i++) flood.publish(topics.bids('eu'), Buffer.from(String(i)), { qos: 0 });
    await closed;
    // Its last will still goes out, even though its publish budget is spent.
    await waitFor(() => statuses.some((m) => m.topic === topics.status('eu', F) && m.payload.toString() === 'offline'), 5000, 'last will of the flooder');
    for (let i = 0; i < 300; i++) gw.publish(topics.offer('eu'), Buffer.from(String(i)), { qos: 0 });
    await gw.publishAsync(topics.offer('eu'), Buffer.from('last'), { qos: 1 });
    await calm.publishAsync(topics.bids('eu'), Buffer.from('one'), { qos: 1 });
    assert.ok(gw.connected && calm.connected);
    await calm.endAsync();
    await gw.endAsync();
  } finally {
    await broker.close();
  }
});

test('too many subscriptions disconnects; too many clients gets CONNACK 3', async () => {
  const { enrollment, members } = makeMesh({ a: 'node', b: 'node', c: 'node' });
  const broker = await startBroker({ port: 0, enrollment, limits: { maxSubscriptions: 2, maxClients: 2 } });
  try {
    const a = await connectAs(broker.url, members.a!);
    const b = await connectAs(broker.url, members.b!);
    const full = await tryConnect(broker.url, { clientId: members.c!.nodeId, ...credentialsFor(members.c!, 'swarmlet', members.c!.nodeId) });
    assert.equal(full.code, 3);
    await a.subscribeAsync(topics.offer('eu'), { qos: 1 });
    await a.subscribeAsync(topics.offer('eu'), { qos: 0 }); // same filter again: not a new one
    await a.subscribeAsync(topics.assign('eu', members.a!.nodeId), { qos: 1 });
    await a.unsubscribeAsync(topics.offer('eu'));
    await a.subscribeAsync('swarm/v1/modules/+', { qos: 1 }); // room again after the unsubscribe
    const closed = waitClose(a, 5000);
    a.subscribe(topics.ack('eu', members.a!.nodeId), { qos: 1 });
    await closed;
    assert.ok(b.connected);
    await b.endAsync();
  } finally {
    await broker.close();
  }
});

/** Hand-built MQTT 3.1.1 packets: mqtt.js always completes QoS 2, so it cannot withhold PUBREL. */
function varint(n: number): number[] {
  const out = [];
  do { let d = n % 128; n = Math.floor(n / 128); if (n > 0) d |= 128; out.push(d); } while (n > 0);
  return out;
}
const str = (s: string) => { const b = Buffer.from(s); return Buffer.concat([Buffer.from([b.length >> 8, b.length & 255]), b]); };
function rawConnect(clientId: string): Buffer {
  const body = Buffer.concat([str('MQTT'), Buffer.from([4, 0x02, 0, 60]), str(clientId)]);
  return Buffer.concat([Buffer.from([0x10, ...varint(body.length)]), body]);
}
function rawPublishQos2(topic: string, id: number): Buffer {
  const body = Buffer.concat([str(topic), Buffer.from([id >> 8, id & 255]), Buffer.from('x')]);
  return Buffer.concat([Buffer.from([0x34, ...varint(body.length)]), body]);
}

test('a client holding back PUBREL for more QoS 2 messages than maxInflight is disconnected', async () => {
  const broker = await startBroker({ port: 0, allowAnonymous: true, limits: { maxInflight: 5 } });
  try {
    const open = async (clientId: string) => {
      const sock = netConnect(broker.port, '127.0.0.1');
      sock.on('error', () => undefined);
      await new Promise<void>((r) => sock.once('connect', () => r()));
      const st = { closed: false, data: Buffer.alloc(0) };
      sock.on('close', () => { st.closed = true; });
      sock.on('data', (d: Buffer) => { st.data = Buffer.concat([st.data, d]); });
      sock.write(rawConnect(clientId));
      await waitFor(() => st.data.length >= 4, 5000, 'CONNACK');
      return { sock, st };
    };
    // Within the window: 3 PUBRECs come back, and a later PINGREQ is still answered.
    const ok = await open('raw-ok');
    for (let i = 1; i <= 3; i++) ok.sock.write(rawPublishQos2(topics.bids('eu'), i));
    const pubrecs = () => [...ok.st.data].filter((b, i, a) => b === 0x50 && a[i + 1] === 2).length;
    await waitFor(() => pubrecs() >= 3, 5000, 'three PUBRECs');
    ok.sock.write(Buffer.from([0xc0, 0]));
    await waitFor(() => ok.st.data.includes(Buffer.from([0xd0, 0])), 5000, 'PINGRESP');
    assert.equal(ok.st.closed, false);
    ok.sock.destroy();
    // Over the window: disconnected.
    const over = await open('raw-over');
    for (let i = 1; i <= 12; i++) over.sock.write(rawPublishQos2(topics.bids('eu'), i));
    await waitFor(() => over.st.closed, 5000, 'disconnect over the in-flight window');
  } finally {
    await broker.close();
  }
});
