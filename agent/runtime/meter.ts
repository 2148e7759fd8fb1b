/**
 * Fuel metering by rewriting the module with binaryen (done once per module hash, cached).
 *
 * Cost model (deterministic, static): every expression node except a block costs 1. A
 * function charges, at entry, the cost of its body outside any loop; a loop charges, at the
 * top of every iteration, the cost of its body outside nested loops. Charging per loop
 * iteration with the body's static cost (rather than per block) keeps the metered code within
 * a few percent of the original; branches not taken are still paid for, which is fine: the
 * number only has to be the same everywhere, and it is, because it depends only on the code
 * and the path through loops and calls. memory.copy, memory.fill and memory.init also cost
 * one unit per byte of their length, charged after their operands and before they move
 * anything (so a copy past the budget is 'fuel-exhausted' before it runs).
 *
 * Call depth is metered too, so that running out of stack is the same trap at the same fuel
 * on every machine and compiler tier (V8's own stack overflow comes at a depth that depends on
 * frame sizes, which differ between Liftoff and TurboFan and between architectures). Each
 * function has a static frame size in slots (FRAME_BASE + parameters + locals + its highest
 * operand stack); a function that calls takes its frame from a private budget at entry and
 * gives it back on every exit, and traps when the budget would go below zero. Functions that
 * call nothing are only ever the top frame: the budget starts lower by the largest of them.
 * At STACK_SLOTS, V8 used at most about 0.7 MiB of real stack (the largest frames the static
 * limits allow, TurboFan and Liftoff, x64), well inside a pool worker's 4 MiB (pool.ts).
 *
 * The rewritten module:
 * - keeps fuel in a private mutable i64 global, cached in a local of each function so loops
 *   count in a register: the local is loaded from the global at entry and after every call,
 *   and stored back before every call, at every return and on exhaustion. A charge subtracts
 *   and traps (`unreachable`) below zero; the host sees fuel < 0 and reports
 *   'fuel-exhausted'. (After another kind of trap the global may lag the local: the fuel of a
 *   trapped run counts up to the last call or return, still the same on every machine.);
 * - keeps the call stack budget in a private i32 global; below zero after a trap means the
 *   stack ran out (the host reports a 'trap');
 * - exports __swarmlet_init(fuel i64, capPages i32), __swarmlet_fuel() -> i64,
 *   __swarmlet_grow_failed() -> i32 and __swarmlet_stack() -> i32;
 * - routes every memory.grow delta through a check against the page cap that records a
 *   refusal (so a trap after a refused grow is reported as 'memory-limit');
 * - moves the start function to the export __swarmlet_start, so the budget is set before
 *   it runs (a start function runs inside instantiation) and it is metered like the rest;
 * - imports its memory as swarmlet.memory, so the host creates it with `maximum` = the cap.
 *
 * The module is admitted (checkAbi: features, static limits) and stripped of its custom
 * sections before binaryen reads it: names in a name section cannot collide with ours, and
 * the expression trees binaryen and walk() recurse over are bounded (STATIC_LIMITS.nesting).
 */
import type binaryenNs from 'binaryen';
import { checkAbi } from './abi-check.js';
import type { FunctionStats } from './wasm-code.js';
import { withoutCustomSections } from './wasm-sections.js';

type Binaryen = typeof binaryenNs;
type Module = binaryenNs.Module;
type Ref = number;

/**
 * Fuel numbers depend on these rules and on binaryen's reading of the module (binaryen 132,
 * pinned by package-lock). Any change that can move a fuel number bumps this version, so
 * receipts from different metering rules are never compared as equals.
 */
export const METERING_VERSION = 2;

/**
 * Stack slots every frame costs besides the module's own locals and operands: return
 * address, frame pointer, instance, the locals and operands the instrumentation adds.
 */
export const FRAME_BASE = 16;
/** The call stack budget, in slots. */
export const STACK_SLOTS = 65_536;

export const METER = {
  init: '__swarmlet_init',
  fuel: '__swarmlet_fuel',
  growFailed: '__swarmlet_grow_failed',
  stack: '__swarmlet_stack',
  start: '__swarmlet_start',
  memoryModule: 'swarmlet',
  memoryName: 'memory',
} as const;

const G_FUEL = '__swarmlet_g_fuel';
const G_CAP = '__swarmlet_g_cap';
const G_GROW = '__swarmlet_g_grow_failed';
const G_STACK = '__swarmlet_g_stack';
const F_GROW_CHECK = '__swarmlet_grow_check';

