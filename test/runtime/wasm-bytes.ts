/**
 * Hand-assembled wasm binaries, for modules binaryen will not write (a 10M-entry table in
 * 100 bytes, a 1 MB function, a v128 local no instruction uses, proposals it lowers).
 */
export const leb = (n: number): number[] => {
  const out: number[] = [];
  let v = BigInt(n);
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) b |= 0x80;
    out.push(b);
  } while (v !== 0n);
  return out;
};
export const sleb = (n: number): number[] => {
  const out: number[] = [];
  let v = BigInt(n);
  for (;;) {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    const done = (v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0);
    out.push(done ? b : b | 0x80);
    if (done) return out;
  }
};
export const str = (s: string) => { const b = [...Buffer.from(s)]; return [...leb(b.length), ...b]; };
export const section = (id: number, body: number[]) => [id, ...leb(body.length), ...body];
export const vec = (items: number[][]) => [...leb(items.length), ...items.flat()];

export const I32 = 0x7f, I64 = 0x7e, V128 = 0x7b;
/** Types every module made here has: 0 alloc (i32)->i32, 1 run (i32 i32)->i64, 2 abort, 3 ()->(). */
export const T_VOID = 3;

export interface Func { type: number; locals?: [count: number, type: number][]; body: number[] }

export interface AbiBytes {
  /** Body of run (i32 $p, i32 $n) -> i64, without the final `end`. */
  run: number[];
  runLocals?: [number, number][];
  /** More functions, indices 3, 4, ... (0 is the abort import, 1 alloc, 2 run). */
  funcs?: Func[];
  /** More function types, indices 4, 5, ..., as raw entries (0x60 ...). */
  types?: number[][];
  /** Raw section payloads. */
  table?: number[];
  globals?: number[];
  elem?: number[];
  data?: number[];
  dataCount?: number;
  extraSections?: number[][];
  /** More export entries, raw (name, kind, index). */
  exports?: number[][];
}

export function abiBytes(m: AbiBytes): Uint8Array {
  const types = [[0x60, 1, I32, 1, I32], [0x60, 2, I32, I32, 1, I64], [0x60, 4, I32, I32, I32, I32, 0], [0x60, 0, 0], ...(m.types ?? [])];
  const funcs = m.funcs ?? [];
  const body = (locals: [number, number][], code: number[]) => {
    const b = [...vec(locals.map(([n, t]) => [...leb(n), t])), ...code, 0x0b];
    return [...leb(b.length), ...b];
  };
  const out = [
    0, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, vec(types)),
    ...section(2, vec([[...str('env'), ...str('abort'), 0, 2]])),
    ...section(3, vec([[0], [1], ...funcs.map((f) => leb(f.type))])),
    ...(m.table ? section(4, m.table) : []),
    ...section(5, [1, 0, 1]),
    ...(m.globals ? section(6, m.globals) : []),
    ...section(7, vec([[...str('memory'), 2, 0], [...str('alloc'), 0, 1], [...str('run'), 0, 2], ...(m.exports ?? [])])),
    ...(m.elem ? section(9, m.elem) : []),
    ...(m.dataCount !== undefined ? section(12, leb(m.dataCount)) : []),
    ...section(10, vec([body([], [0x41, ...sleb(1024)]), body(m.runLocals ?? [], m.run), ...funcs.map((f) => body(f.locals ?? [], f.body))])),
    ...(m.data ? section(11, m.data) : []),
    ...(m.extraSections ?? []).flat(),
  ];
  return new Uint8Array(out);
}

/** `i64.const 0`: what run leaves when it returns nothing in particular. */
export const RET0 = [0x42, 0];
/** A table section with one funcref table of `n` entries. */
export const tableOf = (n: number) => vec([[0x70, 0, ...leb(n)]]);
/** An element section: one active segment at `offset` holding function `f` `count` times. */
export const elemAt = (offset: number, f: number, count: number) => vec([[0, 0x41, ...sleb(offset), 0x0b, ...leb(count), ...Array.from({ length: count }, () => leb(f)).flat()]]);
/** A call to function `f`. */
export const call = (f: number) => [0x10, ...leb(f)];
