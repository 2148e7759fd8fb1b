import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { startBroker, credentialsFor, type BrokerHandle } from '../../broker/index.js';
import { makeConnectProof } from '../../protocol/auth.js';
import { generateIdentity } from '../../protocol/identity.js';
import { topics } from '../../protocol/topics.js';
import mqtt from 'mqtt';
import { makeMesh, tryConnect, connectAs, waitClose, waitFor, needBinary, cuttableProxy } from './helpers.js';

const { enrollment, members } = makeMesh({ a: 'node', b: 'node', gw: 'gateway', op: 'operator' });
let broker: BrokerHandle;
let url: string;

before(async () => {
  broker = await startBroker({ port: 0, enrollment });
  url = broker.url;
});
after(async () => {
  await broker.close();
});

test('an enrolled node connects with a fresh proof, and with a <nodeId>-suffix client id (taking over its earlier session)', async () => {
  const c1 = await connectAs(url, members.a!);
  const taken = waitClose(c1, 5000);
  const c2 = await connectAs(url, members.a!, { clientId: `${members.a!.nodeId}-runtime` });
  await taken;
  assert.ok(c2.connected);
  await c2.endAsync();
});

test('no credentials: CONNACK 4', async () => {
  const r = await tryConnect(url, { clientId: 'nobody' });
  assert.equal(r.code, 4);
});

test('forged proof (signed by another key, claiming a node id): CONNACK 4', async () => {
  const mallory = generateIdentity();
  const clientId = members.a!.nodeId;
  const r = await tryConnect(url, { clientId, username: members.a!.nodeId, password: Buffer.from(makeConnectProof(mallory, 'swarmlet', clientId)) });
  assert.equal(r.code, 4);
});

test('garbage password: CONNACK 4 and the broker keeps serving', async () => {
  const r = await tryConnect(url, { clientId: members.a!.nodeId, username: members.a!.nodeId, password: Buffer.from('not a proof at all') });
  assert.equal(r.code, 4);
  const big = await tryConnect(url, { clientId: members.a!.nodeId, username: members.a!.nodeId, password: Buffer.alloc(8000, 1) });
  assert.equal(big.code, 4);
  const ok = await connectAs(url, members.b!);
  await ok.endAsync();
});

test('a replayed proof is refused: CONNACK 4', async () => {
  const clientId = members.a!.nodeId;
  const creds = credentialsFor(members.a!, 'swarmlet', clientId);
  const first = await tryConnect(url, { clientId, ...creds });
  assert.ok(first.client);
  await first.client!.endAsync();
  const second = await tryConnect(url, { clientId, ...creds });
  assert.equal(second.code, 4);
});

test('stale timestamp, other mesh id, proof for another client id: all CONNACK 4', async () => {
  const a = members.a!;
  const stale = await tryConnect(url, { clientId: a.nodeId, username: a.nodeId, password: Buffer.from(makeConnectProof(a, 'swarmlet', a.nodeId, Date.now() - 10 * 60_000)) });
  assert.equal(stale.code, 4);
  const otherMesh = await tryConnect(url, { clientId: a.nodeId, ...credentialsFor(a, 'other-mesh', a.nodeId) });
  assert.equal(otherMesh.code, 4);
  const otherClient = await tryConnect(url, { clientId: `${a.nodeId}-x`, ...credentialsFor(a, 'swarmlet', `${a.nodeId}-y`) });
  assert.equal(otherClient.code, 4);
});

test('a valid key that is not enrolled: CONNACK 5', async () => {
  const stranger = generateIdentity();
  const r = await tryConnect(url, { clientId: stranger.nodeId, ...credentialsFor(stranger, 'swarmlet', stranger.nodeId) });
  assert.equal(r.code, 5);
});

test("a client id that is not the node's own: CONNACK 5", async () => {
  const a = members.a!;
  const b = members.b!;
  const r = await tryConnect(url, { clientId: b.nodeId, ...credentialsFor(a, 'swarmlet', b.nodeId) });
  assert.equal(r.code, 5);
  const prefixOnly = await tryConnect(url, { clientId: `${a.nodeId}x`, ...credentialsFor(a, 'swarmlet', `${a.nodeId}x`) });
  assert.equal(prefixOnly.code, 5);
});

test("a node's last will must be its own status topic", async () => {
  const a = members.a!;
  const bad = await tryConnect(url, { clientId: a.nodeId, ...credentialsFor(a, 'swarmlet', a.nodeId), will: { topic: topics.status('eu', members.b!.nodeId), payload: Buffer.from('x'), qos: 1, retain: true } });
  assert.equal(bad.code, 5);
  const good = await tryConnect(url, { clientId: a.nodeId, ...credentialsFor(a, 'swarmlet', a.nodeId), will: { topic: topics.status('eu', a.nodeId), payload: Buffer.from('x'), qos: 1, retain: true } });
  assert.ok(good.client);
  await good.client!.endAsync();
});

