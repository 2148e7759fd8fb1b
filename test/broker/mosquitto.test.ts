/**
 * Interop with a broker nobody here wrote: Mosquitto as the regional broker.
 * agent -> swarmlet hub broker -> bridge -> Mosquitto -> subscriber, and back down;
 * and an MQTT client straight on Mosquitto with Mosquitto's own password auth.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startBroker, parseBridgeTopics, type BrokerHandle } from '../../broker/index.js';
import { topics } from '../../protocol/topics.js';
import { makeMesh, connectAs, tryConnect, waitFor, collect, tempDir, freePort, needBinary, startDaemon, stopDaemon, cuttableProxy } from './helpers.js';

const MOSQUITTO = '/usr/sbin/mosquitto';
const skip = needBinary(MOSQUITTO) || needBinary('/usr/bin/mosquitto_passwd') || needBinary('/usr/bin/mosquitto_pub') || needBinary('/usr/bin/mosquitto_sub');
const tmp = tempDir('swarmlet-mosq-');
let mosq: ChildProcess | undefined;
let mport = 0;
let hub: BrokerHandle | undefined;
let proxy: Awaited<ReturnType<typeof cuttableProxy>> | undefined;
const mesh = makeMesh({ a: 'node', op: 'operator' });
const PASS = 'test-pass-1';

function run(cmd: string, args: string[], timeoutMs = 10_000): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, out: stdout + stderr }));
  });
}

before(async () => {
  if (skip) return;
  const pw = join(tmp.dir, 'passwd');
  for (const [i, user] of ['hub', 'watcher', 'agent', 'tool'].entries()) {
    const r = await run('/usr/bin/mosquitto_passwd', [...(i === 0 ? ['-c'] : []), '-b', pw, user, PASS]);
    assert.equal(r.code, 0, r.out);
  }
  mport = await freePort();
  const conf = join(tmp.dir, 'mosquitto.conf');
  // `user root`: when the test runs as root, stop mosquitto dropping to a user that cannot read the temp files.
  writeFileSync(conf, [`listener ${mport} 127.0.0.1`, 'allow_anonymous false', `password_file ${pw}`, 'persistence false', 'user root', ''].join('\n'));
  mosq = await startDaemon(MOSQUITTO, ['-c', conf], mport);
  proxy = await cuttableProxy(mport);
  hub = await startBroker({
    port: 0,
    enrollment: mesh.enrollment,
    dataDir: tmp.dir,
    bridges: [{
      url: `mqtt://hub:${PASS}@127.0.0.1:${proxy.port}`,
      clientId: 'hub-kitchen',
      topics: parseBridgeTopics('swarm/v1/+/gw/#:out,swarm/v1/+/offer:in,swarm/v1/+/cap/+:both'),
      reconnectMinMs: 100,
      reconnectMaxMs: 400,
    }],
  });
  await waitFor(() => hub!.bridges[0]!.stats.connected, 10_000, 'bridge to mosquitto');
});

after(async () => {
  await hub?.close();
  await proxy?.close();
  await stopDaemon(mosq);
  tmp.cleanup();
});

const watcher = () => connectAsUser('watcher');
async function connectAsUser(user: string) {
  const r = await tryConnect(`mqtt://127.0.0.1:${mport}`, { clientId: `${user}-${Math.random().toString(16).slice(2)}`, username: user, password: PASS });
  if (!r.client) throw new Error(`mosquitto refused ${user}: ${r.code} ${r.error}`);
  return r.client;
}

test('agent -> swarmlet hub -> bridge -> Mosquitto -> subscriber, and offers back down from mosquitto_pub', { skip }, async () => {
  const a = await connectAs(hub!.url, mesh.members.a!);
  const w = await watcher();
  await w.subscribeAsync('swarm/v1/+/gw/#', { qos: 1 });
  await a.subscribeAsync(topics.offer('eu'), { qos: 1 });
  const atW = collect(w);
  const atA = collect(a);
  await a.publishAsync(topics.results('eu'), Buffer.from('result-1'), { qos: 1 });
  await waitFor(() => atW.length >= 1, 5000, 'result at the mosquitto subscriber');
  assert.equal(atW[0]!.topic, topics.results('eu'));
  assert.equal(atW[0]!.payload.toString(), 'result-1');
  const pub = await run('/usr/bin/mosquitto_pub', ['-h', '127.0.0.1', '-p', String(mport), '-u', 'tool', '-P', PASS, '-V', 'mqttv311', '-q', '1', '-t', topics.offer('eu'), '-m', 'offer-from-mosquitto']);
  assert.equal(pub.code, 0, pub.out);
  await waitFor(() => atA.length >= 1, 5000, 'offer at the agent');
  assert.equal(atA[0]!.payload.toString(), 'offer-from-mosquitto');
  await a.endAsync();
  await w.endAsync();
});

test('retained adverts cross the bridge (mosquitto_sub sees one), and nothing loops', { skip }, async () => {
  const A = mesh.members.a!.nodeId;
  const a = await connectAs(hub!.url, mesh.members.a!);
  const hubWatch = await connectAs(hub!.url, mesh.members.op!);
  await hubWatch.subscribeAsync('swarm/v1/+/cap/+', { qos: 1 });
  const atHub = collect(hubWatch);
  const w = await watcher();
  await w.subscribeAsync('swarm/v1/+/cap/+', { qos: 1 });
  const atW = collect(w);
  await a.publishAsync(topics.cap('eu', A), Buffer.from('advert'), { qos: 1, retain: true });
  await waitFor(() => atW.length >= 1, 5000, 'advert at mosquitto');
  const sub = await run('/usr/bin/mosquitto_sub', ['-h', '127.0.0.1', '-p', String(mport), '-u', 'watcher', '-P', PASS, '-V', 'mqttv311', '-t', topics.cap('eu', A), '-C', '1', '-W', '5']);
  assert.equal(sub.code, 0, sub.out);
  assert.equal(sub.out.trim(), 'advert', 'a retained copy is stored on mosquitto');
  await new Promise((r) => setTimeout(r, 700));
  assert.equal(atW.length, 1, 'mosquitto saw it once');
  assert.equal(atHub.length, 1, 'the hub saw it once (the echo from mosquitto was cancelled)');
  await a.endAsync();
  await hubWatch.endAsync();
  await w.endAsync();
});

test('uplink to mosquitto cut: spooled QoS 1 results arrive after it returns', { skip }, async () => {
  const bridge = hub!.bridges[0]!;
  const a = await connectAs(hub!.url, mesh.members.a!);
  const w = await watcher();
  await w.subscribeAsync('swarm/v1/+/gw/results', { qos: 1 });
  const atW = collect(w);
  proxy!.cut();
  await waitFor(() => !bridge.stats.connected, 5000, 'bridge down');
  for (let i = 0; i < 20; i++) await a.publishAsync(topics.results('eu'), Buffer.from(`down-${i}`), { qos: 1 });
  await new Promise((r) => setTimeout(r, 800));
  assert.equal(atW.length, 0);
  proxy!.restore();
  await waitFor(() => atW.length >= 20, 15_000, 'spooled results at mosquitto');
  assert.deepEqual(atW.map((m) => m.payload.toString()), Array.from({ length: 20 }, (_, i) => `down-${i}`));
  await a.endAsync();
  await w.endAsync();
});

test("an agent straight on Mosquitto (with Mosquitto's own auth) works; wrong password is refused", { skip }, async () => {
  const bad = await tryConnect(`mqtt://127.0.0.1:${mport}`, { clientId: 'agent-x', username: 'agent', password: 'wrong' });
  assert.ok(bad.code === 4 || bad.code === 5, `refused with ${bad.code}`);
  const A = mesh.members.a!.nodeId;
  const w = await watcher();
  await w.subscribeAsync('swarm/v1/+/status/+', { qos: 1 });
  const atW = collect(w);
  const agent = await tryConnect(`mqtt://127.0.0.1:${mport}`, {
    clientId: A, username: 'agent', password: PASS,
    will: { topic: topics.status('eu', A), payload: Buffer.from('offline'), qos: 1, retain: true },
  });
  assert.ok(agent.client);
  await agent.client!.publishAsync(topics.status('eu', A), Buffer.from('online'), { qos: 1, retain: true });
  await waitFor(() => atW.length >= 1, 5000, 'status');
  agent.client!.stream.destroy(); // ungraceful drop: mosquitto publishes the last will
  await waitFor(() => atW.some((m) => m.payload.toString() === 'offline'), 10_000, 'last will');
  assert.deepEqual(atW.map((m) => m.payload.toString()), ['online', 'offline']);
  agent.client!.end(true);
  await w.endAsync();
});
