/** compact(): a view that owns its buffer is returned as is; a view into a bigger buffer is copied to size. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compact } from '../../util/bytes.js';

test('compact copies only views into bigger buffers', () => {
  const own = new Uint8Array([1, 2, 3]);
  assert.equal(compact(own), own, 'no copy when the view is the whole buffer');
  const big = new Uint8Array(65536).fill(7);
  const view = big.subarray(100, 164);
  const c = compact(view);
  assert.notEqual(c, view);
  assert.equal(c.buffer.byteLength, 64, 'the copy owns a buffer of its own size');
  assert.deepEqual([...c], [...view]);
  big[100] = 9;
  assert.equal(c[0], 7, 'and no longer shares bytes with the original');
  const head = big.subarray(0, 10); // offset 0 but shorter than the buffer
  assert.equal(compact(head).buffer.byteLength, 10);
});

test('crc32 fallback equals zlib crc32', async () => {
  const { crc32Js, crc32 } = await import('../../util/crc32.js');
  const zlib = await import('node:zlib');
  for (const s of ['', 'a', '123456789', 'x'.repeat(1000)]) {
    const b = new TextEncoder().encode(s);
    assert.equal(crc32Js(b), crc32(b));
    if ('crc32' in zlib) assert.equal(crc32Js(b), (zlib as unknown as { crc32(d: Uint8Array): number }).crc32(b));
  }
  assert.equal(crc32Js(new TextEncoder().encode('123456789')), 0xcbf43926);
});
