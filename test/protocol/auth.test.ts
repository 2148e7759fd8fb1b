import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeConnectProof, verifyConnectProof, NonceCache } from '../../protocol/auth.js';
import { generateIdentity } from '../../protocol/identity.js';
import { ProtocolError } from '../../protocol/errors.js';

const dev = generateIdentity();
const check = (password: Uint8Array, o: Partial<Parameters<typeof verifyConnectProof>[0]> = {}) =>
  verifyConnectProof({ username: dev.nodeId, password, brokerId: 'mesh', clientId: dev.nodeId, nonces: new NonceCache(), ...o });
const codeOf = (fn: () => unknown) => {
  try { fn(); } catch (e) { assert.ok(e instanceof ProtocolError); return e.code; }
  return 'ok';
};

test('a fresh proof verifies', () => {
  const r = check(makeConnectProof(dev, 'mesh', dev.nodeId));
  assert.equal(r.proof.nodeId, dev.nodeId);
});

test('refused: replayed, stale, other broker, other client, other username', () => {
  const nonces = new NonceCache();
  const p = makeConnectProof(dev, 'mesh', dev.nodeId);
  assert.equal(codeOf(() => check(p, { nonces })), 'ok');
  assert.equal(codeOf(() => check(p, { nonces })), 'replay');
  assert.equal(codeOf(() => check(makeConnectProof(dev, 'mesh', dev.nodeId, Date.now() - 200_000))), 'stale');
  assert.equal(codeOf(() => check(makeConnectProof(dev, 'other', dev.nodeId))), 'wrong-signer');
  assert.equal(codeOf(() => check(makeConnectProof(dev, 'mesh', 'someone-else'))), 'wrong-signer');
  assert.equal(codeOf(() => check(makeConnectProof(dev, 'mesh', dev.nodeId), { username: generateIdentity().nodeId })), 'wrong-signer');
  assert.equal(codeOf(() => check(new Uint8Array([1, 2, 3]))), 'malformed');
});
