import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { REFERENCES } from './references.js';
import { sampleInput, TASK_NAMES } from './inputs.js';
import { cataloguePool, hex } from './helpers.js';

describe('task catalogue: wasm output equals the TypeScript reference', () => {
  const t = cataloguePool();

  it('lists every task with a hash, description and formats', () => {
    assert.deepEqual(t.cat.entries.map((e) => e.name).sort(), [...TASK_NAMES].sort());
    for (const e of t.cat.entries) {
      assert.equal(e.hash.length, 32);
      assert.equal(t.cat.byHash(e.hashHex), e);
      assert.equal(t.cat.byName(e.name), e);
      assert.ok(e.description.length > 0 && e.input.length > 0 && e.output.length > 0);
    }
  });

  for (const name of TASK_NAMES) {
    it(`${name}: three seeded inputs`, async () => {
      const entry = t.cat.byName(name)!;
      for (const seed of [1, 2, 3]) {
        const input = sampleInput(name, { seed });
        const o = await t.pool.run(entry.wasm, input, {}, { expectedHash: entry.hash });
        assert.ok(o.ok, `${name} seed ${seed}: ${!o.ok && o.error.message}`);
        assert.equal(hex(o.output), hex(REFERENCES[name]!(input)), `${name} seed ${seed}`);
        assert.ok(o.fuel > 0 && Number.isSafeInteger(o.fuel));
      }
    });
  }

  it('sha256 agrees with node:crypto, including the padding edge cases', async () => {
    const wasm = t.cat.byName('sha256')!.wasm;
    for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000]) {
      const input = Uint8Array.from({ length: n }, (_, i) => (i * 7 + n) & 0xff);
      const o = await t.pool.run(wasm, input);
      assert.ok(o.ok);
      const expected = createHash('sha256').update(input).digest('hex');
      assert.equal(hex(o.output), expected, `length ${n}`);
      assert.equal(hex(REFERENCES.sha256!(input)), expected, `reference, length ${n}`);
    }
  });

  it('edge inputs: empty stats, empty prime range, -0 samples', async () => {
    const stats = t.cat.byName('stats')!.wasm;
    const empty = await t.pool.run(stats, new Uint8Array(0));
    assert.ok(empty.ok);
    assert.equal(hex(empty.output), '00'.repeat(64));
    const f = new Float32Array([-0, 0, -0, 3, -2]);
    const z = new Uint8Array(f.buffer);
    const zo = await t.pool.run(stats, z);
    assert.ok(zo.ok);
    assert.equal(hex(zo.output), hex(REFERENCES.stats!(z)));
    const primes = t.cat.byName('primes')!.wasm;
    const range = new Uint8Array(new Uint32Array([100, 10]).buffer);
    const po = await t.pool.run(primes, range);
    assert.ok(po.ok);
    assert.equal(hex(po.output), '00000000');
    const known = new Uint8Array(new Uint32Array([0, 100]).buffer);
    const ko = await t.pool.run(primes, known);
    assert.ok(ko.ok);
    assert.equal(new DataView(ko.output.buffer).getUint32(0, true), 25);
  });

  it('malformed input is a trap with the task\'s message, as the reference throws', async () => {
    for (const [name, bad] of [['matmul', new Uint8Array(13)], ['stats', new Uint8Array(5)], ['mandelbrot', new Uint8Array(3)], ['mlp', new Uint8Array(17)]] as const) {
      const o = await t.pool.run(t.cat.byName(name)!.wasm, bad);
      assert.equal(o.ok, false, name);
      assert.equal(!o.ok && o.error.kind, 'trap', name);
      assert.match(!o.ok ? o.error.message : '', new RegExp(name === 'mandelbrot' ? 'mandelbrot' : name), name);
      assert.throws(() => REFERENCES[name]!(bad), name);
    }
  });

  it('mlp classifies the shapes it was trained on', async () => {
    const input = sampleInput('mlp', { seed: 9, size: 'bench' }).subarray(0, 16 * 400);
    const o = await t.pool.run(t.cat.byName('mlp')!.wasm, input);
    assert.ok(o.ok);
    let right = 0;
    o.output.forEach((c, s) => { if (c === s % 4) right++; });
    assert.ok(right / o.output.length > 0.9, `accuracy ${right / o.output.length}`);
  });
});
