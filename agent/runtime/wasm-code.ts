/**
 * Reads every function body of a module for admission, in one linear pass per body and
 * without recursion: refuses instructions outside ABI v1 (SIMD, threads, reference types,
 * tail calls, exceptions, multi-value or multi-memory forms, table operations) and measures
 * what the static limits bound: parameters plus locals, the operand stack height and the
 * height of the expression tree binaryen builds from the body (blocks nested in blocks,
 * operands in operands). The stack heights also size each function's frame for the call
 * stack metering in meter.ts. It assumes nothing is valid: WebAssembly.validate runs after.
 */
import { Reader, valTypeProblem, WasmFormatError, type ModuleInfo } from './wasm-sections.js';
import { STATIC_LIMITS, type StaticLimits } from './static-limits.js';

export interface FunctionStats {
  /** Parameters plus declared locals. */
  locals: number;
  /** Highest operand stack. */
  maxStack: number;
  /** Height of the expression tree (the function body is 1). */
  height: number;
  /** Whether it calls anything (a function that does not is only ever the top frame). */
  calls: boolean;
}

export type CodeScan = { ok: true; functions: FunctionStats[] } | { ok: false; refused: string };

// Immediates of the one-byte opcodes this reader accepts.
const NONE = 1, MEMARG = 2, LOCAL = 3, GLOBAL = 4, I32 = 5, I64 = 6, F32 = 7, F64 = 8, MEMIDX = 9;
const IMM = new Uint8Array(256);
const POPS = new Uint8Array(256);
const PUSHES = new Uint8Array(256);
function ops(from: number, to: number, imm: number, pops: number, pushes: number): void {
  for (let op = from; op <= to; op++) { IMM[op] = imm; POPS[op] = pops; PUSHES[op] = pushes; }
}
ops(0x01, 0x01, NONE, 0, 0); // nop
ops(0x1a, 0x1a, NONE, 1, 0); // drop
ops(0x1b, 0x1b, NONE, 3, 1); // select
ops(0x20, 0x20, LOCAL, 0, 1); ops(0x21, 0x21, LOCAL, 1, 0); ops(0x22, 0x22, LOCAL, 1, 1);
ops(0x23, 0x23, GLOBAL, 0, 1); ops(0x24, 0x24, GLOBAL, 1, 0);
ops(0x28, 0x35, MEMARG, 1, 1); // loads
ops(0x36, 0x3e, MEMARG, 2, 0); // stores
ops(0x3f, 0x3f, MEMIDX, 0, 1); ops(0x40, 0x40, MEMIDX, 1, 1); // memory.size, memory.grow
ops(0x41, 0x41, I32, 0, 1); ops(0x42, 0x42, I64, 0, 1); ops(0x43, 0x43, F32, 0, 1); ops(0x44, 0x44, F64, 0, 1);
ops(0x45, 0x45, NONE, 1, 1); ops(0x46, 0x4f, NONE, 2, 1); // i32.eqz, i32 comparisons
ops(0x50, 0x50, NONE, 1, 1); ops(0x51, 0x66, NONE, 2, 1); // i64.eqz, i64/f32/f64 comparisons
ops(0x67, 0x69, NONE, 1, 1); ops(0x6a, 0x78, NONE, 2, 1); // i32 unary, binary
ops(0x79, 0x7b, NONE, 1, 1); ops(0x7c, 0x8a, NONE, 2, 1); // i64
ops(0x8b, 0x91, NONE, 1, 1); ops(0x92, 0x98, NONE, 2, 1); // f32
ops(0x99, 0x9f, NONE, 1, 1); ops(0xa0, 0xa6, NONE, 2, 1); // f64
ops(0xa7, 0xc4, NONE, 1, 1); // conversions, reinterpretations, sign extension

