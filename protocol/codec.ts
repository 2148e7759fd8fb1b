/**
 * CBOR on the wire (RFC 8949) through cbor-x, made safe for hostile bytes.
 *
 * cbor-x decodes fast but trusts its input: deep nesting can overflow the stack, a
 * declared length can ask for a huge allocation, tags can build arbitrary objects and a
 * `__proto__` key can reach an object's prototype. So before cbor-x sees a byte, a small
 * iterative scanner walks the item headers and enforces hard limits: total size, nesting
 * depth, string/array/map lengths, total item count, definite lengths only, text keys
 * only, no tags, exactly one top-level item. The encoder is configured to produce only
 * what the scanner accepts (no tags, no records, plain byte strings).
 *
 * cbor-x has no canonical mode (key order is insertion order), so signatures cover the
 * encoded bytes as received and nothing is ever re-encoded to verify.
 */
import { Decoder, Encoder } from 'cbor-x';
import { ProtocolError } from './errors.js';

export interface DecodeLimits {
  /** Largest encoded item accepted, in bytes. */
  maxBytes: number;
  /** Deepest nesting of arrays and maps. */
  maxDepth: number;
  /** Most elements in one array or pairs in one map. */
  maxLength: number;
  /** Longest byte or text string, in bytes. */
  maxStringBytes: number;
  /** Most data items in the whole value. */
  maxItems: number;
}

export const DEFAULT_LIMITS: Readonly<DecodeLimits> = Object.freeze({
  maxBytes: 1024 * 1024,
  maxDepth: 16,
  maxLength: 4096,
  maxStringBytes: 1024 * 1024,
  maxItems: 65536,
});

const encoder = new Encoder({
  useRecords: false,
  mapsAsObjects: true,
  tagUint8Array: false,
  variableMapSize: true,
});
const decoder = new Decoder({ useRecords: false, mapsAsObjects: true });

/** Encode a value made of plain objects, arrays, strings, numbers, booleans, null and Uint8Arrays. */
export function encode(value: unknown): Uint8Array {
  // cbor-x may hand back a view into its working buffer: copy so callers own the bytes.
  return new Uint8Array(encoder.encode(value));
}

const PROTO_KEY = Buffer.from('__proto__');

/**
 * Check that `bytes` is exactly one well-formed CBOR item within `limits`.
 * Throws ProtocolError('malformed' | 'too-large'); returns nothing.
 */
export function scan(bytes: Uint8Array, limits: DecodeLimits = DEFAULT_LIMITS): void {
  if (!(bytes instanceof Uint8Array)) throw new ProtocolError('malformed', 'expected bytes');
  if (bytes.length > limits.maxBytes) {
    throw new ProtocolError('too-large', `${bytes.length} bytes exceeds the limit of ${limits.maxBytes}`);
  }
  if (bytes.length === 0) throw new ProtocolError('malformed', 'empty input');
  const fail = (why: string, at: number): never => {
    throw new ProtocolError('malformed', `${why} at byte ${at}`);
  };
  // remaining[i] = items still expected in the open container at depth i (+ flag for map keys)
  const remaining: number[] = [1];
  const isMap: boolean[] = [false];
  let pos = 0;
  let items = 0;
  while (remaining.length > 0) {
    const top = remaining.length - 1;
    if (remaining[top] === 0) {
      remaining.pop();
      isMap.pop();
      continue;
    }
    remaining[top]!--;
    // In a map, items alternate key, value; with 2n items counted, a key is at even remainders+1.
    const expectKey = isMap[top]! && remaining[top]! % 2 === 1;
    if (pos >= bytes.length) fail('unexpected end of input', pos);
    if (++items > limits.maxItems) fail(`more than ${limits.maxItems} items`, pos);
    const start = pos;
    const ib = bytes[pos++]!;
    const major = ib >> 5;
    const ai = ib & 0x1f;
    let arg: number;
    if (ai < 24) arg = ai;
    else if (ai === 24) { if (pos + 1 > bytes.length) fail('truncated header', start); arg = bytes[pos]!; pos += 1; }
    else if (ai === 25) { if (pos + 2 > bytes.length) fail('truncated header', start); arg = (bytes[pos]! << 8) | bytes[pos + 1]!; pos += 2; }
    else if (ai === 26) {
      if (pos + 4 > bytes.length) fail('truncated header', start);
      arg = ((bytes[pos]! << 24) >>> 0) + (bytes[pos + 1]! << 16) + (bytes[pos + 2]! << 8) + bytes[pos + 3]!;
      pos += 4;
    } else if (ai === 27) {
      if (pos + 8 > bytes.length) fail('truncated header', start);
      const hi = ((bytes[pos]! << 24) >>> 0) + (bytes[pos + 1]! << 16) + (bytes[pos + 2]! << 8) + bytes[pos + 3]!;
      const lo = ((bytes[pos + 4]! << 24) >>> 0) + (bytes[pos + 5]! << 16) + (bytes[pos + 6]! << 8) + bytes[pos + 7]!;
      arg = hi * 2 ** 32 + lo; // may lose precision above 2^53; only compared against limits below
      pos += 8;
    } else if (ai === 31) {
      return fail('indefinite-length items are not accepted', start);
    } else {
      return fail('reserved additional-information value', start);
    }
    if (expectKey && major !== 3) fail('map keys must be text strings', start);
    switch (major) {
      case 0: case 1: break; // unsigned / negative integer: header only
      case 2: case 3: {
        if (arg > limits.maxStringBytes) fail(`string of ${arg} bytes exceeds ${limits.maxStringBytes}`, start);
        if (pos + arg > bytes.length) fail('string runs past the end', start);
        if (expectKey && arg === PROTO_KEY.length && PROTO_KEY.equals(bytes.subarray(pos, pos + arg))) {
          fail('forbidden map key __proto__', start);
        }
        pos += arg;
        break;
      }
      case 4: case 5: {
        if (arg > limits.maxLength) fail(`${major === 4 ? 'array' : 'map'} of ${arg} exceeds ${limits.maxLength}`, start);
        if (remaining.length > limits.maxDepth) fail(`nesting deeper than ${limits.maxDepth}`, start);
        // cheap sanity bound: every item needs at least one byte
        if (arg * (major === 5 ? 2 : 1) > bytes.length - pos) fail('container longer than the input', start);
        remaining.push(major === 5 ? arg * 2 : arg);
        isMap.push(major === 5);
        break;
      }
      case 6: fail('tags are not accepted', start); break;
      case 7: {
        // false, true, null, undefined; half/single/double floats. Other simple values refused.
        if (ai >= 20 && ai <= 23) break;
        if (ai >= 25 && ai <= 27) break;
        fail('unsupported simple value', start);
      }
    }
  }
  if (pos !== bytes.length) fail('trailing bytes after the item', pos);
}

/** Decode one CBOR item under hard limits. Throws only ProtocolError. */
export function decode(bytes: Uint8Array, limits: DecodeLimits = DEFAULT_LIMITS): unknown {
  scan(bytes, limits);
  try {
    return decoder.decode(bytes);
  } catch (e) {
    // The scanner should make this unreachable; keep the contract if it is not.
    throw new ProtocolError('malformed', `CBOR decode failed: ${(e as Error).message}`);
  }
}
