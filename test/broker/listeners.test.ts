/** TLS and WebSocket listeners, and a bridge over mqtts://. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startBroker, parseBridgeTopics } from '../../broker/index.js';
import { topics } from '../../protocol/topics.js';
import { makeMesh, connectAs, tryConnect, waitClose, waitFor, collect, tempDir, needBinary } from './helpers.js';

const skipTls = needBinary('/usr/bin/openssl');
const tmp = tempDir('swarmlet-tls-');
let cert: Buffer;
let key: Buffer;

before(async () => {
  if (skipTls) return;
  await new Promise<void>((resolve, reject) => {
    execFile('/usr/bin/openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(tmp.dir, 'key.pem'),
      '-out', join(tmp.dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'], { timeout: 20_000 }, (err, _o, stderr) => (err ? reject(new Error(stderr)) : resolve()));
  });
  cert = readFileSync(join(tmp.dir, 'cert.pem'));
  key = readFileSync(join(tmp.dir, 'key.pem'));
});
after(() => tmp.cleanup());

test('TLS listener: a device connects over mqtts:// with a proof; a plain-TCP client gets nowhere', { skip: skipTls }, async () => {
  const { enrollment, members } = makeMesh({ a: 'node' });
  const b = await startBroker({ port: 0, enrollment, tls: { cert, key } });
  try {
    assert.match(b.url, /^mqtts:\/\//);
    const a = await connectAs(b.url, members.a!, { ca: cert });
    assert.ok(a.connected);
    await a.endAsync();
    const plain = await tryConnect(b.url.replace('mqtts', 'mqtt'), { clientId: 'plain', connectTimeout: 2000 });
    assert.equal(plain.client, undefined);
  } finally {
    await b.close();
  }
});

test('WebSocket listener: same auth and limits as TCP', async () => {
  const { enrollment, members } = makeMesh({ a: 'node', op: 'operator' });
  const b = await startBroker({ port: 0, wsPort: 0, enrollment, limits: { maxNodePacketBytes: 32 * 1024 } });
  try {
    assert.ok(b.wsPort && b.wsPort > 0);
    const ws = `ws://127.0.0.1:${b.wsPort}`;
    const anon = await tryConnect(ws, { clientId: 'anon' });
    assert.equal(anon.code, 4);
    const op = await connectAs(ws, members.op!);
    await op.subscribeAsync('swarm/v1/#', { qos: 1 });
    const seen = collect(op);
    const a = await connectAs(ws, members.a!);
    await a.publishAsync(topics.bids('eu'), Buffer.from('bid over ws'), { qos: 1 });
    await waitFor(() => seen.length >= 1, 5000, 'bid over websocket');
    const closed = waitClose(a, 5000);
    a.publish(topics.bids('eu'), Buffer.alloc(64 * 1024), { qos: 0 });
    await closed;
    assert.ok(op.connected);
    await op.endAsync();
  } finally {
    await b.close();
  }
});

test('a bridge over mqtts:// to a TLS regional broker', { skip: skipTls }, async () => {
  const region = makeMesh({ hubBridge: 'bridge', gw: 'gateway' });
  const hub = makeMesh({ a: 'node' });
  const regional = await startBroker({ port: 0, enrollment: region.enrollment, tls: { cert, key } });
  const dir = tempDir();
  const hubBroker = await startBroker({
    port: 0, enrollment: hub.enrollment, dataDir: dir.dir,
    bridges: [{ url: regional.url, ca: cert, identity: region.members.hubBridge!, topics: parseBridgeTopics('swarm/v1/+/gw/#:out') }],
  });
  try {
    await waitFor(() => hubBroker.bridges[0]!.stats.connected, 10_000, 'tls bridge');
    const gw = await connectAs(regional.url, region.members.gw!, { ca: cert });
    await gw.subscribeAsync('swarm/v1/+/gw/results', { qos: 1 });
    const got = collect(gw);
    const a = await connectAs(hubBroker.url, hub.members.a!);
    await a.publishAsync(topics.results('eu'), Buffer.from('over tls'), { qos: 1 });
    await waitFor(() => got.length >= 1, 5000, 'result over the TLS bridge');
    assert.equal(got[0]!.payload.toString(), 'over tls');
    await a.endAsync();
    await gw.endAsync();
  } finally {
    await hubBroker.close();
    await regional.close();
    dir.cleanup();
  }
});
