/**
 * A small reader for the sections of a wasm binary, for admission: it runs before anything
 * else touches the bytes. Pure JS, linear in the input, throws WasmFormatError on anything
 * malformed (callers map that to 'invalid-module'). Besides imports, exports and memories it
 * reads every count the static limits bound (types, functions, tables, element and data
 * segments, globals, function bodies) and notes the first feature outside ABI v1 or limit
 * passed in `refused`, checking a count before looping over it. It does not validate: that
 * is WebAssembly.validate's job, after the limits. Function bodies are read by wasm-code.ts.
 */
import { STATIC_LIMITS, type StaticLimits } from './static-limits.js';

export class WasmFormatError extends Error {
  override readonly name = 'WasmFormatError';
}

export type ExternKind = 'function' | 'table' | 'memory' | 'global' | 'tag';
const KINDS: ExternKind[] = ['function', 'table', 'memory', 'global', 'tag'];

export interface Limits { initial: number; maximum: number | null; shared: boolean; is64: boolean }
export interface FuncType { params: number; results: number }

export interface ModuleInfo {
  imports: { module: string; name: string; kind: ExternKind }[];
  exports: { name: string; kind: ExternKind }[];
  /** Memories defined by the module (imported memories are listed in `imports`). */
  memories: Limits[];
  hasStart: boolean;
  types: FuncType[];
  /** Type index of every function in the index space (imported ones first). */
  funcTypes: number[];
  importedFuncs: number;
  tables: Limits[];
  globals: number;
  elementSegments: number;
  elementEntries: number;
  dataSegments: number;
  /** [start, end) of each function body in the code section (after its size). */
  bodies: { start: number; end: number }[];
  /** [start, end) of each custom section (id, size and payload): dropped before instrumenting. */
  custom: { start: number; end: number }[];
  /** The first feature outside ABI v1 or static limit passed, if any. */
  refused: string | null;
}

/** Numeric value types: i32, i64, f32, f64. */
export const NUM_TYPES = new Set([0x7f, 0x7e, 0x7d, 0x7c]);

/** What a value type byte is, for refusals: SIMD, references, or unknown. */
export function valTypeProblem(t: number): string | null {
  if (NUM_TYPES.has(t)) return null;
  if (t === 0x7b) return 'SIMD (v128) is outside ABI v1';
  if (t >= 0x63 && t <= 0x74) return 'reference types are outside ABI v1';
  return `value type 0x${t.toString(16)} is outside ABI v1`;
}

export class Reader {
  pos: number;
  constructor(readonly b: Uint8Array, start = 0, readonly end = b.length) {
    this.pos = start;
  }
  byte(): number {
    if (this.pos >= this.end) throw new WasmFormatError('unexpected end of module');
    return this.b[this.pos++]!;
  }
  /** Unsigned LEB128 up to 64 bits, as a JS number (exact below 2^53, saturating above). */
  leb(): number {
    let result = 0, mul = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
    throw new WasmFormatError('LEB128 number too long');
  }
  /** Signed LEB128 of at most `bits`, skipped (constants) or read (block types: s33). */
  sleb(bits: number): number {
    let result = 0, mul = 1, b = 0;
    const max = Math.ceil(bits / 7);
    for (let i = 0; ; i++) {
      if (i >= max) throw new WasmFormatError('signed LEB128 number too long');
      b = this.byte();
      result += (b & 0x7f) * mul;
      mul *= 128;
      if ((b & 0x80) === 0) break;
    }
    return b & 0x40 ? result - mul : result;
  }
  skip(n: number): void {
    if (n > this.end - this.pos) throw new WasmFormatError('length runs past the end');
    this.pos += n;
  }
  bytes(n: number): Uint8Array {
    const start = this.pos;
    this.skip(n);
    return this.b.subarray(start, this.pos);
  }
  name(): string {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(this.bytes(this.leb()));
    } catch (e) {
      if (e instanceof WasmFormatError) throw e;
      throw new WasmFormatError('name is not valid UTF-8');
    }
  }
  limits(): Limits {
    const flags = this.byte();
    if (flags > 7) throw new WasmFormatError(`unknown limits flags ${flags}`);
    const initial = this.leb();
    const maximum = flags & 1 ? this.leb() : null;
    return { initial, maximum, shared: (flags & 2) !== 0, is64: (flags & 4) !== 0 };
  }
}

