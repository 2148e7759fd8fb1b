/**
 * Task input/output layouts: the typed shape of the bytes a task takes and returns. ABI v1
 * keeps bytes opaque; a layout, declared by a catalogue entry or a published module, lets
 * clients write inputs as JSON and read outputs as JSON. A layout is a list of fields,
 * packed in order, little-endian, no padding:
 *
 *   { "name": "m", "type": "u32" }                          one value
 *   { "name": "a", "type": "f32", "count": "m*k" }          an array whose length is the product of earlier fields
 *   { "name": "w", "type": "i8", "count": "*", "group": 16 } the rest of the bytes, as arrays of 16
 *   { "name": "d", "type": "bytes", "count": 32 }           raw bytes (JSON: hex, or {"hex"|"base64"|"text": ...})
 *   { "name": "c", "type": "u8", "count": "*", "enum": ["flat", "rising"] }   values named in JSON
 *
 * In JSON, integers up to 32 bits are numbers, 64-bit ones numbers or decimal strings,
 * floats numbers or "NaN"/"Infinity"/"-Infinity", `utf8` a string. Every error names the
 * field (`a[3]: ...`). Layouts come from operators over the API: everything is bounded.
 */
import * as v from 'valibot';
import { check } from '../util/valid.js';
import { MAX_PAYLOAD_BYTES } from './messages.js';

export class LayoutError extends Error {
  override readonly name = 'LayoutError';
}

const SIZES = { u8: 1, i8: 1, u16: 2, i16: 2, u32: 4, i32: 4, u64: 8, i64: 8, f32: 4, f64: 8 } as const;
type Scalar = keyof typeof SIZES;
const SMALL_INTS: readonly string[] = ['u8', 'i8', 'u16', 'i16', 'u32', 'i32'];
const TYPES = [...Object.keys(SIZES), 'bytes', 'utf8'] as const;
const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,31}$/;
const COUNT = /^(\*|[A-Za-z_][A-Za-z0-9_]{0,31}(\*[A-Za-z_][A-Za-z0-9_]{0,31}){0,3})$/;

const FieldSchema = v.strictObject({
  name: v.pipe(v.string(), v.regex(NAME, 'a field name is 1-32 of A-Z a-z 0-9 _, not starting with a digit')),
  type: v.picklist(TYPES, `type must be one of ${TYPES.join(', ')}`),
  count: v.optional(v.union([
    v.pipe(v.number(), v.safeInteger(), v.minValue(0), v.maxValue(MAX_PAYLOAD_BYTES)),
    v.pipe(v.string(), v.regex(COUNT, 'count is a number, "*" (the rest), or earlier field names joined by * (e.g. "m*k")')),
  ])),
  group: v.optional(v.pipe(v.number(), v.safeInteger(), v.minValue(1), v.maxValue(65536))),
  enum: v.optional(v.pipe(v.array(v.pipe(v.string(), v.regex(NAME, 'an enum name is 1-32 of A-Z a-z 0-9 _'))), v.minLength(1), v.maxLength(256))),
  description: v.optional(v.pipe(v.string(), v.maxLength(256))),
});
const LayoutSchema = v.strictObject({ fields: v.pipe(v.array(FieldSchema), v.maxLength(32)) });
export const TaskLayoutSchema = v.strictObject({ input: LayoutSchema, output: LayoutSchema });

export type Field = v.InferOutput<typeof FieldSchema>;
export type Layout = v.InferOutput<typeof LayoutSchema>;
export type TaskLayout = v.InferOutput<typeof TaskLayoutSchema>;

/** Check a layout's shape and its rules; returns it, or throws a LayoutError naming the field. */
export function parseTaskLayout(raw: unknown, what = 'layout'): TaskLayout {
  const r = check(TaskLayoutSchema, raw);
  if (!r.ok) throw new LayoutError(`${what}.${r.reason}`);
  checkRules(r.value.input, `${what}.input`);
  checkRules(r.value.output, `${what}.output`);
  return r.value;
}

