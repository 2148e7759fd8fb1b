/** Arbitrary and mutated bytes never crash admission, and never break the pool. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { checkAbi } from '../../agent/runtime/abi-check.js';
import { createWorkerPool } from '../../agent/runtime/index.js';
import { Lru } from '../../agent/runtime/lru.js';
import { FAILURE_KINDS } from '../../protocol/messages.js';
import type { Catalogue } from '../../agent/runtime/catalogue.js';
import type { TaskRunner } from '../../agent/runtime/types.js';
import { rng } from './inputs.js';
import { catalogue, hex } from './helpers.js';

describe('robustness', () => {
  let cat: Catalogue;
  let pool: TaskRunner;
  before(async () => {
    cat = await catalogue();
    pool = createWorkerPool({ size: 2, cacheSize: 1 });
  });
  after(() => pool.close());

  it('checkAbi never throws on arbitrary bytes, with or without the wasm header', () => {
    const header = [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0];
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (body, withHeader) => {
      const bytes = withHeader ? Uint8Array.from([...header, ...body]) : body;
      const r = checkAbi(bytes, { maxMemoryPages: 16 });
      assert.ok(r.ok || FAILURE_KINDS.includes(r.kind));
    }), { numRuns: 400 });
  });

  it('checkAbi never throws on bit-flipped real modules', () => {
    const wasm = cat.byName('stats')!.wasm;
    fc.assert(fc.property(fc.array(fc.nat({ max: wasm.length * 8 - 1 }), { minLength: 1, maxLength: 4 }), (bits) => {
      const m = wasm.slice();
      for (const b of bits) m[b >> 3] ^= 1 << (b & 7);
      const r = checkAbi(m);
      assert.ok(r.ok || FAILURE_KINDS.includes(r.kind));
    }), { numRuns: 300 });
  });

  it('mutated modules through the pool: every run resolves with a typed outcome, and real tasks still run', async () => {
    const wasm = cat.byName('blur')!.wasm;
    const r = rng(77);
    const kinds = new Map<string, number>();
    for (let i = 0; i < 24; i++) {
      const m = wasm.slice();
      for (let j = 0; j < 2; j++) m[8 + Math.floor(r() * (m.length - 8))] ^= 1 << Math.floor(r() * 8);
      const o = await pool.run(m, new Uint8Array([2, 0, 0, 0, 2, 0, 0, 0, 1, 2, 3, 4]), { fuel: 5_000_000, timeoutMs: 5_000 });
      const k = o.ok ? 'ok' : o.error.kind;
      assert.ok(k === 'ok' || FAILURE_KINDS.includes(k as never), k);
      kinds.set(k, (kinds.get(k) ?? 0) + 1);
    }
    const sha = cat.byName('sha256')!.wasm;
    const o = await pool.run(sha, new Uint8Array([7]));
    assert.ok(o.ok);
    assert.equal(hex(o.output), createHash('sha256').update(new Uint8Array([7])).digest('hex'));
  });

  it('a one-entry module cache still runs alternating modules correctly', async () => {
    const a = cat.byName('primes')!, b = cat.byName('sha256')!;
    const range = new Uint8Array(new Uint32Array([0, 1000]).buffer);
    for (let i = 0; i < 3; i++) {
      const x = await pool.run(a.wasm, range);
      const y = await pool.run(b.wasm, range);
      assert.ok(x.ok && y.ok);
      assert.equal(new DataView(x.output.buffer).getUint32(0, true), 168);
      assert.equal(hex(y.output), createHash('sha256').update(range).digest('hex'));
    }
  });

  it('Lru evicts the least recently used entry', () => {
    const l = new Lru<string, number>(2);
    l.set('a', 1);
    l.set('b', 2);
    assert.equal(l.get('a'), 1);
    l.set('c', 3);
    assert.equal(l.get('b'), undefined);
    assert.equal(l.get('a'), 1);
    assert.equal(l.get('c'), 3);
    assert.equal(l.size, 2);
  });
});
