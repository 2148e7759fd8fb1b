/**
 * The pool hands a worker several queued jobs per message. What must still hold: every job
 * ends with its own kind and output, a job that hits its deadline costs only itself (the
 * jobs behind it in the same batch run elsewhere), and a deadline is per job, not per batch.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { WorkerPool } from '../../agent/runtime/pool.js';
import type { RunLimits } from '../../agent/runtime/types.js';
import type { Catalogue } from '../../agent/runtime/catalogue.js';
import { abiModule } from './wat.js';
import { catalogue, hex } from './helpers.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** A module whose run spins n x 2^16 times (n: the input's first two bytes, little-endian), then returns no output. */
const spin = abiModule(`
  (local $i i32) (local $k i32)
  (local.set $k (i32.shl (i32.load16_u (local.get $p)) (i32.const 16)))
  (block $done (loop $l
    (br_if $done (i32.ge_u (local.get $i) (local.get $k)))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br $l)))
  (i64.const 0)`);

describe('worker pool batches', () => {
  let pool: WorkerPool;
  let cat: Catalogue;
  before(async () => {
    cat = await catalogue();
    pool = new WorkerPool({ size: 1 }); // one worker: everything queued shares its batches
  });
  after(() => pool.close());

  it('a deadline in the middle of a batch ends only that job; the rest run and are right', async () => {
    const shaWasm = cat.byName('sha256')!.wasm;
    const loop = abiModule('(loop $l (br $l)) (i64.const 0)');
    const trap = abiModule('(unreachable)');
    const deadline: RunLimits = { fuel: Number.MAX_SAFE_INTEGER, memoryPages: 16, timeoutMs: 400 };
    const inputs = Array.from({ length: 10 }, (_, i) => new Uint8Array([i, i + 1, i + 2]));
    const runs = await Promise.all([
      ...inputs.slice(0, 3).map((x) => pool.run(shaWasm, x)),
      pool.run(loop, new Uint8Array(0), deadline),
      ...inputs.slice(3, 6).map((x) => pool.run(shaWasm, x)),
      pool.run(trap, new Uint8Array(0)),
      ...inputs.slice(6, 10).map((x) => pool.run(shaWasm, x)),
    ]);
    assert.deepEqual(runs.map((r) => (r.ok ? 'ok' : r.error.kind)), [
      'ok', 'ok', 'ok', 'timeout', 'ok', 'ok', 'ok', 'trap', 'ok', 'ok', 'ok', 'ok',
    ]);
    const outputs = runs.filter((r) => r.ok).map((r) => (r.ok ? hex(r.output) : ''));
    assert.deepEqual(outputs, inputs.map(sha));
  });

  it('each job of a batch gets its own deadline, not a share of one', async () => {
    const limits: RunLimits = { fuel: Number.MAX_SAFE_INTEGER, memoryPages: 16, timeoutMs: 2000 };
    const spinFor = (units: number) => pool.run(spin, new Uint8Array([units & 0xff, units >> 8]), limits);
    // Calibrate on a warm module (the first run also instruments and compiles it).
    await spinFor(1);
    const t0 = performance.now();
    const probe = await spinFor(1024);
    assert.ok(probe.ok, !probe.ok ? probe.error.message : '');
    let units = Math.max(1, Math.min(65535, Math.round(limits.timeoutMs / 4 / Math.max(0.001, (performance.now() - t0) / 1024))));
    // Eight jobs of ~timeout/4 each in one batch: ~2x the deadline in total, each well inside
    // it. A machine that sped up since the probe gets longer jobs, until the batch outlives one deadline.
    for (let attempt = 0; ; attempt++) {
      const started = performance.now();
      const runs = await Promise.all(Array.from({ length: 8 }, () => spinFor(units)));
      assert.deepEqual(runs.map((r) => (r.ok ? 'ok' : r.error.kind)), new Array(8).fill('ok'));
      if (performance.now() - started > limits.timeoutMs) break;
      assert.ok(attempt < 3 && units < 65535, 'the batch never outlived one deadline (the test would prove nothing)');
      units = Math.min(65535, units * 2);
    }
  });
});