test('revoking a key disconnects every session of that device at once, and it cannot come back', async () => {
  const { enrollment: e2, members: m2 } = makeMesh({ dev: 'node', other: 'node' });
  const b2 = await startBroker({ port: 0, enrollment: e2, limits: { maxSessionsPerNode: 2 } }); // two live sessions to cut
  try {
    const s1 = await connectAs(b2.url, m2.dev!);
    const s2 = await connectAs(b2.url, m2.dev!, { clientId: `${m2.dev!.nodeId}-2` });
    const bystander = await connectAs(b2.url, m2.other!);
    const closed = Promise.all([waitClose(s1, 5000), waitClose(s2, 5000)]);
    b2.revoke(m2.dev!.nodeId);
    await closed;
    assert.ok(bystander.connected, 'other devices stay connected');
    const again = await tryConnect(b2.url, { clientId: m2.dev!.nodeId, ...credentialsFor(m2.dev!, 'swarmlet', m2.dev!.nodeId) });
    assert.equal(again.code, 5);
    // Revoking through the Enrollment object (the gateway's API) works the same way.
    const s3 = await connectAs(b2.url, m2.other!, { clientId: `${m2.other!.nodeId}-b` });
    const closed3 = waitClose(s3, 5000);
    e2.revoke(m2.other!.nodeId);
    await closed3;
    await waitClose(bystander, 5000);
  } finally {
    await b2.close();
  }
});

test('a key added at run time can connect at once', async () => {
  const late = generateIdentity();
  const before = await tryConnect(url, { clientId: late.nodeId, ...credentialsFor(late, 'swarmlet', late.nodeId) });
  assert.equal(before.code, 5);
  enrollment.add(late.publicKey, 'node', 'late');
  const c = await connectAs(url, late);
  await c.endAsync();
});

test('anonymous clients only in dev mode', async () => {
  const dev = await startBroker({ port: 0, allowAnonymous: true });
  try {
    const r = await tryConnect(dev.url, { clientId: 'dev-tool' });
    assert.ok(r.client, 'anonymous accepted when allowAnonymous');
    await r.client!.endAsync();
  } finally {
    await dev.close();
  }
});

test('mosquitto_pub without swarmlet credentials is refused', async (t) => {
  const skip = needBinary('/usr/bin/mosquitto_pub');
  if (skip) return t.skip(skip);
  // Async: the broker under test runs in this process, so the event loop must stay free.
  const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
    execFile('/usr/bin/mosquitto_pub', ['-h', '127.0.0.1', '-p', String(broker.port), '-V', 'mqttv311', '-t', 'swarm/v1/eu/offer', '-m', 'x', '-u', members.a!.nodeId, '-P', 'wrong'],
      { timeout: 10_000 }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, out: stdout + stderr }));
  });
  assert.notEqual(r.code, 0);
  assert.match(r.out, /not authori[sz]ed|bad user ?name or password|refused/i);
});

test('reconnects need a fresh proof per attempt: the documented mqtt.js reconnect handler works, reusing the old one is refused', async () => {
  const proxy = await cuttableProxy(broker.port);
  const a = members.a!;
  const clients: mqtt.MqttClient[] = [];
  try {
    const make = (regenerate: boolean, clientId: string) => {
      const c = mqtt.connect(`mqtt://127.0.0.1:${proxy.port}`, { protocolVersion: 4, clientId, reconnectPeriod: 100, ...credentialsFor(a, 'swarmlet', clientId) });
      if (regenerate) c.on('reconnect', () => { c.options.password = credentialsFor(a, 'swarmlet', clientId).password; });
      const stats = { connects: 0, refusals: [] as number[] };
      c.on('connect', () => stats.connects++);
      c.on('error', (e: Error & { code?: number }) => { if (typeof e.code === 'number') stats.refusals.push(e.code); });
      clients.push(c);
      return stats;
    };
    const good = make(true, `${a.nodeId}-good`);
    const stale = make(false, `${a.nodeId}-stale`);
    await waitFor(() => good.connects === 1 && stale.connects === 1, 5000, 'first connects');
    proxy.cut();
    await new Promise((r) => setTimeout(r, 300));
    proxy.restore();
    await waitFor(() => good.connects === 2, 10_000, 'reconnect with a fresh proof');
    await waitFor(() => stale.refusals.includes(4), 10_000, 'replayed proof refused');
    assert.equal(stale.connects, 1);
  } finally {
    for (const c of clients) c.end(true);
    await proxy.close();
  }
});