function checkRules(l: Layout, what: string): void {
  const seen = new Map<string, Field>();
  l.fields.forEach((f, i) => {
    const at = `${what}.fields.${i} (${f.name})`;
    if (seen.has(f.name)) throw new LayoutError(`${at}: the name is used twice`);
    const raw = f.type === 'bytes' || f.type === 'utf8';
    if (raw && f.count === undefined) throw new LayoutError(`${at}: ${f.type} needs a count`);
    if (f.group !== undefined && (f.count === undefined || raw)) throw new LayoutError(`${at}: group needs an array of numbers (a count)`);
    if (f.enum && !SMALL_INTS.includes(f.type)) throw new LayoutError(`${at}: enum is for integers of up to 32 bits`);
    if (f.enum && new Set(f.enum).size !== f.enum.length) throw new LayoutError(`${at}: enum names repeat`);
    if (f.count === '*' && i !== l.fields.length - 1) throw new LayoutError(`${at}: only the last field may take the rest ("*")`);
    if (typeof f.count === 'string' && f.count !== '*') {
      for (const ref of f.count.split('*')) {
        const r = seen.get(ref);
        if (!r || r.count !== undefined || !SMALL_INTS.includes(r.type) || r.enum) {
          throw new LayoutError(`${at}: count names ${ref}, which is not an earlier single integer field`);
        }
      }
    }
    seen.set(f.name, f);
  });
}

const elemSize = (f: Field): number => (f.type === 'bytes' || f.type === 'utf8' ? 1 : SIZES[f.type as Scalar]) * (f.group ?? 1);

/** "m u32, a f32[m*k], d bytes[32]": a one-line summary for listings. */
export function describeLayout(l: Layout): string {
  if (l.fields.length === 0) return '(nothing)';
  return l.fields.map((f) => {
    const t = f.enum ? `${f.type}{${f.enum.join('|')}}` : f.type;
    const n = f.count === undefined ? '' : `[${f.count === '*' ? '' : f.count}]${f.group ? `[${f.group}]` : ''}`;
    return `${f.name} ${t}${n}`;
  }).join(', ');
}

// ---- encoding: JSON value -> bytes ------------------------------------------------------

const RANGES: Record<string, [number, number]> = {
  u8: [0, 0xff], i8: [-0x80, 0x7f], u16: [0, 0xffff], i16: [-0x8000, 0x7fff], u32: [0, 0xffffffff], i32: [-0x80000000, 0x7fffffff],
};
const BIG: Record<string, [bigint, bigint]> = { u64: [0n, 2n ** 64n - 1n], i64: [-(2n ** 63n), 2n ** 63n - 1n] };
const SPECIAL: Record<string, number> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity };

function toScalar(f: Field, x: unknown, at: string): number | bigint {
  const bad = (why: string): never => { throw new LayoutError(`${at}: ${why}`); };
  if (f.type in RANGES) {
    let n = x;
    if (typeof x === 'string' && f.enum) {
      n = f.enum.indexOf(x);
      if (n === -1) bad(`expected one of ${f.enum.join(', ')}`);
    }
    const [lo, hi] = RANGES[f.type]!;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < lo || n > hi) bad(`expected an integer from ${lo} to ${hi}${f.enum ? ` or a name (${f.enum.join(', ')})` : ''}`);
    return n as number;
  }
  if (f.type in BIG) {
    const [lo, hi] = BIG[f.type]!;
    let b: bigint | null = null;
    if (typeof x === 'number' && Number.isSafeInteger(x)) b = BigInt(x);
    if (typeof x === 'string' && /^-?\d{1,20}$/.test(x)) b = BigInt(x);
    if (b === null || b < lo || b > hi) bad(`expected a ${f.type} (a safe integer, or a decimal string)`);
    return b!;
  }
  // f32 / f64
  const n = typeof x === 'string' && x in SPECIAL ? SPECIAL[x]! : x;
  if (typeof n !== 'number') return bad('expected a number (or "NaN", "Infinity", "-Infinity")');
  if (f.type === 'f32' && Number.isFinite(n) && !Number.isFinite(Math.fround(n))) bad(`${n} is outside the f32 range`);
  return n;
}

