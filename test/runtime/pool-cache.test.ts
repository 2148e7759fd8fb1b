/**
 * Pool workers keep compiled modules by hash (an LRU of WORKER_MODULE_CACHE, mirrored by
 * the pool, so a module is posted to a worker only when the worker lacks it). More distinct
 * modules than that, in rotation, must all still give the right outputs: evicted ones are
 * re-sent, hot ones are named by hash, and a worker that lacks one asks for it ('missing').
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WorkerPool } from '../../agent/runtime/pool.js';
import { WORKER_MODULE_CACHE } from '../../agent/runtime/lru.js';
import type { Catalogue } from '../../agent/runtime/catalogue.js';
import { sha256, toHex } from '../../protocol/hash.js';
import { REFERENCES } from './references.js';
import { sampleInput, TASK_NAMES } from './inputs.js';
import { catalogue, hex } from './helpers.js';
import { abiModule } from './wat.js';

/** Returns [k, first input byte]: 256 distinct valid ABI v1 modules from one template. */
function tagged(k: number): Uint8Array {
  return abiModule(`(i32.store8 (i32.const 2048) (i32.const ${k}))
    (i32.store8 (i32.const 2049) (i32.load8_u (local.get $p)))
    (i64.or (i64.shl (i64.const 2048) (i64.const 32)) (i64.const 2))`);
}

interface Case { name: string; wasm: Uint8Array; input: Uint8Array; expect: string }

const LIMITS = { timeoutMs: 20_000 };

describe('pool workers: compiled modules kept by hash', () => {
  let cat: Catalogue;
  const cases: Case[] = [];
  const pools: WorkerPool[] = [];
  const newPool = (size: number) => { const p = new WorkerPool({ size }); pools.push(p); return p; };

  before(async () => {
    cat = await catalogue();
    for (const name of TASK_NAMES) {
      const input = sampleInput(name, { seed: 7 });
      cases.push({ name, wasm: cat.byName(name)!.wasm, input, expect: hex(REFERENCES[name]!(input)) });
    }
    for (let k = 1; k <= WORKER_MODULE_CACHE + 6; k++) {
      const input = new Uint8Array(24).fill(k);
      cases.push({ name: `tagged ${k}`, wasm: tagged(k), input, expect: hex(new Uint8Array([k, k])) });
    }
    assert.ok(cases.length > WORKER_MODULE_CACHE + 4, `${cases.length} distinct modules`);
    assert.equal(new Set(cases.map((c) => toHex(sha256(c.wasm)))).size, cases.length, 'all distinct');
  });

  after(() => Promise.all(pools.map((p) => p.close())));

  const check = async (pool: WorkerPool, c: Case, input = c.input, expect = c.expect) => {
    const o = await pool.run(c.wasm, input, LIMITS);
    assert.ok(o.ok, `${c.name}: ${!o.ok && o.error.kind} ${!o.ok && o.error.message}`);
    assert.equal(hex(o.output), expect, c.name);
  };

  it('one worker: a rotation over more modules than it keeps (every run a re-send), three times', async () => {
    const pool = newPool(1);
    for (let round = 0; round < 3; round++) for (const c of cases) await check(pool, c);
  });

  it('one worker: hot modules stay named by hash while cold ones come and go', async () => {
    const pool = newPool(1);
    const hot = cases.slice(0, 3);
    for (let round = 0; round < 2; round++) {
      for (const c of cases) {
        await check(pool, c);
        for (const h of hot) await check(pool, h); // refreshed after every cold one: never evicted
      }
    }
    // the same module with fresh inputs (a cached entry is reused, not the old output)
    const t = cases.find((c) => c.name.startsWith('tagged'))!;
    const k = t.expect.slice(0, 2);
    for (let i = 0; i < 5; i++) {
      const input = new Uint8Array(10 + i).fill(0x40 + i);
      await check(pool, t, input, k + hex(input.subarray(0, 1)));
    }
  });

  it('two workers, many runs in flight: every output right', async () => {
    const pool = newPool(2);
    for (let round = 0; round < 3; round++) {
      // a shifted order each round, so each worker sees a different sequence
      const order = cases.map((_, i) => cases[(i * 7 + round * 5) % cases.length]!);
      await Promise.all(order.map((c) => check(pool, c)));
      await Promise.all([...order].reverse().map((c) => check(pool, c)));
    }
  });

  it("a worker that lacks a module the pool thinks it has replies 'missing' and gets it re-sent", async () => {
    const pool = newPool(1);
    const [a, b] = [cases[0]!, cases[cases.length - 1]!];
    await check(pool, a); // spawns the worker
    // Desynchronise the mirror on purpose (white-box): the only way to reach this path.
    const slots = (pool as unknown as { slots: Array<{ known?: { set(k: string, v: true): void } } | null> }).slots;
    const slot = slots[0];
    assert.ok(slot?.known && typeof slot.known.set === 'function', 'the pool keeps a per-worker mirror');
    slot.known.set(toHex(sha256(b.wasm)), true);
    await check(pool, b);
    await check(pool, b);
    await check(pool, a);
  });
});
