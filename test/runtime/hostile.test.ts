/**
 * Hostile modules: each must end with the right failure kind, well before its deadline, and
 * the pool must run a real task correctly right after. Issue 12's classes (huge tables and
 * element segments, compile bombs, bulk memory, stack exhaustion, deep nesting, features
 * outside ABI v1) come from hostile-modules.ts; their times and peak memory are measured by
 * bench/sandbox, not here.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createWorkerPool } from '../../agent/runtime/index.js';
import type { RunLimits, TaskRunner } from '../../agent/runtime/types.js';
import type { Catalogue } from '../../agent/runtime/catalogue.js';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { STATIC_LIMITS } from '../../agent/runtime/static-limits.js';
import { abiModule, wat } from './wat.js';
import { deepSum, HOSTILE_CASES, nestedBlocks } from './hostile-modules.js';
import { catalogue, hex } from './helpers.js';

const MAIN = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

const FUEL = { fuel: 20_000_000, memoryPages: 16, timeoutMs: 30_000 } satisfies RunLimits;
const HUGE_FUEL = { fuel: Number.MAX_SAFE_INTEGER, memoryPages: 16, timeoutMs: 400 } satisfies RunLimits;

describe('hostile modules', () => {
  let pool: TaskRunner;
  let cat: Catalogue;
  before(async () => {
    cat = await catalogue();
    pool = createWorkerPool({ size: 2 });
  });
  after(() => pool.close());

  /** After every hostile run, a real task still runs and is right. */
  async function stillWorks(): Promise<void> {
    const input = new TextEncoder().encode('still alive');
    const o = await pool.run(cat.byName('sha256')!.wasm, input);
    assert.ok(o.ok, !o.ok ? o.error.message : '');
    assert.equal(hex(o.output), createHash('sha256').update(input).digest('hex'));
  }

  const cases: { name: string; module: () => Uint8Array; limits: RunLimits; kind: string; message?: RegExp }[] = [
    { name: 'infinite loop without calls', module: () => abiModule('(loop $l (br $l)) (i64.const 0)'), limits: FUEL, kind: 'fuel-exhausted' },
    { name: 'infinite loop with calls', module: () => abiModule('(loop $l (call $f) (br $l)) (i64.const 0)', '(func $f (nop))'), limits: FUEL, kind: 'fuel-exhausted' },
    { name: 'infinite start function', module: () => abiModule('(i64.const 0)', '(func $s (loop $l (br $l))) (start $s)'), limits: FUEL, kind: 'fuel-exhausted' },
    { name: 'infinite loop, unlimited fuel: deadline', module: () => abiModule('(loop $l (br $l)) (i64.const 0)'), limits: HUGE_FUEL, kind: 'timeout' },
    { name: 'infinite start function, unlimited fuel: deadline', module: () => abiModule('(i64.const 0)', '(func $s (loop $l (br $l))) (start $s)'), limits: HUGE_FUEL, kind: 'timeout' },
    {
      name: 'memory-grow bomb that traps on refusal',
      module: () => abiModule('(loop $l (br_if $l (i32.ne (memory.grow (i32.const 1)) (i32.const -1)))) (unreachable)'),
      limits: FUEL, kind: 'memory-limit',
    },
    {
      name: 'memory-grow bomb that ignores refusal',
      module: () => abiModule('(loop $l (drop (memory.grow (i32.const 64))) (br $l)) (i64.const 0)'),
      limits: FUEL, kind: 'memory-limit',
    },
    {
      name: 'memory-grow past the module\'s own declared maximum',
      module: () => abiModule('(loop $l (br_if $l (i32.ne (memory.grow (i32.const 1)) (i32.const -1)))) (unreachable)', '', '(memory (export "memory") 1 3)'),
      limits: FUEL, kind: 'memory-limit',
    },
    { name: 'huge initial memory', module: () => abiModule('(i64.const 0)', '', '(memory (export "memory") 60000)'), limits: FUEL, kind: 'memory-limit' },
    { name: 'maximum initial memory (4 GiB)', module: () => abiModule('(i64.const 0)', '', '(memory (export "memory") 65536)'), limits: FUEL, kind: 'memory-limit' },
    {
      name: 'WASI import',
      module: () => wat(`(module (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1) (func (export "alloc") (param i32) (result i32) (i32.const 0))
        (func (export "run") (param i32 i32) (result i64) (i64.const 0)))`),
      limits: FUEL, kind: 'forbidden-import', message: /wasi_snapshot_preview1\.fd_write/,
    },
    {
      name: 'AssemblyScript env.seed (randomness) import',
      module: () => wat(`(module (import "env" "seed" (func (result f64)))
        (memory (export "memory") 1) (func (export "alloc") (param i32) (result i32) (i32.const 0))
        (func (export "run") (param i32 i32) (result i64) (i64.const 0)))`),
      limits: FUEL, kind: 'forbidden-import', message: /env\.seed/,
    },
    {
      name: 'imported memory and global',
      module: () => wat(`(module (import "env" "memory" (memory 1)) (import "env" "g" (global i32))
        (export "memory" (memory 0)) (func (export "alloc") (param i32) (result i32) (i32.const 0))
        (func (export "run") (param i32 i32) (result i64) (i64.const 0)))`),
      limits: FUEL, kind: 'forbidden-import',
    },
    { name: 'output pointer outside memory', module: () => abiModule('(i64.const 0x7fff000000000010)'), limits: FUEL, kind: 'bad-output' },
    { name: 'output running past the end of memory', module: () => abiModule('(i64.or (i64.shl (i64.const 65530) (i64.const 32)) (i64.const 100))'), limits: FUEL, kind: 'bad-output' },
    { name: 'bytes that are not wasm', module: () => new TextEncoder().encode('#!/bin/sh\nrm -rf /\n'), limits: FUEL, kind: 'invalid-module' },
    { name: 'empty module bytes', module: () => new Uint8Array(0), limits: FUEL, kind: 'invalid-module' },
    { name: 'valid wasm without the ABI exports', module: () => wat('(module (memory (export "memory") 1))'), limits: FUEL, kind: 'invalid-module', message: /alloc/ },
    { name: 'export name reserved for the runtime', module: () => abiModule('(i64.const 0)', '(func (export "__swarmlet_fuel") (result i64) (i64.const 9))'), limits: FUEL, kind: 'invalid-module' },
    { name: 'explicit unreachable', module: () => abiModule('(unreachable)'), limits: FUEL, kind: 'trap' },
    { name: 'abort with a message', module: () => abiModule('(call $abort (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 2)) (i64.const 0)'), limits: FUEL, kind: 'trap', message: /abort/ },
    { name: 'instruction outside ABI v1 (SIMD)', module: () => abiModule('(drop (i32x4.add (v128.const i32x4 1 2 3 4) (v128.const i32x4 1 2 3 4))) (i64.const 0)'), limits: FUEL, kind: 'invalid-module' },
  ];

  for (const c of cases) {
    it(`${c.name} -> ${c.kind}`, async () => {
      const o = await pool.run(c.module(), new Uint8Array([1, 2, 3]), c.limits);
      assert.equal(o.ok, false);
      if (o.ok) return;
      assert.equal(o.error.kind, c.kind, o.error.message);
      if (c.message) assert.match(o.error.message, c.message);
      assert.ok(Number.isSafeInteger(o.fuel) && o.fuel >= 0);
      if (c.kind === 'fuel-exhausted') assert.equal(o.fuel, c.limits.fuel);
      await stillWorks();
    });
  }

  it('a truncated module (every cut of a real task) is refused as invalid-module', async () => {
    const full = cat.byName('sha256')!.wasm;
    for (const cut of [1, 4, 8, 9, 20, Math.floor(full.length / 2), full.length - 1]) {
      const o = await pool.run(full.subarray(0, cut), new Uint8Array(0));
      assert.equal(!o.ok && o.error.kind, 'invalid-module', `cut at ${cut}`);
    }
    await stillWorks();
  });

  it('several hostile tasks at once, interleaved with real ones, all end with their kinds', async () => {
    const loop = abiModule('(loop $l (br $l)) (i64.const 0)');
    const rec = abiModule('(call $r) (i64.const 0)', '(func $r (call $r))');
    const sha = cat.byName('sha256')!.wasm;
    const runs = await Promise.all([
      pool.run(loop, new Uint8Array(0), HUGE_FUEL),
      pool.run(rec, new Uint8Array(0), FUEL),
      pool.run(sha, new Uint8Array([1])),
      pool.run(loop, new Uint8Array(0), FUEL),
      pool.run(sha, new Uint8Array([2])),
    ]);
    assert.deepEqual(runs.map((r) => (r.ok ? 'ok' : r.error.kind)), ['timeout', 'trap', 'ok', 'fuel-exhausted', 'ok']);
    await stillWorks();
  });

  for (const c of HOSTILE_CASES.filter((h) => !h.heavy)) {
    it(`${c.cls}: ${c.name} -> ${c.kind}`, async () => {
      const o = await pool.run(c.module(), new Uint8Array([1, 2, 3]), c.limits);
      assert.equal(o.ok ? 'ok' : o.error.kind, c.kind, !o.ok ? o.error.message : '');
      if (c.message && !o.ok) assert.match(o.error.message, c.message);
      assert.ok(Number.isSafeInteger(o.fuel) && o.fuel >= 0);
      if (c.kind === 'fuel-exhausted') assert.equal(o.fuel, c.limits.fuel);
      await stillWorks();
    });
  }

  it('admission at and past the nesting limit: the same in a fresh process as in a warm one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmlet-nest-'));
    try {
      const deepest = Math.floor(STATIC_LIMITS.nesting / 2) - 1;
      const modules: [string, Uint8Array, string][] = [
        ['deepest blocks', nestedBlocks(deepest), 'ok'],
        ['deepest sum', deepSum(STATIC_LIMITS.nesting - 4), 'ok'],
        ['blocks one deeper than allowed', nestedBlocks(deepest + 1), 'invalid-module'],
      ];
      for (const [name, wasm, kind] of modules) {
        const file = join(dir, 'm.wasm');
        writeFileSync(file, wasm);
        // A fresh process: this module is the first thing its instrumenter ever sees.
        const r = spawnSync(process.execPath, [MAIN, 'task', 'run', file, '--json'], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, SWARMLET_LOG_LEVEL: 'warn' } });
        const fresh = JSON.parse(r.stdout) as { ok: boolean; error?: { kind: string; message: string }; fuel: number };
        assert.equal(fresh.ok ? 'ok' : fresh.error!.kind, kind, `${name}, fresh: ${r.stdout}`);
        const warm = await pool.run(wasm, new Uint8Array(0));
        assert.equal(warm.ok ? 'ok' : warm.error.kind, kind, `${name}, warm`);
        assert.equal(warm.fuel, fresh.fuel, name);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