function toBytes(f: Field, x: unknown, at: string): Uint8Array {
  if (f.type === 'utf8') {
    if (typeof x !== 'string') throw new LayoutError(`${at}: expected a string`);
    return new TextEncoder().encode(x);
  }
  const o = (typeof x === 'object' && x !== null && !Array.isArray(x) ? x : null) as Record<string, unknown> | null;
  const keys = o ? Object.keys(o) : [];
  const hex = typeof x === 'string' ? x : keys.length === 1 && typeof o!.hex === 'string' ? o!.hex : null;
  if (hex !== null) {
    if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex)) throw new LayoutError(`${at}: hex must have an even number of hex digits`);
    return new Uint8Array(Buffer.from(hex, 'hex'));
  }
  if (keys.length === 1 && typeof o!.base64 === 'string') {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(o!.base64) || o!.base64.length % 4 !== 0) throw new LayoutError(`${at}: not valid base64`);
    return new Uint8Array(Buffer.from(o!.base64, 'base64'));
  }
  if (keys.length === 1 && typeof o!.text === 'string') return new TextEncoder().encode(o!.text);
  throw new LayoutError(`${at}: expected hex, or one of {"hex": ...}, {"base64": ...}, {"text": ...}`);
}

type Part = { f: Field; values: Array<number | bigint> | Uint8Array };

/** JSON value (an object with the layout's fields) -> the bytes the task reads. */
export function encodeValue(l: Layout, value: unknown, opts: { maxBytes?: number; what?: string } = {}): Uint8Array {
  const what = opts.what ?? 'input';
  const maxBytes = opts.maxBytes ?? MAX_PAYLOAD_BYTES;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new LayoutError(`${what}: expected an object with ${l.fields.map((f) => f.name).join(', ') || 'no fields'}`);
  const obj = value as Record<string, unknown>;
  const extra = Object.keys(obj).find((k) => !l.fields.some((f) => f.name === k));
  if (extra !== undefined) throw new LayoutError(`${what}.${extra.slice(0, 40)}: no such field (fields: ${l.fields.map((f) => f.name).join(', ')})`);
  const ints = new Map<string, number>();
  const parts: Part[] = [];
  let size = 0;
  for (const f of l.fields) {
    const at = `${what}.${f.name}`;
    if (!Object.prototype.hasOwnProperty.call(obj, f.name)) throw new LayoutError(`${at}: missing`);
    const x = obj[f.name];
    const want = f.count === undefined || f.count === '*' ? null
      : typeof f.count === 'number' ? f.count : f.count.split('*').reduce((p, r) => p * ints.get(r)!, 1);
    let part: Part;
    if (f.type === 'bytes' || f.type === 'utf8') {
      const b = toBytes(f, x, at);
      if (want !== null && b.length !== want) throw new LayoutError(`${at}: expected ${want} bytes, got ${b.length}`);
      part = { f, values: b };
    } else if (f.count === undefined) {
      const n = toScalar(f, x, at);
      if (typeof n === 'number' && SMALL_INTS.includes(f.type)) ints.set(f.name, n);
      part = { f, values: [n] };
    } else {
      if (!Array.isArray(x)) throw new LayoutError(`${at}: expected an array`);
      if (want !== null && x.length !== want) throw new LayoutError(`${at}: expected ${want} ${f.group ? `groups of ${f.group}` : 'values'} (${f.count}), got ${x.length}`);
      if (size + x.length * elemSize(f) > maxBytes) throw new LayoutError(`${what}: over ${maxBytes} bytes at ${f.name}`);
      const values: Array<number | bigint> = [];
      x.forEach((g: unknown, i) => {
        if (f.group === undefined) { values.push(toScalar(f, g, `${at}[${i}]`)); return; }
        if (!Array.isArray(g) || g.length !== f.group) throw new LayoutError(`${at}[${i}]: expected an array of ${f.group}`);
        g.forEach((y: unknown, j) => values.push(toScalar(f, y, `${at}[${i}][${j}]`)));
      });
      part = { f, values };
    }
    size += part.values.length * (part.values instanceof Uint8Array ? 1 : SIZES[f.type as Scalar]);
    if (size > maxBytes) throw new LayoutError(`${what}: over ${maxBytes} bytes at ${f.name}`);
    parts.push(part);
  }
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  let off = 0;
  for (const { f, values } of parts) {
    if (values instanceof Uint8Array) { out.set(values, off); off += values.length; continue; }
    for (const n of values) { write(dv, off, f.type as Scalar, n); off += SIZES[f.type as Scalar]; }
  }
  return out;
}