export function readModuleInfo(bytes: Uint8Array, limits: StaticLimits = STATIC_LIMITS): ModuleInfo {
  const r = new Reader(bytes);
  const magic = r.bytes(4);
  if (magic[0] !== 0 || magic[1] !== 0x61 || magic[2] !== 0x73 || magic[3] !== 0x6d) throw new WasmFormatError('not a WebAssembly module (bad magic)');
  const version = r.bytes(4);
  if (version[0] !== 1 || version[1] !== 0 || version[2] !== 0 || version[3] !== 0) throw new WasmFormatError('unsupported WebAssembly version');
  const info: ModuleInfo = {
    imports: [], exports: [], memories: [], hasStart: false, types: [], funcTypes: [], importedFuncs: 0, tables: [],
    globals: 0, elementSegments: 0, elementEntries: 0, dataSegments: 0, bodies: [], custom: [], refused: null,
  };
  const refuse = (why: string) => { info.refused ??= why; };
  /** A count read from the module, checked before anything loops over it. */
  const count = (s: Reader, limit: number, what: string): number => {
    const n = s.leb();
    if (n > limit) {
      refuse(`${n} ${what}, over the limit of ${limit}`);
      s.pos = s.end; // the rest of this section is not read
      return 0;
    }
    return n;
  };
  const valType = (s: Reader) => {
    const t = s.byte();
    const p = valTypeProblem(t);
    if (p) refuse(p);
  };
  // MVP constant expressions only: one constant or global.get, then end.
  const constExpr = (s: Reader) => {
    const op = s.byte();
    if (op === 0x41) s.sleb(32);
    else if (op === 0x42) s.sleb(64);
    else if (op === 0x43) s.skip(4);
    else if (op === 0x44) s.skip(8);
    else if (op === 0x23) s.leb();
    else { refuse('constant expressions other than one constant or global.get are outside ABI v1'); s.pos = s.end; return; }
    if (s.byte() !== 0x0b) { refuse('extended constant expressions are outside ABI v1'); s.pos = s.end; }
  };
  const funcIndices = (s: Reader) => {
    const n = count(s, limits.elementEntries - info.elementEntries, 'element entries in total');
    info.elementEntries += n;
    for (let i = 0; i < n && s.pos < s.end; i++) s.leb();
  };

  while (r.pos < r.end) {
    const sectionStart = r.pos;
    const id = r.byte();
    const size = r.leb();
    if (size > r.end - r.pos) throw new WasmFormatError(`section ${id} runs past the end`);
    const s = new Reader(bytes, r.pos, r.pos + size);
    r.pos += size;
    switch (id) {
      case 0: s.name(); info.custom.push({ start: sectionStart, end: s.end }); break;
      case 1:
        for (let n = count(s, limits.types, 'types'), i = 0; i < n && s.pos < s.end; i++) {
          const form = s.byte();
          if (form !== 0x60) { refuse(`type form 0x${form.toString(16)} (recursive or GC types) is outside ABI v1`); s.pos = s.end; break; }
          const params = count(s, limits.params, 'parameters in a function type');
          if (s.pos >= s.end) break;
          for (let k = 0; k < params; k++) valType(s);
          const results = s.leb();
          if (results > 1) { refuse('multi-value results are outside ABI v1'); s.pos = s.end; break; }
          for (let k = 0; k < results; k++) valType(s);
          info.types.push({ params, results });
        }
        break;
      case 2:
        for (let n = s.leb(), i = 0; i < n; i++) {
          const module = s.name(), name = s.name(), k = s.byte();
          const kind = KINDS[k];
          if (!kind) throw new WasmFormatError(`unknown import kind ${k}`);
          if (kind === 'function') { info.funcTypes.push(s.leb()); info.importedFuncs++; }
          else if (kind === 'table') { s.byte(); s.limits(); }
          else if (kind === 'memory') s.limits();
          else if (kind === 'global') { s.byte(); s.byte(); }
          else { s.byte(); s.leb(); }
          info.imports.push({ module, name, kind });
        }
        break;
      case 3:
        for (let n = count(s, limits.functions, 'functions'), i = 0; i < n; i++) info.funcTypes.push(s.leb());
        break;
      case 4:
        for (let n = s.leb(), i = 0; i < n; i++) {
          const t = s.byte();
          if (t !== 0x70) { refuse(t === 0x40 ? 'tables with initialisers are outside ABI v1' : 'tables of anything but funcref are outside ABI v1 (reference types)'); s.pos = s.end; break; }
          const l = s.limits();
          if (l.is64 || l.shared) refuse('64-bit or shared tables are outside ABI v1');
          if (l.initial > limits.tableEntries) refuse(`a table of ${l.initial} entries, over the limit of ${limits.tableEntries}`);
          info.tables.push(l);
        }
        if (info.tables.length > 1) refuse('more than one table is outside ABI v1 (reference types)');
        break;
      case 5:
        for (let n = s.leb(), i = 0; i < n; i++) info.memories.push(s.limits());
        break;
      case 6:
        for (let n = count(s, limits.globals, 'globals'), i = 0; i < n && s.pos < s.end; i++) {
          valType(s);
          if (s.byte() > 1) throw new WasmFormatError('bad global mutability');
          constExpr(s);
          info.globals++;
        }
        break;
      case 7:
        for (let n = count(s, limits.exports, 'exports'), i = 0; i < n; i++) {
          const name = s.name(), k = s.byte();
          const kind = KINDS[k];
          if (!kind) throw new WasmFormatError(`unknown export kind ${k}`);
          s.leb();
          info.exports.push({ name, kind });
        }
        break;
      case 8: s.leb(); info.hasStart = true; break;
      case 9:
        for (let n = count(s, limits.elementSegments, 'element segments'), i = 0; i < n && s.pos < s.end; i++) {
          const flags = s.leb();
          if (flags > 3) { refuse('element segments given as expressions are outside ABI v1 (reference types)'); s.pos = s.end; break; }
          if (flags === 2 && s.leb() !== 0) refuse('element segments for a table other than 0 are outside ABI v1');
          if (flags === 0 || flags === 2) constExpr(s);
          if (flags !== 0 && s.pos < s.end && s.byte() !== 0x00) refuse('element kinds other than funcref are outside ABI v1');
          if (s.pos < s.end) funcIndices(s);
          info.elementSegments++;
        }
        break;
      case 10:
        for (let n = count(s, limits.functions, 'function bodies'), i = 0; i < n; i++) {
          const len = s.leb();
          const start = s.pos;
          s.skip(len);
          if (len > limits.functionBytes) refuse(`a function body of ${len} bytes, over the limit of ${limits.functionBytes}`);
          info.bodies.push({ start, end: s.pos });
        }
        break;
      case 11:
        for (let n = count(s, limits.dataSegments, 'data segments'), i = 0; i < n && s.pos < s.end; i++) {
          const flags = s.leb();
          if (flags > 2) throw new WasmFormatError(`unknown data segment flags ${flags}`);
          if (flags === 2 && s.leb() !== 0) refuse('data segments for a memory other than 0 are outside ABI v1');
          if (flags !== 1) constExpr(s);
          if (s.pos < s.end) s.skip(s.leb());
          info.dataSegments++;
        }
        break;
      case 12: s.leb(); break;
      case 13: refuse('exceptions (tags) are outside ABI v1'); break;
      default: throw new WasmFormatError(`unknown section id ${id}`);
    }
  }
  return info;
}

/** The module without its custom sections (names, debug info): they do not change what it does. */
export function withoutCustomSections(bytes: Uint8Array, info: ModuleInfo): Uint8Array {
  if (info.custom.length === 0) return bytes;
  const parts: Uint8Array[] = [];
  let at = 0;
  for (const c of info.custom) {
    parts.push(bytes.subarray(at, c.start));
    at = c.end;
  }
  parts.push(bytes.subarray(at));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}
