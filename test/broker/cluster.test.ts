/** Scale-out: two swarmlet brokers sharing a real redis-server. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { startBroker, type BrokerHandle } from '../../broker/index.js';
import { topics } from '../../protocol/topics.js';
import { credentialsFor } from '../../broker/auth.js';
import { makeMesh, connectAs, tryConnect, waitFor, collect, tempDir, freePort, needBinary, startDaemon, stopDaemon } from './helpers.js';

const REDIS = '/usr/bin/redis-server';
const skip = needBinary(REDIS);
const tmp = tempDir('swarmlet-redis-');
let redis: ChildProcess | undefined;
let b1: BrokerHandle | undefined;
let b2: BrokerHandle | undefined;
const mesh = makeMesh({ a: 'node', gw: 'gateway' });

before(async () => {
  if (skip) return;
  const port = await freePort();
  redis = await startDaemon(REDIS, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tmp.dir], port);
  b1 = await startBroker({ port: 0, enrollment: mesh.enrollment, redis: { host: '127.0.0.1', port }, brokerId: 'b1' });
  b2 = await startBroker({ port: 0, enrollment: mesh.enrollment, redis: { host: '127.0.0.1', port }, brokerId: 'b2' });
});

after(async () => {
  await b1?.close();
  await b2?.close();
  await stopDaemon(redis);
  tmp.cleanup();
});

test('a device on one broker and a gateway on another see each other, retained adverts included', { skip }, async () => {
  const A = mesh.members.a!.nodeId;
  const a = await connectAs(b1!.url, mesh.members.a!);
  // The retained advert is published before the gateway even exists.
  await a.publishAsync(topics.cap('eu', A), Buffer.from('advert-v1'), { qos: 1, retain: true });
  const gw = await connectAs(b2!.url, mesh.members.gw!);
  const atGw = collect(gw);
  // Retained state lives in Redis; give the write a moment to land, then subscribe.
  let retained: { payload: Buffer; retain: boolean } | undefined;
  for (let i = 0; i < 50 && !retained; i++) {
    await gw.subscribeAsync('swarm/v1/+/cap/+', { qos: 1 });
    await new Promise((r) => setTimeout(r, 100));
    retained = atGw.find((m) => m.retain);
    if (!retained) await gw.unsubscribeAsync('swarm/v1/+/cap/+');
  }
  assert.ok(retained, 'retained advert from broker 1 delivered on broker 2');
  assert.equal(retained!.payload.toString(), 'advert-v1');
  await gw.subscribeAsync('swarm/v1/+/gw/bids', { qos: 1 });
  await a.subscribeAsync(topics.assign('eu', A), { qos: 1 });
  const atA = collect(a);
  await a.publishAsync(topics.bids('eu'), Buffer.from('bid'), { qos: 1 });
  await waitFor(() => atGw.some((m) => m.payload.toString() === 'bid'), 10_000, 'bid across brokers');
  // The node's subscription must have reached the other broker through Redis before this.
  await new Promise((r) => setTimeout(r, 200));
  await gw.publishAsync(topics.assign('eu', A), Buffer.from('assign'), { qos: 1 });
  await waitFor(() => atA.some((m) => m.payload.toString() === 'assign'), 10_000, 'assignment across brokers');
  assert.equal(atA.filter((m) => m.payload.toString() === 'assign').length, 1, 'delivered once');
  await a.endAsync();
  await gw.endAsync();
});

test('ACLs still apply on every broker of the cluster', { skip }, async () => {
  const a = await connectAs(b2!.url, mesh.members.a!);
  const grant = await new Promise<number>((r) => a.subscribe('swarm/v1/#', { qos: 0 }, (e, g) => r(e ? ((e as { packet?: { granted?: number[] } }).packet?.granted?.[0] ?? -1) : (g?.[0]?.qos ?? -1))));
  assert.equal(grant, 128);
  await a.endAsync();
});

test('a proof used on one broker cannot be replayed on another broker of the cluster', { skip }, async () => {
  const a = mesh.members.a!;
  const clientId = `${a.nodeId}-replay`;
  const creds = credentialsFor(a, 'swarmlet', clientId);
  const first = await tryConnect(b1!.url, { clientId, ...creds });
  assert.ok(first.client, 'first use accepted');
  await first.client!.endAsync();
  const replay = await tryConnect(b2!.url, { clientId, ...creds });
  assert.equal(replay.code, 4);
  const fresh = await tryConnect(b2!.url, { clientId, ...credentialsFor(a, 'swarmlet', clientId) });
  assert.ok(fresh.client, 'a fresh proof works on the other broker');
  await fresh.client!.endAsync();
});

test('a persistent session (clean: false) subscribing to several filters at once gets its SUBACK', { skip }, async () => {
  // aedes calls the Redis persistence once per filter with the whole list; unguarded, all
  // but one call waited forever (cluster.ts) and a gateway's SUBSCRIBE never completed.
  const gw = await connectAs(b1!.url, mesh.members.gw!, { clean: false, clientId: `${mesh.members.gw!.nodeId}-persist` });
  try {
    const granted = await Promise.race([
      gw.subscribeAsync({ 'swarm/v1/eu/cap/+': { qos: 0 }, 'swarm/v1/eu/status/+': { qos: 1 }, 'swarm/v1/eu/gw/bids': { qos: 0 }, 'swarm/v1/eu/gw/results': { qos: 1 } }),
      new Promise<never>((_, rej) => setTimeout(() => rej(new Error('no SUBACK within 10 s')), 10_000)),
    ]);
    assert.deepEqual(granted.map((g) => g.qos), [0, 1, 0, 1]);
  } finally {
    await gw.endAsync(true);
  }
});