function write(dv: DataView, off: number, t: Scalar, n: number | bigint): void {
  switch (t) {
    case 'u8': dv.setUint8(off, n as number); break;
    case 'i8': dv.setInt8(off, n as number); break;
    case 'u16': dv.setUint16(off, n as number, true); break;
    case 'i16': dv.setInt16(off, n as number, true); break;
    case 'u32': dv.setUint32(off, n as number, true); break;
    case 'i32': dv.setInt32(off, n as number, true); break;
    case 'u64': dv.setBigUint64(off, n as bigint, true); break;
    case 'i64': dv.setBigInt64(off, n as bigint, true); break;
    case 'f32': dv.setFloat32(off, n as number, true); break;
    case 'f64': dv.setFloat64(off, n as number, true); break;
  }
}

// ---- decoding: bytes -> JSON value -------------------------------------------------------

function read(dv: DataView, off: number, f: Field): unknown {
  let n: number | bigint;
  switch (f.type as Scalar) {
    case 'u8': n = dv.getUint8(off); break;
    case 'i8': n = dv.getInt8(off); break;
    case 'u16': n = dv.getUint16(off, true); break;
    case 'i16': n = dv.getInt16(off, true); break;
    case 'u32': n = dv.getUint32(off, true); break;
    case 'i32': n = dv.getInt32(off, true); break;
    case 'u64': n = dv.getBigUint64(off, true); break;
    case 'i64': n = dv.getBigInt64(off, true); break;
    case 'f32': n = dv.getFloat32(off, true); break;
    case 'f64': n = dv.getFloat64(off, true); break;
  }
  if (typeof n === 'bigint') return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString();
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? 'Infinity' : '-Infinity';
  if (f.enum && n < f.enum.length) return f.enum[n];
  return n;
}

/** Bytes a task returned (or takes) -> a JSON value, by the layout; throws a LayoutError when they do not fit it. */
export function decodeValue(l: Layout, bytes: Uint8Array, what = 'output'): Record<string, unknown> {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ints = new Map<string, number>();
  const out: Record<string, unknown> = {};
  let off = 0;
  for (const f of l.fields) {
    const at = `${what}.${f.name}`;
    const left = bytes.length - off;
    const size = elemSize(f);
    let n: number;
    if (f.count === undefined) n = 1;
    else if (f.count === '*') {
      if (left % size !== 0) throw new LayoutError(`${at}: the last ${left} bytes are not a whole number of ${size}-byte items`);
      n = left / size;
    } else n = typeof f.count === 'number' ? f.count : f.count.split('*').reduce((p, r) => p * ints.get(r)!, 1);
    if (n * size > left) throw new LayoutError(`${at}: needs ${n * size} bytes, ${left} left`);
    if (f.type === 'bytes') out[f.name] = Buffer.from(bytes.subarray(off, off + n)).toString('hex');
    else if (f.type === 'utf8') {
      try { out[f.name] = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(off, off + n)); } catch { throw new LayoutError(`${at}: not valid UTF-8`); }
    } else if (f.count === undefined) {
      const x = read(dv, off, f);
      if (SMALL_INTS.includes(f.type) && !f.enum) ints.set(f.name, x as number);
      out[f.name] = x;
    } else {
      const size1 = SIZES[f.type as Scalar];
      const flat = Array.from({ length: n * (f.group ?? 1) }, (_, i) => read(dv, off + i * size1, f));
      out[f.name] = f.group ? Array.from({ length: n }, (_, i) => flat.slice(i * f.group!, (i + 1) * f.group!)) : flat;
    }
    off += n * size;
  }
  if (off !== bytes.length) throw new LayoutError(`${what}: ${bytes.length - off} bytes left over after ${l.fields.at(-1)?.name ?? 'no fields'}`);
  return out;
}
