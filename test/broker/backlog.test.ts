/**
 * Connect proofs through a backlog: a broker that reads a CONNECT long after the device
 * signed it (a connect storm) still accepts it within the proof's age window, while a
 * replay of the same proof is refused for as long as the proof could be accepted, and the
 * nonce cache refuses ('busy') rather than forgets when it is full. The backlog is made by
 * a proxy that holds the device's bytes for a while before the broker sees them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net';
import { startBroker } from '../../broker/index.js';
import { Authenticator, credentialsFor } from '../../broker/auth.js';
import { makeConnectProof, verifyConnectProof, NonceCache, DEFAULT_MAX_PROOF_AGE_MS, DEFAULT_MAX_SKEW_MS } from '../../protocol/auth.js';
import { ProtocolError } from '../../protocol/errors.js';
import { generateIdentity } from '../../protocol/identity.js';
import { makeMesh, tryConnect } from './helpers.js';

/** A TCP proxy to `port` that holds what the client sends for `delayMs` (the broker's backlog). */
async function laggingProxy(port: number, delayMs: number): Promise<{ port: number; close(): Promise<void> }> {
  const socks = new Set<Socket>();
  const srv = createServer((client) => {
    const up = createConnection({ host: '127.0.0.1', port });
    socks.add(client).add(up);
    client.on('data', (d) => setTimeout(() => { if (!up.destroyed) up.write(d); }, delayMs));
    up.on('data', (d) => { if (!client.destroyed) client.write(d); });
    const end = () => { client.destroy(); up.destroy(); };
    client.on('close', end).on('error', end);
    up.on('close', end).on('error', end);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    port: (srv.address() as AddressInfo).port,
    close: () => { for (const s of socks) s.destroy(); return new Promise((r) => srv.close(() => r())); },
  };
}

test('a proof read after a backlog longer than the clock skew is accepted; its replay and an over-age proof are refused', async () => {
  const { enrollment, members } = makeMesh({ a: 'node' });
  const a = members.a!;
  // Scaled down: 0.4 s of clock skew, proofs valid 2 s after signing; the backlog is 1 s.
  const broker = await startBroker({ port: 0, enrollment, maxSkewMs: 400, maxProofAgeMs: 2000 });
  const slow = await laggingProxy(broker.port, 1000);
  const slower = await laggingProxy(broker.port, 2600);
  try {
    const clientId = `${a.nodeId}-backlog`;
    const creds = credentialsFor(a, 'swarmlet', clientId); // signed now, read by the broker 1 s later
    const first = await tryConnect(`mqtt://127.0.0.1:${slow.port}`, { clientId, connectTimeout: 10_000, ...creds });
    assert.ok(first.client, `accepted after a 1 s backlog (refused with ${first.code})`);
    await first.client!.endAsync();
    // The same proof again, directly and through the backlog: a replay, refused.
    const again = await tryConnect(broker.url, { clientId, connectTimeout: 10_000, ...creds });
    assert.equal(again.code, 4, 'replayed proof refused');
    const againSlow = await tryConnect(`mqtt://127.0.0.1:${slow.port}`, { clientId, connectTimeout: 10_000, ...creds });
    assert.equal(againSlow.code, 4, 'replayed proof refused after a backlog too');
    // Held longer than the proof's age window: stale.
    const old = await tryConnect(`mqtt://127.0.0.1:${slower.port}`, { clientId, connectTimeout: 10_000, ...credentialsFor(a, 'swarmlet', clientId) });
    assert.equal(old.code, 4, 'over-age proof refused');
    // A fresh proof without a backlog still works.
    const fresh = await tryConnect(broker.url, { clientId, connectTimeout: 10_000, ...credentialsFor(a, 'swarmlet', clientId) });
    assert.ok(fresh.client);
    await fresh.client!.endAsync();
  } finally {
    await slow.close();
    await slower.close();
    await broker.close();
  }
});

const dev = generateIdentity();
const codeOf = (fn: () => unknown): string => {
  try { fn(); } catch (e) { assert.ok(e instanceof ProtocolError); return e.code; }
  return 'ok';
};

test('the nonce of an accepted proof is remembered for as long as the proof could be accepted', () => {
  const t = 1_000_000_000;
  const nonces = new NonceCache();
  const p = makeConnectProof(dev, 'mesh', dev.nodeId, t);
  const at = (now: number) => codeOf(() => verifyConnectProof({ username: dev.nodeId, password: p, brokerId: 'mesh', clientId: dev.nodeId, nonces, now }));
  // Read after a backlog of 90 s (more than the 60 s clock skew): accepted.
  assert.equal(at(t + 90_000), 'ok');
  // Replayed at any time the proof is still young enough: refused as a replay.
  for (const dt of [90_001, 100_000, DEFAULT_MAX_PROOF_AGE_MS]) assert.equal(at(t + dt), 'replay', `replay at +${dt} ms`);
  // Past its age: stale whatever the cache says.
  assert.equal(at(t + DEFAULT_MAX_PROOF_AGE_MS + 1), 'stale');
  // A proof from the future beyond the skew is stale too.
  assert.equal(codeOf(() => verifyConnectProof({ username: dev.nodeId, password: makeConnectProof(dev, 'mesh', dev.nodeId, t + DEFAULT_MAX_SKEW_MS + 1000), brokerId: 'mesh', clientId: dev.nodeId, nonces, now: t })), 'stale');
});

test('a full nonce cache refuses new proofs (busy) instead of forgetting one, and takes them again once nonces expire', () => {
  const t = 2_000_000_000;
  const nonces = new NonceCache(10_000, 2);
  const proof = (ts: number) => makeConnectProof(dev, 'mesh', dev.nodeId, ts);
  const at = (p: Uint8Array, now: number) => codeOf(() => verifyConnectProof({ username: dev.nodeId, password: p, brokerId: 'mesh', clientId: dev.nodeId, nonces, now }));
  const p1 = proof(t);
  assert.equal(at(p1, t), 'ok');
  assert.equal(at(proof(t), t), 'ok');
  assert.equal(at(proof(t), t + 1), 'busy');
  assert.equal(at(p1, t + 2), 'replay', 'the oldest nonce was not forgotten to make room');
  assert.equal(at(proof(t + 10_001), t + 10_001), 'ok', 'room again once the window passed');
});

test('an authenticator whose nonce cache is full answers CONNACK 3 (retry later), not "bad credentials"', () => {
  const { enrollment, members } = makeMesh({ a: 'node' });
  const a = members.a!;
  const auth = new Authenticator({ enrollment, meshId: 'swarmlet', allowAnonymous: false, nonces: new NonceCache(60_000, 1) });
  const pw = () => Buffer.from(makeConnectProof(a, 'swarmlet', a.nodeId));
  assert.equal(auth.check(a.nodeId, a.nodeId, pw(), undefined).ok, true);
  const r = auth.check(a.nodeId, a.nodeId, pw(), undefined);
  assert.equal(r.ok, false);
  assert.equal(!r.ok && r.code, 3);
  // Over its connect budget (the admit hook), a node is refused before its nonce is stored.
  const roomy = new Authenticator({ enrollment, meshId: 'swarmlet', allowAnonymous: false, nonces: new NonceCache(60_000, 1) });
  const over = roomy.check(a.nodeId, a.nodeId, pw(), undefined, () => false);
  assert.equal(!over.ok && over.code, 3);
  assert.equal(roomy.check(a.nodeId, a.nodeId, pw(), undefined).ok, true, 'the refused connect took no room in the cache');
});