/** Why an opcode this reader does not accept is refused. */
function opcodeProblem(op: number): string {
  if (op === 0xfd) return 'SIMD (v128) is outside ABI v1';
  if (op === 0xfe) return 'threads (atomics) are outside ABI v1';
  if (op === 0x12 || op === 0x13 || op === 0x15) return 'tail calls are outside ABI v1';
  if ((op >= 0x06 && op <= 0x0a) || op === 0x18 || op === 0x19 || op === 0x1f) return 'exceptions are outside ABI v1';
  if (op === 0x1c || op === 0x25 || op === 0x26 || (op >= 0xd0 && op <= 0xd6) || op === 0x14 || op === 0xfb) return 'reference types are outside ABI v1';
  return `instruction 0x${op.toString(16)} is outside ABI v1`;
}

interface Frame { base: number; results: number; inner: number; arms: number; unreachable: boolean; isIf: boolean }

export function scanCode(bytes: Uint8Array, info: ModuleInfo, limits: StaticLimits = STATIC_LIMITS): CodeScan {
  const functions: FunctionStats[] = [];
  const defined = info.funcTypes.length - info.importedFuncs;
  if (info.bodies.length !== defined) return { ok: false, refused: `${info.bodies.length} function bodies for ${defined} functions` };
  for (let f = 0; f < info.bodies.length; f++) {
    const type = info.types[info.funcTypes[info.importedFuncs + f]!];
    const r = scanBody(bytes, info, info.bodies[f]!, type?.params ?? 0, limits);
    if (typeof r === 'string') return { ok: false, refused: `function ${info.importedFuncs + f}: ${r}` };
    functions.push(r);
  }
  return { ok: true, functions };
}

