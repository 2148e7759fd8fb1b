/** Fuel is deterministic: same module and input, same fuel, in any worker, in any pool. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createWorkerPool, runOnce } from '../../agent/runtime/index.js';
import { sampleInput, TASK_NAMES } from './inputs.js';
import { abiModule } from './wat.js';
import { cataloguePool, hex } from './helpers.js';

describe('fuel metering', () => {
  const t = cataloguePool();

  it('every task: the same fuel on every run, concurrently across worker threads and in a second pool', async () => {
    const other = createWorkerPool({ size: 1, cacheSize: 2 });
    try {
      for (const name of TASK_NAMES) {
        const wasm = t.cat.byName(name)!.wasm;
        const input = sampleInput(name, { seed: 5 });
        const runs = await Promise.all([1, 2, 3, 4].map(() => t.pool.run(wasm, input)));
        runs.push(await other.run(wasm, input));
        const fuels = runs.map((r) => (r.ok ? r.fuel : -1));
        assert.ok(fuels[0]! > 0, name);
        assert.deepEqual(fuels, new Array(runs.length).fill(fuels[0]), `${name}: ${fuels.join(', ')}`);
        assert.equal(new Set(runs.map((r) => (r.ok ? hex(r.output) : ''))).size, 1, name);
      }
    } finally {
      await other.close();
    }
  });

  it('a budget of exactly the fuel used succeeds; one unit less is fuel-exhausted', async () => {
    const wasm = t.cat.byName('primes')!.wasm;
    const input = sampleInput('primes', { seed: 2 });
    const first = await t.pool.run(wasm, input);
    assert.ok(first.ok);
    const exact = await t.pool.run(wasm, input, { fuel: first.fuel });
    assert.ok(exact.ok);
    assert.equal(exact.fuel, first.fuel);
    const short = await t.pool.run(wasm, input, { fuel: first.fuel - 1 });
    assert.equal(!short.ok && short.error.kind, 'fuel-exhausted');
    assert.equal(short.fuel, first.fuel - 1);
  });

  it('fuel grows with the work: a longer input costs more', async () => {
    const wasm = t.cat.byName('sha256')!.wasm;
    const a = await t.pool.run(wasm, new Uint8Array(1000));
    const b = await t.pool.run(wasm, new Uint8Array(10_000));
    assert.ok(a.ok && b.ok);
    assert.ok(b.fuel > a.fuel * 5, `${a.fuel} vs ${b.fuel}`);
  });

  it('the start function is metered', async () => {
    const body = '(i64.const 0)';
    const plain = await t.pool.run(abiModule(body), new Uint8Array(0));
    const withStart = await t.pool.run(abiModule(body, `(global $i (mut i32) (i32.const 0))
      (func $s (loop $l (global.set $i (i32.add (global.get $i) (i32.const 1))) (br_if $l (i32.lt_u (global.get $i) (i32.const 1000)))))
      (start $s)`), new Uint8Array(0));
    assert.ok(plain.ok && withStart.ok);
    assert.ok(withStart.fuel >= plain.fuel + 1000, `${plain.fuel} vs ${withStart.fuel}`);
  });

  it('fuel spent in callees (leaving by return from inside a loop) is counted exactly', async () => {
    // run calls $f input[0] times; $f loops 100 times and returns from inside its loop.
    const m = abiModule(`(local $k i32) (local.set $k (i32.load8_u (local.get $p)))
      (block $done (loop $l (br_if $done (i32.eqz (local.get $k))) (call $f) (local.set $k (i32.sub (local.get $k) (i32.const 1))) (br $l)))
      (i64.const 0)`, `(func $f (local $i i32)
        (loop $l (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (if (i32.eq (local.get $i) (i32.const 100)) (then (return))) (br $l)))`);
    const fuel: number[] = [];
    for (const n of [0, 1, 2, 3, 10]) {
      const o = await t.pool.run(m, new Uint8Array([n]));
      assert.ok(o.ok, !o.ok ? o.error.message : '');
      fuel.push(o.fuel);
    }
    const step = fuel[2]! - fuel[1]!;
    assert.ok(step > 100 * 5, `each call costs its 100 iterations: ${fuel.join(', ')}`);
    assert.equal(fuel[3]! - fuel[2]!, step);
    assert.equal(fuel[4]! - fuel[3]!, 7 * step);
    // And running out inside the callee is fuel-exhausted, not a wrong count.
    const short = await t.pool.run(m, new Uint8Array([10]), { fuel: fuel[4]! - 1 });
    assert.equal(!short.ok && short.error.kind, 'fuel-exhausted');
  });

  it('runOnce gives the same fuel and output as the pool', async () => {
    const wasm = t.cat.byName('blur')!.wasm;
    const input = sampleInput('blur', { seed: 4 });
    const [a, b] = [await t.pool.run(wasm, input), await runOnce(wasm, input)];
    assert.ok(a.ok && b.ok);
    assert.equal(a.fuel, b.fuel);
    assert.equal(hex(a.output), hex(b.output));
  });

  it('bad limits are a programming error (RangeError), not an outcome', async () => {
    const wasm = t.cat.byName('sha256')!.wasm;
    await assert.rejects(t.pool.run(wasm, new Uint8Array(0), { fuel: 0 }), RangeError);
    await assert.rejects(t.pool.run(wasm, new Uint8Array(0), { fuel: 2 ** 53 }), RangeError);
    await assert.rejects(t.pool.run(wasm, new Uint8Array(0), { memoryPages: 1.5 }), RangeError);
  });
});
