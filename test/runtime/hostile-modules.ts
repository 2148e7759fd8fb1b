/**
 * The hostile modules of issue 12's classes, generated here (binaryen text or hand-assembled
 * bytes), shared by the tests (hostile.test.ts, the fuel probe run with Liftoff on
 * and off) and bench/sandbox (time and peak memory per case).
 */
import { STATIC_LIMITS } from '../../agent/runtime/static-limits.js';
import type { RunLimits } from '../../agent/runtime/types.js';
import { abiModule, wat } from './wat.js';
import { abiBytes, call, elemAt, I32, leb, RET0, sleb, tableOf, T_VOID, V128, type Func } from './wasm-bytes.js';

export interface HostileCase {
  /** Issue 12's class: tables, compile, bulk-memory, stack, nesting, features. */
  cls: string;
  name: string;
  module: () => Uint8Array;
  limits: Partial<RunLimits>;
  /** 'ok' or the failure kind. */
  kind: string;
  message?: RegExp;
  /** Slow to prepare (seconds): the benchmark runs it, the tests run a smaller twin. */
  heavy?: boolean;
}

const L = STATIC_LIMITS;
const FUEL = { fuel: 50_000_000, memoryPages: 16, timeoutMs: 30_000 };
const NO_FUEL_LIMIT = { fuel: Number.MAX_SAFE_INTEGER, memoryPages: 16, timeoutMs: 1_000 };

/** A function of `loops` loops padded with arithmetic to about `bytes` (every loop runs once). */
export function fatLoops(loops: number, bytes: number): Func {
  const body: number[] = [];
  const per = Math.floor(bytes / loops);
  for (let k = 0, i = 0; k < loops; k++) {
    const start = body.length;
    body.push(0x03, 0x40);
    for (; body.length - start < per - 8; i++) body.push(0x20, ...leb(1 + (i % 64)), 0x20, ...leb(1 + ((i * 7) % 64)), 0x6c, 0x21, ...leb(1 + ((i + 1) % 64)));
    body.push(0x20, 0, 0x0d, 0, 0x0b); // br_if 0 on local 0, which stays 0
  }
  return { type: T_VOID, locals: [[65, I32]], body };
}

/** `n` functions at the size and loop limits; run calls each once, then loops forever. */
export function compileHeavy(n: number): Uint8Array {
  const funcs = Array.from({ length: n }, () => fatLoops(L.loops, L.functionBytes - 2048));
  const run = [...funcs.flatMap((_, i) => call(3 + i)), 0x03, 0x40, 0x0c, 0, 0x0b, ...RET0];
  return abiBytes({ run, funcs });
}

/** `n` times: if ($p) { local_k = local_k' + 1 } (many small blocks: slow to optimise in one function). */
const ifs = (n: number) => Array.from({ length: n }, (_, i) => [0x20, 0, 0x04, 0x40, 0x20, 2 + (i % 64), 0x41, 1, 0x6a, 0x21, 2 + ((i + 1) % 64), 0x0b]).flat();

/** run's body is `depth` blocks nested in each other. */
export const nestedBlocks = (depth: number) => abiBytes({ run: [...Array.from({ length: depth }, () => [0x02, 0x40]).flat(), ...new Array<number>(depth).fill(0x0b), ...RET0] });
/** run's body computes 1 + 1 + ... (`depth` additions, a left-deep tree) and drops it. */
export const deepSum = (depth: number) => abiBytes({ run: [0x41, 1, ...Array.from({ length: depth }, () => [0x41, 1, 0x6a]).flat(), 0x1a, ...RET0] });

/** Recursion through a function with `locals` i64 locals live across the call. */
function recursionWithLocals(locals: number): Uint8Array {
  let set = '', use = '', decl = '';
  for (let i = 0; i < locals; i++) {
    decl += ` (local $l${i} i64)`;
    set += ` (local.set $l${i} (i64.extend_i32_u (global.get $g)))`;
    use += ` (global.set $h (i64.add (global.get $h) (local.get $l${i})))`;
  }
  return abiModule('(call $r) (i64.const 0)', `(global $g (mut i32) (i32.const 1)) (global $h (mut i64) (i64.const 0))
    (func $r ${decl} ${set} (global.set $g (i32.add (global.get $g) (i32.const 1))) (call $r) ${use})`);
}

/** Recursion with `height` operands on the stack across the call. */
function recursionWithOperands(height: number): Uint8Array {
  const open = ' (i64.add (global.get $h)'.repeat(height);
  return abiModule('(call $r) (i64.const 0)', `(global $h (mut i64) (i64.const 1))
    (func $r (global.set $h ${open} (block (result i64) (call $r) (global.get $h)) ${')'.repeat(height)}))`);
}

const bigData = 'a'.repeat(65_536);