export class UnsupportedModuleError extends Error {
  override readonly name = 'UnsupportedModuleError';
}

let loading: Promise<Binaryen> | undefined;
/** binaryen is ESM with top-level await and about 15 MB: load it only when metering. */
export function loadBinaryen(): Promise<Binaryen> {
  return (loading ??= import('binaryen').then((m) => m.default));
}

export interface Instrumented { wasm: Uint8Array; functions: number; loops: number }

export function instrument(binaryen: Binaryen, bytes: Uint8Array): Instrumented {
  const check = checkAbi(bytes);
  if (!check.ok) throw new UnsupportedModuleError(check.message);
  let mod: Module;
  try {
    mod = binaryen.readBinary(withoutCustomSections(bytes, check.info));
  } catch (e) {
    throw new UnsupportedModuleError(`binaryen cannot read the module: ${errorText(e)}`);
  }
  try {
    return rewrite(binaryen, mod, check.functions);
  } finally {
    mod.dispose();
  }
}

/** binaryen.js throws strings and plain objects as well as Errors. */
export function errorText(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === 'string') return e;
  try {
    return JSON.stringify(e) ?? String(e);
  } catch {
    return String(e);
  }
}

function rewrite(b: Binaryen, mod: Module, stats: FunctionStats[]): Instrumented {
  const F = b.Features;
  mod.setFeatures(F.MVP | F.MutableGlobals | F.NontrappingFPToInt | F.BulkMemory | F.BulkMemoryOpt | F.SignExt | F.CallIndirectOverlong);
  const i64 = b.i64, i32 = b.i32;
  // binaryen.js's per-expression accessor classes (Block.getChildAt, Loop.setBody, ...) and
  // _BinaryenFunctionAddVar are not in its type declarations.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const x = b as unknown as Record<string, Record<string, (...args: any[]) => any>>;
  const addVar = (b as unknown as { _BinaryenFunctionAddVar(f: Ref, t: number): number })._BinaryenFunctionAddVar;

  // Per-function state: the fuel local, scratch locals by type, the frame size and whether
  // the function takes it from the stack budget (it calls something).
  let fn = 0;
  let fl = 0;
  let frame = 0;
  let counted = false;
  let temps = new Map<number, number>();
  const temp = (t: number): number => {
    let i = temps.get(t);
    if (i === undefined) temps.set(t, (i = addVar(fn, t)));
    return i;
  };
  const c64 = (n: number | bigint) => mod.i64.const(BigInt(n) as never);
  const store = () => mod.global.set(G_FUEL, mod.local.get(fl, i64));
  const reload = () => mod.local.set(fl, mod.global.get(G_FUEL, i64));
  const check = () => mod.if(mod.i64.lt_s(mod.local.get(fl, i64), c64(0)), mod.block(null, [store(), mod.unreachable()], b.unreachable));
  const charge = (cost: number): Ref => mod.block(null, [mod.local.set(fl, mod.i64.sub(mod.local.get(fl, i64), c64(cost))), check()], b.none);
  /** Charge one unit per byte of a bulk-memory length (`n`, an i32 local). */
  const chargeBytes = (n: number): Ref => mod.block(null, [mod.local.set(fl, mod.i64.sub(mod.local.get(fl, i64), mod.i64.extend_u(mod.local.get(n, i32)))), check()], b.none);
  const stackMove = (delta: number) => mod.global.set(G_STACK, mod.i32.add(mod.global.get(G_STACK, i32), mod.i32.const(delta)));
  /** Leaving the function (return, or falling off the end): hand back the fuel count and the frame. */
  const leave = (): Ref[] => (counted ? [store(), stackMove(frame)] : [store()]);
  /** Evaluate `e` (of type t), then run `after`, then yield e's value. */
  const thenKeep = (e: Ref, t: number, after: Ref[]): Ref => {
    if (t === b.none) return mod.block(null, [e, ...after], b.none);
    const tmp = temp(t);
    return mod.block(null, [mod.local.set(tmp, e), ...after, mod.local.get(tmp, t)], t);
  };
  const notTuple = (t: number) => {
    if (t !== b.none && t !== b.unreachable && b.expandType(t).length > 1) throw new UnsupportedModuleError('multi-value results are outside ABI v1');
  };

  let loops = 0;
  type Set = (r: Ref) => void;
  // Walk an expression: returns its static cost outside nested loops, instrumenting loops,
  // calls, returns and memory.grow on the way (`set` replaces the node in its parent).
  // Unknown expression kinds are refused: an unwalked subtree could hide an unmetered loop.
  const walk = (e: Ref, set: Set): number => {
    if (!e) return 0;
    const k = b.getExpressionId(e);
    // SIMD is outside ABI v1 (some of it would pass below as plain Binary/Const nodes).
    if (b.getExpressionType(e) === b.v128) throw new UnsupportedModuleError('SIMD (v128) is outside ABI v1');
    const kid = (cls: string, field: string) => walk(x[cls]![`get${field}`]!(e), (r) => x[cls]![`set${field}`]!(e, r));
    const kids = (cls: string, what: string, plural: string) => {
      let c = 0;
      for (let i = 0, n = x[cls]![`getNum${plural}`]!(e); i < n; i++) c += walk(x[cls]![`get${what}At`]!(e, i), (r) => x[cls]![`set${what}At`]!(e, i, r));
      return c;
    };
    switch (k) {
      case b.BlockId: return kids('Block', 'Child', 'Children');
      case b.LoopId: {
        const inner = kid('Loop', 'Body') + 1;
        x.Loop!.setBody!(e, mod.block(null, [charge(inner), x.Loop!.getBody!(e)], b.auto));
        loops++;
        return 1;
      }
      case b.CallId: case b.CallIndirectId: {
        const cls = k === b.CallId ? 'Call' : 'CallIndirect';
        if (x[cls]!.isReturn!(e)) throw new UnsupportedModuleError('tail calls are outside ABI v1');
        const c = 1 + (k === b.CallIndirectId ? kid(cls, 'Target') : 0) + kids(cls, 'Operand', 'Operands');
        const t = b.getExpressionType(e);
        notTuple(t);
        // The callee reads and charges the global: hand it our count, take back its own.
        if (t !== b.unreachable) set(mod.block(null, [store(), thenKeep(e, t, [reload()])], t));
        return c;
      }
      case b.ReturnId: {
        const v = x.Return!.getValue!(e);
        const c = 1 + (v ? kid('Return', 'Value') : 0);
        if (!v) set(mod.block(null, [...leave(), e], b.unreachable));
        else {
          const t = b.getExpressionType(x.Return!.getValue!(e));
          if (t !== b.unreachable) x.Return!.setValue!(e, thenKeep(x.Return!.getValue!(e), t, leave()));
        }
        return c;
      }
      case b.IfId: return 1 + kid('If', 'Condition') + kid('If', 'IfTrue') + kid('If', 'IfFalse');
      case b.BreakId: return 1 + kid('Break', 'Condition') + kid('Break', 'Value');
      case b.SwitchId: return 1 + kid('Switch', 'Condition') + kid('Switch', 'Value');
      case b.LocalSetId: return 1 + kid('LocalSet', 'Value');
      case b.GlobalSetId: return 1 + kid('GlobalSet', 'Value');
      case b.LoadId: return 1 + kid('Load', 'Ptr');
      case b.StoreId: return 1 + kid('Store', 'Ptr') + kid('Store', 'Value');
      case b.UnaryId: return 1 + kid('Unary', 'Value');
      case b.BinaryId: return 1 + kid('Binary', 'Left') + kid('Binary', 'Right');
      case b.SelectId: return 1 + kid('Select', 'IfTrue') + kid('Select', 'IfFalse') + kid('Select', 'Condition');
      case b.DropId: return 1 + kid('Drop', 'Value');
      case b.MemoryGrowId: {
        const c = 1 + kid('MemoryGrow', 'Delta');
        x.MemoryGrow!.setDelta!(e, mod.call(F_GROW_CHECK, [x.MemoryGrow!.getDelta!(e)], i32));
        return c;
      }
      case b.MemoryInitId: case b.MemoryCopyId: case b.MemoryFillId: {
        const [cls, a, c] = k === b.MemoryInitId ? ['MemoryInit', 'Dest', 'Offset'] : k === b.MemoryCopyId ? ['MemoryCopy', 'Dest', 'Source'] : ['MemoryFill', 'Dest', 'Value'];
        const cost = 1 + kid(cls, a) + kid(cls, c) + kid(cls, 'Size');
        // The length is the last operand: charge it after all three are evaluated, before the op runs.
        const n = temp(i32);
        x[cls]!.setSize!(e, mod.block(null, [mod.local.set(n, x[cls]!.getSize!(e)), chargeBytes(n), mod.local.get(n, i32)], i32));
        return cost;
      }
      case b.ConstId: case b.LocalGetId: case b.GlobalGetId: case b.MemorySizeId:
      case b.NopId: case b.UnreachableId: case b.DataDropId:
        return 1;
      default:
        throw new UnsupportedModuleError(`instruction kind ${k} is outside ABI v1 (MVP, bulk memory, sign-ext, non-trapping float-to-int)`);
    }
  };

  // Meter every function the module defines (collected first: we add functions below).
  const funcs: Ref[] = [];
  for (let i = 0, n = mod.getNumFunctions(); i < n; i++) {
    const f = mod.getFunctionByIndex(i);
    if (!b.getFunctionInfo(f).module) funcs.push(f);
  }
  if (stats.length !== funcs.length) throw new UnsupportedModuleError(`binaryen read ${funcs.length} functions, admission ${stats.length}`);
  let topFrame = 0;
  for (const [i, f] of funcs.entries()) {
    const st = stats[i]!;
    fn = f;
    temps = new Map();
    fl = addVar(f, i64);
    frame = FRAME_BASE + st.locals + st.maxStack;
    counted = st.calls;
    if (!counted) topFrame = Math.max(topFrame, frame);
    notTuple(x.Function!.getResults!(f));
    let body = x.Function!.getBody!(f);
    const cost = walk(body, (r) => { body = r; }) + 1;
    const t = b.getExpressionType(body);
    const entry = [
      mod.local.set(fl, mod.i64.sub(mod.global.get(G_FUEL, i64), c64(cost))),
      check(),
    ];
    if (counted) {
      entry.push(stackMove(-frame), mod.if(mod.i32.lt_s(mod.global.get(G_STACK, i32), mod.i32.const(0)), mod.block(null, [store(), mod.unreachable()], b.unreachable)));
    }
    // Falling off the end of the body is a return too: store the count back.
    const main = t === b.unreachable ? body : thenKeep(body, t, leave());
    x.Function!.setBody!(f, mod.block(null, [...entry, main], b.auto));
  }
  // The budget a run starts with: the largest frame that calls nothing, and grow_check's, come off the top.
  const stackStart = STACK_SLOTS - topFrame - (FRAME_BASE + 1);

  // Runtime globals and helpers.
  mod.addGlobal(G_FUEL, i64, true, mod.i64.const(0n as never));
  mod.addGlobal(G_CAP, i32, true, mod.i32.const(0));
  mod.addGlobal(G_GROW, i32, true, mod.i32.const(0));
  mod.addGlobal(G_STACK, i32, true, mod.i32.const(stackStart));
  // grow_check(d): pages after growing would pass the cap -> record it and return a delta
  // that always fails (0xFFFFFFFF pages), so memory.grow yields -1 without side effects.
  mod.addFunction(F_GROW_CHECK, i32, i32, [], mod.if(
    mod.i64.gt_u(
      mod.i64.add(mod.i64.extend_u(mod.memory.size()), mod.i64.extend_u(mod.local.get(0, i32))),
      mod.i64.extend_u(mod.global.get(G_CAP, i32))),
    mod.block(null, [mod.global.set(G_GROW, mod.i32.const(1)), mod.i32.const(-1)], i32),
    mod.local.get(0, i32)));
  mod.addFunction(METER.init, b.createType([i64, i32]), b.none, [], mod.block(null, [
    mod.global.set(G_FUEL, mod.local.get(0, i64)),
    mod.global.set(G_CAP, mod.local.get(1, i32)),
    mod.global.set(G_GROW, mod.i32.const(0)),
    mod.global.set(G_STACK, mod.i32.const(stackStart)),
  ], b.none));
  mod.addFunction(METER.fuel, b.none, i64, [], mod.global.get(G_FUEL, i64));
  mod.addFunction(METER.growFailed, b.none, i32, [], mod.global.get(G_GROW, i32));
  mod.addFunction(METER.stack, b.none, i32, [], mod.global.get(G_STACK, i32));
  mod.addFunctionExport(METER.init, METER.init);
  mod.addFunctionExport(METER.fuel, METER.fuel);
  mod.addFunctionExport(METER.growFailed, METER.growFailed);
  mod.addFunctionExport(METER.stack, METER.stack);

  const start = mod.getStart();
  if (start) {
    mod.setStart(0);
    mod.addFunctionExport(b.getFunctionInfo(start).name, METER.start);
  }
  const memExport = b.getExportInfo(mod.getExport('memory'));
  mod.addMemoryImport(memExport.value, METER.memoryModule, METER.memoryName);

  const wasm = mod.emitBinary();
  return { wasm, functions: funcs.length, loops };
}
