import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seal, open, signingBytes, DOMAIN } from '../../protocol/envelope.js';
import { encode, decode } from '../../protocol/codec.js';
import { generateIdentity } from '../../protocol/identity.js';
import { ProtocolError } from '../../protocol/errors.js';
import { KINDS, validate } from '../../protocol/messages.js';
import { noble, node as nodeBackend } from '../../protocol/ed25519.js';
import { sampleMessages, signerFor } from './samples.js';

const dev = generateIdentity();
const gw = generateIdentity();
const samples = sampleMessages(dev, gw);

const code = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ProtocolError, `expected ProtocolError, got ${String(e)}`);
    return e.code;
  }
  assert.fail('expected a ProtocolError');
};

for (const kind of KINDS) {
  test(`round trip: ${kind}`, () => {
    const who = signerFor(kind, dev, gw);
    const sealed = seal(kind, samples[kind] as never, who);
    for (const backend of [nodeBackend, noble]) {
      const o = open(sealed.bytes, { kind, signer: who.publicKey, backend });
      assert.equal(o.kind, kind);
      assert.equal(o.signerId, who.nodeId);
      assert.deepEqual(o.message, samples[kind]);
      assert.deepEqual(o.id, sealed.id);
    }
  });
}

test('a flipped bit anywhere in an envelope fails', () => {
  const { bytes } = seal('receipt', samples.receipt, dev);
  for (let i = 0; i < bytes.length * 8; i++) {
    const b = bytes.slice();
    b[i >> 3]! ^= 1 << (i & 7);
    let ok = false;
    try {
      open(b, { kind: 'receipt' });
      ok = true;
    } catch (e) {
      assert.ok(e instanceof ProtocolError, `bit ${i}: ${String(e)}`);
    }
    assert.equal(ok, false, `bit ${i} flipped still verified`);
  }
});

test('wrong kind is refused', () => {
  const { bytes } = seal('bid', samples.bid, dev);
  assert.equal(code(() => open(bytes, { kind: 'receipt' })), 'wrong-kind');
  assert.equal(code(() => open(bytes, { kind: ['cap', 'status'] })), 'wrong-kind');
});

test('wrong signer is refused', () => {
  const other = generateIdentity();
  const { bytes } = seal('bid', samples.bid, dev);
  assert.equal(code(() => open(bytes, { signer: other.publicKey })), 'wrong-signer');
  assert.equal(code(() => open(bytes, { signer: other.nodeId })), 'wrong-signer');
  // a node cannot sign a message naming another node
  assert.equal(code(() => open(seal('bid', { ...samples.bid, nodeId: other.nodeId }, dev).bytes)), 'wrong-signer');
});

test('a signature for one kind cannot pass as another (kind is signed)', () => {
  const sealed = seal('status', samples.status, dev);
  const env = decode(sealed.bytes) as Record<string, unknown>;
  const relabelled = encode({ ...env, kind: 'cap' });
  // body does not match the cap schema either, so try a kind whose schema fits nothing:
  assert.notEqual(code(() => open(relabelled)), undefined);
  // Same body bytes, signature made over another kind: refused as a bad signature.
  const sig = dev.secretKey && nodeBackend.sign(signingBytes('cap', sealed.body), dev.secretKey);
  const forged = encode({ v: 1, kind: 'status', signer: dev.publicKey, body: sealed.body, sig });
  assert.equal(code(() => open(forged)), 'bad-signature');
});

test('a signature without the domain tag is refused', () => {
  const sealed = seal('status', samples.status, dev);
  const raw = new Uint8Array([...new TextEncoder().encode('status'), 0, ...sealed.body]);
  const sig = nodeBackend.sign(raw, dev.secretKey);
  const forged = encode({ v: 1, kind: 'status', signer: dev.publicKey, body: sealed.body, sig });
  assert.equal(code(() => open(forged)), 'bad-signature');
  assert.ok(DOMAIN.length > 8);
});

test('schema errors name the field', () => {
  assert.throws(() => validate('receipt', { ...samples.receipt, fuel: -1 }), /receipt\.fuel/);
  assert.throws(() => validate('bid', { ...samples.bid, extra: 1 }), ProtocolError);
  assert.throws(() => validate('receipt', { ...samples.receipt, moduleHash: new Uint8Array(31) }), /receipt\.moduleHash: expected exactly 32 bytes/);
  assert.throws(() => seal('offer', { ...samples.offer, region: 'a/b' }, gw), /offer\.region/);
  assert.throws(() => validate('receipt', { ...samples.receipt, finishedAt: samples.receipt.startedAt - 1 }), /finishedAt/);
});

test('envelope shape errors', () => {
  const good = decode(seal('status', samples.status, dev).bytes) as Record<string, unknown>;
  assert.equal(code(() => open(encode([1, 2, 3]))), 'schema');
  assert.equal(code(() => open(encode({ ...good, v: 2 }))), 'schema');
  assert.equal(code(() => open(encode({ ...good, kind: 'nope' }))), 'schema');
  assert.equal(code(() => open(encode({ ...good, extra: 1 }))), 'schema');
  assert.equal(code(() => open(encode({ ...good, sig: new Uint8Array(63) }))), 'schema');
  assert.equal(code(() => open(encode({ ...good, signer: 'x' }))), 'schema');
  assert.equal(code(() => open(new Uint8Array(0))), 'malformed');
});

test('a 64-bit integer kind (decoded as a BigInt) is a ProtocolError, not a TypeError', () => {
  // The fuzzer's counterexample: a kind field holding CBOR 0x3b (negative 64-bit integer).
  const good = decode(seal('status', samples.status, dev).bytes) as Record<string, unknown>;
  const env = encode({ ...good, kind: 0 });
  const at = Buffer.from(env).indexOf(Buffer.from([0x64, 0x6b, 0x69, 0x6e, 0x64])) + 5; // after the "kind" key
  const bytes = new Uint8Array([...env.subarray(0, at), 0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, ...env.subarray(at + 1)]);
  assert.equal(code(() => open(bytes)), 'schema');
});
