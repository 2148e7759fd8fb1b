import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encode, decode, scan, DEFAULT_LIMITS } from '../../protocol/codec.js';
import { ProtocolError } from '../../protocol/errors.js';
import { fromHex } from '../../protocol/hash.js';

const rejects = (bytes: Uint8Array, re: RegExp, limits = DEFAULT_LIMITS) =>
  assert.throws(() => decode(bytes, limits), (e: unknown) => e instanceof ProtocolError && re.test(e.message));

test('round trip of plain values', () => {
  const v = { a: 1, b: -2, c: 1.5, d: 'x', e: new Uint8Array([1, 2]), f: [true, false, null], g: { h: 2 ** 40 } };
  const back = decode(encode(v)) as typeof v;
  assert.deepEqual({ ...back, e: new Uint8Array(back.e) }, v);
});

test('the encoder emits no tags for byte strings', () => {
  const bytes = encode({ b: new Uint8Array([9]) });
  assert.doesNotThrow(() => scan(bytes));
  assert.ok(!Buffer.from(bytes).includes(0xd8), 'no tag header expected');
});

test('hard limits', () => {
  rejects(new Uint8Array(DEFAULT_LIMITS.maxBytes + 1), /exceeds the limit/);
  // nesting: 20 nested one-element arrays
  rejects(new Uint8Array([...new Array(20).fill(0x81), 0x01]), /nesting deeper/);
  // an array claiming 2^32-1 elements
  rejects(fromHex('9affffffff01'), /exceeds/);
  // a byte string claiming 2^64-1 bytes
  rejects(fromHex('5bffffffffffffffff'), /exceeds/);
  // a text string past the end of input
  rejects(fromHex('6a6869'), /past the end/);
  rejects(fromHex('c11a5f000000'), /tags are not accepted/);
  rejects(fromHex('9f01ff'), /indefinite-length/);
  rejects(fromHex('0102'), /trailing bytes/);
  rejects(fromHex('a10102'), /map keys must be text/);
  rejects(fromHex('a1695f5f70726f746f5f5fa0'), /__proto__/);
  rejects(fromHex('f0'), /simple value/);
  rejects(fromHex('1c'), /reserved/);
  rejects(fromHex('19ff'), /truncated/);
  const small = { ...DEFAULT_LIMITS, maxItems: 3 };
  rejects(encode([1, 2, 3, 4]), /more than 3 items/, small);
});

test('decode never throws anything but ProtocolError on deep or hostile input', () => {
  // 100k nested maps would blow a recursive decoder's stack: refused up front.
  const deep = new Uint8Array(100_001).fill(0x81);
  deep[100_000] = 0;
  rejects(deep, /nesting deeper/);
});
