/**
 * Fuel metering by rewriting the module with binaryen (done once per module hash, cached).
 *
 * Cost model (deterministic, static): every expression node except a block costs 1. A
 * function charges, at entry, the cost of its body outside any loop; a loop charges, at the
 * top of every iteration, the cost of its body outside nested loops. Charging per loop
 * iteration with the body's static cost (rather than per block) keeps the metered code within
 * a few percent of the original; branches not taken are still paid for, which is fine: the
 * number only has to be the same everywhere, and it is, because it depends only on the code
 * and the path through loops and calls.
 *
 * The rewritten module:
 * - keeps fuel in a private mutable i64 global; a charge subtracts and traps (`unreachable`)
 *   below zero, so the host sees fuel < 0 after a trap and reports 'fuel-exhausted';
 * - exports __swarmlet_init(fuel i64, capPages i32), __swarmlet_fuel() -> i64 and
 *   __swarmlet_grow_failed() -> i32;
 * - routes every memory.grow delta through a check against the page cap that records a
 *   refusal (so a trap after a refused grow is reported as 'memory-limit');
 * - moves the start function to the export __swarmlet_start, so the budget is set before
 *   it runs (a start function runs inside instantiation) and it is metered like the rest;
 * - imports its memory as swarmlet.memory, so the host creates it with `maximum` = the cap.
 */
import type binaryenNs from 'binaryen';

type Binaryen = typeof binaryenNs;
type Module = binaryenNs.Module;
type Ref = number;

export const METER = {
  init: '__swarmlet_init',
  fuel: '__swarmlet_fuel',
  growFailed: '__swarmlet_grow_failed',
  start: '__swarmlet_start',
  memoryModule: 'swarmlet',
  memoryName: 'memory',
} as const;

const G_FUEL = '__swarmlet_g_fuel';
const G_CAP = '__swarmlet_g_cap';
const G_GROW = '__swarmlet_g_grow_failed';
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
  const mod = binaryen.readBinary(bytes);
  try {
    return rewrite(binaryen, mod);
  } finally {
    mod.dispose();
  }
}

