/**
 * Garbage collection by the byte (runtime/gc-budget.ts): the runner process collects task
 * garbage every few MB instead of after V8's ~64 MB of external memory per thread.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { getHeapSpaceStatistics } from 'node:v8';
import { compactNow, exposedGc, GarbageBudget, type Gc } from '../../agent/runtime/gc-budget.js';
import { execute, takeDroppedBytes } from '../../agent/runtime/execute.js';
import { abiModule } from './wat.js';

describe('GarbageBudget', () => {
  it('collects once per `limit` bytes dropped, not before', () => {
    const calls: unknown[] = [];
    const gc: Gc = (o) => { calls.push(o); };
    const b = new GarbageBudget(1000, 'sync', gc);
    b.add(600);
    assert.equal(calls.length, 0);
    b.add(400);
    assert.equal(calls.length, 1);
    assert.deepEqual(calls[0], undefined, 'a sync budget runs a plain (full) gc()');
    b.add(999);
    assert.equal(calls.length, 1);
    b.add(5000);
    assert.equal(calls.length, 2);
    assert.equal(b.runs, 2);
    const a: unknown[] = [];
    const async = new GarbageBudget(10, 'async', (o) => { a.push(o); });
    async.add(10);
    assert.deepEqual(a, [{ type: 'major', execution: 'async' }]);
  });

  it('without a gc function it does nothing (a process started without --expose-gc)', () => {
    const b = new GarbageBudget(1, 'sync', undefined);
    assert.equal(b.active, false);
    b.add(100);
    assert.equal(b.runs, 0);
  });

  it('exposedGc() gives a gc that frees garbage in a process started without --expose-gc', () => {
    const gc = exposedGc();
    assert.ok(gc, 'V8 accepted --expose-gc at run time');
    assert.equal(exposedGc(), gc, 'made once');
    gc();
    const base = process.memoryUsage().heapUsed;
    let junk: object[] | null = Array.from({ length: 300_000 }, (_, i) => ({ i, s: `x${i}` }));
    const full = process.memoryUsage().heapUsed;
    assert.ok(full - base > 10 << 20, `made ${(full - base) >> 20} MB of garbage`);
    junk = null;
    gc();
    const freed = full - process.memoryUsage().heapUsed;
    assert.ok(freed > 8 << 20, `freed ${freed >> 20} MB (junk is ${junk === null ? 'dropped' : 'kept'})`);
  });
});

describe('compactNow', () => {
  it('gives back old-space pages a plain full GC keeps, then collects once more a second later', async () => {
    const gc = exposedGc();
    assert.ok(gc);
    const oldSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === 'old_space')!.space_size;
    // A few MB of objects promoted to old space, of which one in 50 stays alive: every page keeps a live object.
    let junk: object[] | null = [];
    for (let i = 0; i < 200_000; i++) junk.push({ i, s: `x${i}`, a: [i] });
    gc();
    const live = junk.filter((_, i) => i % 50 === 0);
    junk = null;
    gc();
    const plain = oldSpace();
    const calls: number[] = [];
    assert.equal(compactNow(() => { calls.push(Date.now()); gc(); }), true);
    const compacted = oldSpace();
    assert.ok(compacted < plain / 2, `old space ${plain >> 20} MB after a plain full GC, ${compacted >> 20} MB after compactNow (live ${live.length})`);
    assert.equal(calls.length, 1);
    await new Promise((r) => setTimeout(r, 1300));
    assert.equal(calls.length, 2, 'the second, plain, collection a second later');
    assert.equal(compactNow(null), false, 'no gc function: nothing to do');
  });
});

describe('takeDroppedBytes', () => {
  const mod = (bytes: Uint8Array) => new WebAssembly.Module(new Uint8Array(bytes));
  it('counts the memory a task leaves behind (an unmetered module owns its memory)', () => {
    takeDroppedBytes();
    const grows = mod(abiModule('(drop (memory.grow (i32.const 2))) (i64.const 0)'));
    const out = execute(grows, new Uint8Array(8), { fuel: 1e6, memoryPages: 8 }, { initialPages: 1, maximumPages: null });
    assert.ok(out.ok, !out.ok ? out.error.message : '');
    assert.equal(takeDroppedBytes(), 3 * 65536);
    assert.equal(takeDroppedBytes(), 0, 'reset by taking');
  });
});
