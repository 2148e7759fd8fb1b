/**
 * Property test: 100,000 random and mutated byte strings fed to the envelope decoder.
 * Each must either open to a valid message or raise ProtocolError; never another
 * exception, never a hang (the test runner's timeout would catch one).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { open, seal } from '../../protocol/envelope.js';
import { decode } from '../../protocol/codec.js';
import { generateIdentity } from '../../protocol/identity.js';
import { ProtocolError } from '../../protocol/errors.js';
import { KINDS, validate } from '../../protocol/messages.js';
import { sampleMessages, signerFor } from './samples.js';

const dev = generateIdentity();
const gw = generateIdentity();
const samples = sampleMessages(dev, gw);
const valid = KINDS.map((k) => seal(k, samples[k] as never, signerFor(k, dev, gw)).bytes);

let opened = 0;
let refused = 0;
function feed(bytes: Uint8Array): void {
  try {
    const o = open(bytes);
    validate(o.kind, o.message); // anything that opens is a valid message
    opened++;
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw new Error(`non-protocol error ${String(e)} for ${Buffer.from(bytes).toString('hex').slice(0, 200)}`);
    refused++;
  }
  try {
    decode(bytes);
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw new Error(`decode threw ${String(e)}`);
  }
}

const mutation = fc.record({
  base: fc.integer({ min: 0, max: valid.length - 1 }),
  other: fc.integer({ min: 0, max: valid.length - 1 }),
  op: fc.constantFrom('flip', 'set', 'truncate', 'insert', 'splice', 'dup', 'multi'),
  at: fc.nat(),
  at2: fc.nat(),
  byte: fc.integer({ min: 0, max: 255 }),
  extra: fc.uint8Array({ maxLength: 16 }),
});

type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(m: Mutation): Uint8Array {
  const b = valid[m.base]!;
  const i = m.at % b.length;
  switch (m.op) {
    case 'flip': { const c = b.slice(); c[i]! ^= 1 << (m.byte & 7); return c; }
    case 'set': { const c = b.slice(); c[i] = m.byte; return c; }
    case 'truncate': return b.slice(0, i);
    case 'insert': return new Uint8Array([...b.subarray(0, i), ...m.extra, ...b.subarray(i)]);
    case 'splice': { const o = valid[m.other]!; return new Uint8Array([...b.subarray(0, i), ...o.subarray(m.at2 % o.length)]); }
    case 'dup': return new Uint8Array([...b.subarray(0, i), ...b.subarray(m.at2 % b.length)]);
    case 'multi': {
      const c = b.slice();
      for (let k = 0; k < 8; k++) c[(m.at + k * 7919 + m.at2 * k) % c.length] = (m.byte + k * 31) & 0xff;
      return c;
    }
  }
  return b;
}

test('40,000 random byte strings: ProtocolError or a valid message', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), (b) => { feed(b); }), { numRuns: 40_000 });
});

test('60,000 mutated valid envelopes: ProtocolError or a valid message', () => {
  fc.assert(fc.property(mutation, (m) => { feed(mutate(m)); }), { numRuns: 60_000 });
  assert.ok(refused > 0 && opened >= 0);
});

test('the unmutated envelopes still open', () => {
  for (const b of valid) assert.doesNotThrow(() => open(b));
});