function rewrite(b: Binaryen, mod: Module): Instrumented {
  const F = b.Features;
  mod.setFeatures(F.MVP | F.MutableGlobals | F.NontrappingFPToInt | F.BulkMemory | F.BulkMemoryOpt | F.SignExt | F.CallIndirectOverlong | F.Multivalue);
  const i64 = b.i64, i32 = b.i32;

  const charge = (cost: number): Ref =>
    mod.block(null, [
      mod.global.set(G_FUEL, mod.i64.sub(mod.global.get(G_FUEL, i64), mod.i64.const(BigInt(cost) as never))),
      mod.if(mod.i64.lt_s(mod.global.get(G_FUEL, i64), mod.i64.const(0n as never)), mod.unreachable()),
    ], b.none);

  // binaryen.js's per-expression accessor classes (Block.getChildAt, Loop.setBody, ...) are
  // not in its type declarations.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const x = b as unknown as Record<string, Record<string, (...args: any[]) => any>>;
  let loops = 0;
  const id = b;
  // Walk an expression: returns its static cost outside nested loops, instrumenting loops
  // and memory.grow on the way. Unknown expression kinds are refused: an unwalked subtree
  // could hide an unmetered loop.
  const walk = (e: Ref): number => {
    if (!e) return 0;
    const k = b.getExpressionId(e);
    // SIMD is outside ABI v1 (some of it would pass below as plain Binary/Const nodes).
    if (b.getExpressionType(e) === b.v128) throw new UnsupportedModuleError('SIMD (v128) is outside ABI v1');
    switch (k) {
      case id.BlockId: {
        let c = 0;
        for (let i = 0, n = x.Block.getNumChildren(e); i < n; i++) c += walk(x.Block.getChildAt(e, i));
        return c;
      }
      case id.LoopId: {
        const body = x.Loop.getBody(e);
        const inner = walk(body) + 1;
        x.Loop.setBody(e, mod.block(null, [charge(inner), body], b.auto));
        loops++;
        return 1;
      }
      case id.IfId: return 1 + walk(x.If.getCondition(e)) + walk(x.If.getIfTrue(e)) + walk(x.If.getIfFalse(e));
      case id.BreakId: return 1 + walk(x.Break.getCondition(e)) + walk(x.Break.getValue(e));
      case id.SwitchId: return 1 + walk(x.Switch.getCondition(e)) + walk(x.Switch.getValue(e));
      case id.CallId: {
        if (x.Call.isReturn(e)) throw new UnsupportedModuleError('tail calls are outside ABI v1');
        let c = 1;
        for (let i = 0, n = x.Call.getNumOperands(e); i < n; i++) c += walk(x.Call.getOperandAt(e, i));
        return c;
      }
      case id.CallIndirectId: {
        if (x.CallIndirect.isReturn(e)) throw new UnsupportedModuleError('tail calls are outside ABI v1');
        let c = 1 + walk(x.CallIndirect.getTarget(e));
        for (let i = 0, n = x.CallIndirect.getNumOperands(e); i < n; i++) c += walk(x.CallIndirect.getOperandAt(e, i));
        return c;
      }
      case id.LocalSetId: return 1 + walk(x.LocalSet.getValue(e));
      case id.GlobalSetId: return 1 + walk(x.GlobalSet.getValue(e));
      case id.LoadId: return 1 + walk(x.Load.getPtr(e));
      case id.StoreId: return 1 + walk(x.Store.getPtr(e)) + walk(x.Store.getValue(e));
      case id.UnaryId: return 1 + walk(x.Unary.getValue(e));
      case id.BinaryId: return 1 + walk(x.Binary.getLeft(e)) + walk(x.Binary.getRight(e));
      case id.SelectId: return 1 + walk(x.Select.getIfTrue(e)) + walk(x.Select.getIfFalse(e)) + walk(x.Select.getCondition(e));
      case id.DropId: return 1 + walk(x.Drop.getValue(e));
      case id.ReturnId: return 1 + walk(x.Return.getValue(e));
      case id.MemoryGrowId: {
        const delta = x.MemoryGrow.getDelta(e);
        const c = 1 + walk(delta);
        x.MemoryGrow.setDelta(e, mod.call(F_GROW_CHECK, [delta], i32));
        return c;
      }
      case id.MemoryInitId: return 1 + walk(x.MemoryInit.getDest(e)) + walk(x.MemoryInit.getOffset(e)) + walk(x.MemoryInit.getSize(e));
      case id.MemoryCopyId: return 1 + walk(x.MemoryCopy.getDest(e)) + walk(x.MemoryCopy.getSource(e)) + walk(x.MemoryCopy.getSize(e));
      case id.MemoryFillId: return 1 + walk(x.MemoryFill.getDest(e)) + walk(x.MemoryFill.getValue(e)) + walk(x.MemoryFill.getSize(e));
      case id.ConstId: case id.LocalGetId: case id.GlobalGetId: case id.MemorySizeId:
      case id.NopId: case id.UnreachableId: case id.DataDropId:
        return 1;
      default:
        throw new UnsupportedModuleError(`instruction kind ${k} is outside ABI v1 (MVP, bulk memory, sign-ext, non-trapping float-to-int, multi-value)`);
    }
  };

  // Meter every function the module defines (collected first: we add functions below).
  const funcs: Ref[] = [];
  for (let i = 0, n = mod.getNumFunctions(); i < n; i++) {
    const f = mod.getFunctionByIndex(i);
    if (!b.getFunctionInfo(f).module) funcs.push(f);
  }
  for (const f of funcs) {
    const body = x.Function.getBody(f);
    const cost = walk(body) + 1;
    x.Function.setBody(f, mod.block(null, [charge(cost), body], b.auto));
  }

  // Runtime globals and helpers.
  mod.addGlobal(G_FUEL, i64, true, mod.i64.const(0n as never));
  mod.addGlobal(G_CAP, i32, true, mod.i32.const(0));
  mod.addGlobal(G_GROW, i32, true, mod.i32.const(0));
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
  ], b.none));
  mod.addFunction(METER.fuel, b.none, i64, [], mod.global.get(G_FUEL, i64));
  mod.addFunction(METER.growFailed, b.none, i32, [], mod.global.get(G_GROW, i32));
  mod.addFunctionExport(METER.init, METER.init);
  mod.addFunctionExport(METER.fuel, METER.fuel);
  mod.addFunctionExport(METER.growFailed, METER.growFailed);

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
