/**
 * A worker reuses a wiped memory for the next task of the same shape (making a fresh one
 * cost more than a small task). What must hold: no task ever sees what an earlier task
 * left in memory, whether that task ended well, trapped, or grew its memory.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WorkerPool } from '../../agent/runtime/pool.js';
import { execute } from '../../agent/runtime/execute.js';
import { abiModule } from './wat.js';
import { hex } from './helpers.js';

/** Stores the input's first 8 bytes at 4096 (and, with `then`, does something after). */
const writer = (then = '(i64.const 0)') => abiModule(`(i64.store (i32.const 4096) (i64.load (local.get $p))) ${then}`);
/** Returns the 8 bytes at 4096, and the 8 at the start of page 2 when the memory has one. */
const reader = abiModule(`(i64.store (i32.const 8192) (i64.load (i32.const 4096)))
  (i64.or (i64.shl (i64.const 8192) (i64.const 32)) (i64.const 8))`);
const SECRET = new Uint8Array([0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4]);
const ZEROS = '00'.repeat(8);

describe('memory reuse between tasks', () => {
  let pool: WorkerPool;
  before(() => { pool = new WorkerPool({ size: 1 }); }); // one worker: every task reuses its memory
  after(() => pool.close());

  it('a task after one that wrote a secret sees only zeros', async () => {
    for (let i = 0; i < 3; i++) {
      const w = await pool.run(writer(), SECRET);
      assert.ok(w.ok, !w.ok ? w.error.message : '');
      const r = await pool.run(reader, new Uint8Array(0));
      assert.ok(r.ok, !r.ok ? r.error.message : '');
      assert.equal(hex(r.output), ZEROS);
    }
  });

  it('nor after one that trapped, or one that grew its memory', async () => {
    const trapped = await pool.run(writer('(unreachable)'), SECRET);
    assert.equal(!trapped.ok && trapped.error.kind, 'trap');
    let r = await pool.run(reader, new Uint8Array(0));
    assert.ok(r.ok && hex(r.output) === ZEROS, 'after a trap');
    const grew = await pool.run(writer('(drop (memory.grow (i32.const 1))) (i64.const 0)'), SECRET);
    assert.ok(grew.ok, !grew.ok ? grew.error.message : '');
    r = await pool.run(reader, new Uint8Array(0));
    assert.ok(r.ok && hex(r.output) === ZEROS, 'after a grow');
  });

  it('in-thread execute (as the benchmark calls it) holds the same', () => {
    const mod = (bytes: Uint8Array) => new WebAssembly.Module(new Uint8Array(bytes));
    // Unmetered modules own their memory; the guarantee is the same either way.
    const w = execute(mod(writer()), SECRET, { fuel: 1e6, memoryPages: 4 }, { initialPages: 1, maximumPages: null });
    assert.ok(w.ok);
    const r = execute(mod(reader), new Uint8Array(0), { fuel: 1e6, memoryPages: 4 }, { initialPages: 1, maximumPages: null });
    assert.ok(r.ok && hex(r.output) === ZEROS);
  });
});