function scanBody(bytes: Uint8Array, info: ModuleInfo, range: { start: number; end: number }, params: number, limits: StaticLimits): FunctionStats | string {
  const r = new Reader(bytes, range.start, range.end);
  let locals = params;
  for (let groups = r.leb(), g = 0; g < groups; g++) {
    const n = r.leb();
    if (n > limits.locals - locals) return `more than ${limits.locals} parameters and locals`;
    locals += n;
    const p = valTypeProblem(r.byte());
    if (p) return p;
  }
  // Each stack entry is the height of the expression tree that left the value.
  const stack: number[] = [];
  const frames: Frame[] = [{ base: 0, results: 0, inner: 0, arms: 0, unreachable: false, isIf: false }];
  let maxStack = 0;
  let loops = 0;
  let calls = false;
  let deepest = 0;
  let frame = frames[0]!;
  const pop = (): number => (stack.length > frame.base ? stack.pop()! : 0);
  /** An instruction taking `pops` operands: its tree's height, noted in the frame. */
  const node = (pops: number): number => {
    let h = 0;
    for (let i = 0; i < pops; i++) h = Math.max(h, pop());
    h += 1;
    if (h > frame.inner) frame.inner = h;
    // Each enclosing block adds 2 to the function's height (see 'end'): a lower bound, to stop early.
    const total = h + 2 * (frames.length - 1) + 1;
    if (total > deepest) deepest = total;
    return h;
  };
  const push = (h: number): string | null => {
    stack.push(h);
    if (stack.length > maxStack) {
      maxStack = stack.length;
      if (maxStack > limits.operandStack) return `an operand stack over ${limits.operandStack} values`;
    }
    return null;
  };
  const leaveUnreachable = () => {
    node(stack.length - frame.base);
    stack.length = frame.base;
    frame.unreachable = true;
  };
  const blockType = (): number | string => {
    const t = r.sleb(33);
    if (t === -64) return 0; // 0x40: no result
    if (t < 0) return valTypeProblem(t + 128) ?? 1;
    return 'multi-value block types are outside ABI v1';
  };
  const open = (results: number, isIf: boolean): string | null => {
    if (frames.length > limits.nesting) return `expressions nested deeper than ${limits.nesting}`;
    frame = { base: stack.length, results, inner: 0, arms: 0, unreachable: false, isIf };
    frames.push(frame);
    return null;
  };
  const zero = (): string | null => (r.leb() === 0 ? null : 'a second memory or table is outside ABI v1');
  const callType = (t: { params: number; results: number } | undefined): string | null => {
    const h = node(t?.params ?? 0);
    return t?.results ? push(h) : null;
  };

  while (r.pos < r.end) {
    const op = r.byte();
    let err: string | null = null;
    const imm = IMM[op]!;
    if (imm !== 0) {
      if (imm === MEMARG) {
        if (r.leb() & 0x40) return 'a second memory is outside ABI v1';
        r.leb();
      } else if (imm === LOCAL || imm === GLOBAL) r.leb();
      else if (imm === I32) r.sleb(32);
      else if (imm === I64) r.sleb(64);
      else if (imm === F32) r.skip(4);
      else if (imm === F64) r.skip(8);
      else if (imm === MEMIDX) err = zero();
      if (err) return err;
      const h = node(POPS[op]!);
      if (PUSHES[op]) err = push(h);
      if (err) return err;
    } else {
      switch (op) {
        case 0x00: leaveUnreachable(); break; // unreachable
        case 0x02: case 0x03: { // block, loop
          if (op === 0x03 && ++loops > limits.loops) return `more than ${limits.loops} loops`;
          const t = blockType();
          if (typeof t === 'string') return t;
          err = open(t, false);
          break;
        }
        case 0x04: { // if
          const t = blockType();
          if (typeof t === 'string') return t;
          const cond = node(1);
          err = open(t, true);
          frame.inner = cond;
          break;
        }
        case 0x05: // else
          if (!frame.isIf || frame.arms > 0) throw new WasmFormatError('else without if');
          node(stack.length - frame.base);
          frame.arms = frame.inner;
          frame.inner = 0;
          stack.length = frame.base;
          frame.unreachable = false;
          break;
        case 0x0b: { // end
          node(stack.length - frame.base);
          const done = frames.pop()!;
          // binaryen may wrap a loop body or an if arm in a block of its own: count one level more.
          const h = Math.max(done.inner, done.arms) + (frames.length > 0 ? 2 : 1);
          if (frames.length === 0) {
            if (h > limits.nesting) return `expressions nested deeper than ${limits.nesting}`;
            if (r.pos !== r.end) throw new WasmFormatError('code after the end of a function body');
            return { locals, maxStack, height: h, calls };
          }
          stack.length = done.base;
          frame = frames[frames.length - 1]!;
          if (h > frame.inner) frame.inner = h;
          if (done.results) err = push(h);
          break;
        }
        case 0x0c: r.leb(); leaveUnreachable(); break; // br
        case 0x0d: r.leb(); node(1); break; // br_if (a label value stays where it is)
        case 0x0e: // br_table
          for (let n = r.leb(), i = 0; i <= n; i++) r.leb();
          leaveUnreachable();
          break;
        case 0x0f: leaveUnreachable(); break; // return
        case 0x10: { // call
          calls = true;
          const idx = r.leb();
          err = callType(info.types[info.funcTypes[idx] ?? -1]);
          break;
        }
        case 0x11: { // call_indirect
          calls = true;
          const t = info.types[r.leb()];
          if (r.leb() !== 0) return 'call_indirect on a table other than 0 is outside ABI v1';
          const target = pop();
          err = callType(t);
          if (target + 1 > frame.inner) frame.inner = target + 1;
          break;
        }
        case 0xfc: { // bulk memory, saturating truncation
          const sub = r.leb();
          if (sub <= 7) err = push(node(1));
          else if (sub === 8) { r.leb(); err = zero(); node(3); } // memory.init
          else if (sub === 9) r.leb(); // data.drop
          else if (sub === 10) { err = zero() ?? zero(); node(3); } // memory.copy
          else if (sub === 11) { err = zero(); node(3); } // memory.fill
          else return sub <= 17 ? 'table instructions are outside ABI v1' : `instruction 0xfc ${sub} is outside ABI v1`;
          break;
        }
        default:
          return opcodeProblem(op);
      }
      if (err) return err;
    }
    if (deepest > limits.nesting) return `expressions nested deeper than ${limits.nesting}`;
  }
  throw new WasmFormatError('function body without an end');
}
