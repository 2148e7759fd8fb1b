/**
 * bench/protocol: encode, decode, seal (sign), open (verify) per second, with
 * @noble/ed25519 and node:crypto side by side. Run: npm run bench -- protocol
 */
import { encode, decode } from '../protocol/codec.js';
import { seal, open, signingBytes } from '../protocol/envelope.js';
import { noble, node, type Ed25519Backend } from '../protocol/ed25519.js';
import { generateIdentity } from '../protocol/identity.js';
import { validate } from '../protocol/messages.js';
import { sampleMessages } from '../test/protocol/samples.js';
import { rate, table, json, fmt } from './lib.js';

const dev = generateIdentity();
const receipt = sampleMessages(dev, generateIdentity()).receipt;
const body = encode(receipt);
const sealed = seal('receipt', receipt, dev);
const msg200 = new Uint8Array(200).fill(7);
const sig200 = node.sign(msg200, dev.secretKey);

const results: Record<string, number> = {};
const r = (name: string, fn: () => unknown) => (results[name] = rate(fn).opsPerSec);

r('encode receipt', () => encode(receipt));
r('decode+validate receipt', () => validate('receipt', decode(body)));
for (const b of [noble, node] as Ed25519Backend[]) {
  r(`sign 200 B (${b.name})`, () => b.sign(msg200, dev.secretKey));
  r(`verify 200 B (${b.name})`, () => b.verify(sig200, msg200, dev.publicKey));
  r(`seal receipt (${b.name})`, () => seal('receipt', receipt, dev, b));
  r(`open receipt (${b.name})`, () => open(sealed.bytes, { kind: 'receipt', backend: b }));
}
void signingBytes;

const pair = (op: string) => [op, fmt(results[`${op} (noble)`]!), fmt(results[`${op} (node)`]!), `${fmt(results[`${op} (node)`]! / results[`${op} (noble)`]!, 1)}x`];
table('Ed25519 and envelopes, ops/s on one core', ['operation', '@noble/ed25519', 'node:crypto', 'node/noble'], [
  pair('sign 200 B'), pair('verify 200 B'), pair('seal receipt'), pair('open receipt'),
]);
table('CBOR codec, ops/s', ['operation', 'ops/s'], [
  ['encode receipt', fmt(results['encode receipt']!)],
  ['decode+validate receipt', fmt(results['decode+validate receipt']!)],
]);
console.log(`\nopen receipt (node) is ${fmt((100 * results['open receipt (node)']!) / results['verify 200 B (node)']!, 0)}% of raw node:crypto verify`);
json('protocol', { opsPerSec: results, receiptBytes: sealed.bytes.length });