export const HOSTILE_CASES: HostileCase[] = [
  // 1. Tables and element segments are bounded before V8 allocates them.
  { cls: 'tables', name: 'funcref table of 10M entries', module: () => abiBytes({ run: RET0, table: tableOf(10_000_000) }), limits: FUEL, kind: 'invalid-module', message: /table of 10000000 entries/ },
  {
    cls: 'tables', name: 'element segment at entry 9,999,999 of a 10M table',
    module: () => abiBytes({ run: RET0, table: tableOf(10_000_000), elem: elemAt(9_999_999, 3, 1), funcs: [{ type: T_VOID, body: [] }] }),
    limits: FUEL, kind: 'invalid-module', message: /table of/,
  },
  {
    cls: 'tables', name: 'element segment over the entry limit',
    module: () => abiBytes({ run: RET0, table: tableOf(L.tableEntries), elem: elemAt(0, 3, L.elementEntries + 1), funcs: [{ type: T_VOID, body: [] }] }),
    limits: FUEL, kind: 'invalid-module', message: /element entries/,
  },
  {
    cls: 'tables', name: 'table at the limit, filled, called through its last entry',
    module: () => abiBytes({ run: [0x41, ...sleb(L.tableEntries - 1), 0x11, T_VOID, 0, ...RET0], table: tableOf(L.tableEntries), elem: elemAt(0, 3, L.tableEntries), funcs: [{ type: T_VOID, body: [] }] }),
    limits: FUEL, kind: 'ok',
  },
  // 2. Compile bombs are refused by size; what is admitted compiles one function at a time.
  { cls: 'compile', name: 'one 1 MB function of ifs (a compile bomb)', module: () => abiBytes({ run: [...ifs(83_000), ...RET0], runLocals: [[64, I32]] }), limits: { ...FUEL, timeoutMs: 5_000 }, kind: 'invalid-module', message: /function body of/ },
  { cls: 'compile', name: `${L.loops + 1} loops in one function`, module: () => abiBytes({ run: [...Array.from({ length: L.loops + 1 }, () => [0x03, 0x40, 0x0b]).flat(), ...RET0] }), limits: FUEL, kind: 'invalid-module', message: /loops/ },
  { cls: 'compile', name: '2 functions at the size and loop limits, then a loop: deadline', module: () => compileHeavy(2), limits: { ...NO_FUEL_LIMIT, timeoutMs: 5_000 }, kind: 'timeout' },
  { cls: 'compile', name: '15 functions at the size and loop limits (1 MB), then a loop: deadline', module: () => compileHeavy(15), limits: { ...NO_FUEL_LIMIT, timeoutMs: 10_000 }, kind: 'timeout', heavy: true },
  // 3. Bulk memory costs a unit per byte.
  {
    cls: 'bulk-memory', name: 'memory.copy of 8 MiB in a loop',
    module: () => abiModule('(drop (memory.grow (i32.const 255))) (loop $l (memory.copy (i32.const 0) (i32.const 8388608) (i32.const 8388608)) (br $l)) (i64.const 0)'),
    limits: { fuel: 2_000_000_000, memoryPages: 256, timeoutMs: 30_000 }, kind: 'fuel-exhausted',
  },
  {
    cls: 'bulk-memory', name: 'memory.fill of 8 MiB in a loop',
    module: () => abiModule('(drop (memory.grow (i32.const 127))) (loop $l (memory.fill (i32.const 0) (i32.const 7) (i32.const 8388608)) (br $l)) (i64.const 0)'),
    limits: { fuel: 1_000_000_000, memoryPages: 128, timeoutMs: 30_000 }, kind: 'fuel-exhausted',
  },
  {
    cls: 'bulk-memory', name: 'memory.init of 64 KiB in a loop',
    module: () => abiModule('(loop $l (memory.init $d (i32.const 0) (i32.const 0) (i32.const 65536)) (br $l)) (i64.const 0)', `(data $d "${bigData}")`, '(memory (export "memory") 2)'),
    limits: FUEL, kind: 'fuel-exhausted',
  },
  { cls: 'bulk-memory', name: 'memory.copy of 4 GiB (charged before it runs)', module: () => abiModule('(memory.copy (i32.const 0) (i32.const 0) (i32.const -1)) (i64.const 0)'), limits: FUEL, kind: 'fuel-exhausted' },
  { cls: 'bulk-memory', name: 'memory.copy out of bounds with fuel for it', module: () => abiModule('(memory.copy (i32.const 0) (i32.const 0) (i32.const -1)) (i64.const 0)'), limits: { ...FUEL, fuel: 10_000_000_000 }, kind: 'trap' },
  // 4. The call stack is metered: the same trap at the same fuel on every tier.
  { cls: 'stack', name: 'unbounded recursion', module: () => abiModule('(call $r) (i64.const 0)', '(func $r (call $r))'), limits: FUEL, kind: 'trap', message: /call stack exhausted/ },
  {
    cls: 'stack', name: 'unbounded recursion through a table',
    module: () => abiModule('(call_indirect (type $t) (i32.const 0)) (i64.const 0)', '(type $t (func)) (table 1 funcref) (elem (i32.const 0) $r) (func $r (type $t) (call_indirect (type $t) (i32.const 0)))'),
    limits: FUEL, kind: 'trap', message: /call stack exhausted/,
  },
  { cls: 'stack', name: 'mutual recursion', module: () => abiModule('(call $a) (i64.const 0)', '(func $a (call $b)) (func $b (call $a))'), limits: FUEL, kind: 'trap', message: /call stack exhausted/ },
  { cls: 'stack', name: 'recursion with 990 live i64 locals', module: () => recursionWithLocals(990), limits: FUEL, kind: 'trap', message: /call stack exhausted/ },
  { cls: 'stack', name: 'recursion with 900 operands on the stack', module: () => recursionWithOperands(900), limits: FUEL, kind: 'trap', message: /call stack exhausted/ },
  { cls: 'stack', name: 'recursion in the start function', module: () => abiModule('(i64.const 0)', '(func $s (call $s)) (start $s)'), limits: FUEL, kind: 'trap', message: /call stack exhausted/ },
  // 5. Nesting is bounded statically, so admission does not depend on a warm JIT.
  { cls: 'nesting', name: `blocks nested ${Math.floor(L.nesting / 2) - 2} deep`, module: () => nestedBlocks(Math.floor(L.nesting / 2) - 2), limits: FUEL, kind: 'ok' },
  { cls: 'nesting', name: `a sum ${L.nesting - 4} deep`, module: () => deepSum(L.nesting - 4), limits: FUEL, kind: 'ok' },
  { cls: 'nesting', name: `blocks nested ${L.nesting + 1} deep`, module: () => nestedBlocks(L.nesting + 1), limits: FUEL, kind: 'invalid-module', message: /nested deeper/ },
  { cls: 'nesting', name: 'a sum 20,000 deep', module: () => deepSum(20_000), limits: FUEL, kind: 'invalid-module', message: /nested deeper/ },
  // 6. The feature rules as tasks/README.md writes them.
  { cls: 'features', name: 'a v128 local no instruction uses', module: () => abiBytes({ run: RET0, runLocals: [[1, V128]] }), limits: FUEL, kind: 'invalid-module', message: /SIMD/ },
  { cls: 'features', name: 'a v128 parameter in a type', module: () => abiBytes({ run: RET0, types: [[0x60, 1, V128, 0]] }), limits: FUEL, kind: 'invalid-module', message: /SIMD/ },
  { cls: 'features', name: 'a multi-value block type', module: () => abiBytes({ run: [0x02, 4, 0x41, 1, 0x0b, 0x1a, ...RET0], types: [[0x60, 0, 1, I32]] }), limits: FUEL, kind: 'invalid-module', message: /multi-value/ },
  { cls: 'features', name: 'a function with two results', module: () => abiBytes({ run: RET0, types: [[0x60, 0, 2, I32, I32]], funcs: [{ type: 4, body: [0x41, 1, 0x41, 2] }] }), limits: FUEL, kind: 'invalid-module', message: /multi-value/ },
  { cls: 'features', name: 'an externref global', module: () => abiModule('(i64.const 0)', '(global $g (mut externref) (ref.null extern))'), limits: FUEL, kind: 'invalid-module', message: /reference types/ },
  { cls: 'features', name: 'a tail call', module: () => abiBytes({ run: [...call(3), ...RET0], funcs: [{ type: T_VOID, body: [0x12, 3] }] }), limits: FUEL, kind: 'invalid-module', message: /tail calls/ },
  { cls: 'features', name: 'an atomic load', module: () => abiBytes({ run: [0x41, 0, 0xfe, 0x10, 2, 0, 0x1a, ...RET0] }), limits: FUEL, kind: 'invalid-module', message: /threads/ },
  { cls: 'features', name: 'a table.grow', module: () => abiBytes({ run: [0xd0, 0x70, 0x41, 1, 0xfc, 15, 0, 0x1a, ...RET0], table: tableOf(1) }), limits: FUEL, kind: 'invalid-module', message: /reference types|table instructions/ },
  {
    cls: 'features', name: 'function and global names that are the runtime\'s own',
    module: () => wat(`(module (import "env" "abort" (func $abort (param i32 i32 i32 i32))) (memory (export "memory") 1)
      (global $__swarmlet_g_fuel (mut i32) (i32.const 0))
      (func $__swarmlet_grow_check (export "alloc") (param i32) (result i32) (i32.const 1024))
      (func $__swarmlet_init (export "run") (param i32 i32) (result i64) (global.set $__swarmlet_g_fuel (i32.const 1)) (i64.const 0)))`, { names: true }),
    limits: FUEL, kind: 'ok',
  },
];
