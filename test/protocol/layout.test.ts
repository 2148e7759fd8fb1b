/**
 * Task layouts (protocol/layout.ts): every catalogue task's input and output round-trip
 * between bytes and JSON exactly; hand-written JSON encodes to the bytes the task expects;
 * bad JSON and bad layouts are refused with the field named.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeValue, describeLayout, encodeValue, LayoutError, parseTaskLayout, type Layout } from '../../protocol/layout.js';
import type { Catalogue } from '../../agent/runtime/catalogue.js';
import { catalogue, hex } from '../runtime/helpers.js';
import { REFERENCES } from '../runtime/references.js';
import { sampleInput, TASK_NAMES } from '../runtime/inputs.js';

const L = (fields: unknown[]): Layout => parseTaskLayout({ input: { fields }, output: { fields: [] } }).input;

describe('task layouts', () => {
  let cat: Catalogue;
  before(async () => { cat = await catalogue(); });

  it('every catalogue task declares a layout that round-trips its inputs and outputs', () => {
    for (const name of TASK_NAMES) {
      const { layout } = cat.byName(name)!;
      for (const seed of [1, 2, 3, 4]) {
        const input = sampleInput(name, { seed });
        const json = JSON.parse(JSON.stringify(decodeValue(layout.input, input, 'input')));
        assert.equal(hex(encodeValue(layout.input, json)), hex(input), `${name} input, seed ${seed}`);
        const output = REFERENCES[name]!(input);
        const out = JSON.parse(JSON.stringify(decodeValue(layout.output, output)));
        assert.equal(hex(encodeValue(layout.output, out, { what: 'output' })), hex(output), `${name} output, seed ${seed}`);
      }
      assert.ok(describeLayout(layout.input).length > 0);
    }
  });

  it('hand-written JSON encodes to the bytes the tasks read', () => {
    const lay = (n: string) => cat.byName(n)!.layout;
    const mm = encodeValue(lay('matmul').input, { m: 1, k: 2, n: 1, a: [1, 2], b: [3, 4] });
    assert.deepEqual([...new Uint32Array(mm.buffer, 0, 3)], [1, 2, 1]);
    assert.deepEqual([...new Float32Array(mm.buffer, 12)], [1, 2, 3, 4]);
    assert.equal(hex(REFERENCES.matmul!(mm)), hex(new Uint8Array(new Float32Array([11]).buffer)));
    assert.deepEqual(decodeValue(lay('matmul').output, REFERENCES.matmul!(mm)), { c: [11] });
    const pr = encodeValue(lay('primes').input, { lo: 0, hi: 100 });
    assert.deepEqual(decodeValue(lay('primes').output, REFERENCES.primes!(pr)), { count: 25 });
    // bytes: hex, {text}, {base64} all say the same
    const text = encodeValue(lay('sha256').input, { data: { text: 'abc' } });
    assert.equal(hex(text), '616263');
    assert.equal(hex(encodeValue(lay('sha256').input, { data: '616263' })), '616263');
    assert.equal(hex(encodeValue(lay('sha256').input, { data: { base64: 'YWJj' } })), '616263');
    assert.deepEqual(decodeValue(lay('sha256').output, REFERENCES.sha256!(text)), { digest: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad' });
    // enums: names out, names or numbers in; groups: arrays of 16
    const windows = [Array.from({ length: 16 }, (_, i) => i * 8 - 60), Array(16).fill(3)];
    const ml = encodeValue(lay('mlp').input, { windows });
    assert.equal(ml.length, 32);
    const cls = decodeValue(lay('mlp').output, REFERENCES.mlp!(ml)).classes as string[];
    assert.deepEqual(cls.map((c) => ['flat', 'rising', 'falling', 'oscillating'].includes(c)), [true, true]);
    assert.equal(hex(encodeValue(lay('mlp').output, { classes: ['rising', 0] })), '0100');
    const st = decodeValue(lay('stats').output, REFERENCES.stats!(encodeValue(lay('stats').input, { samples: [1, 2, 3, 4] })));
    assert.deepEqual(st, { count: 4, mean: 2.5, variance: 1.25, min: 1, max: 4, p50: 2, p90: 4, p99: 4 });
  });

  it('refuses bad JSON with the field named', () => {
    const lay = (n: string) => cat.byName(n)!.layout;
    const bad = (n: string, value: unknown, re: RegExp) => assert.throws(() => encodeValue(lay(n).input, value), (e: unknown) => e instanceof LayoutError && re.test(e.message), `${JSON.stringify(value)}`);
    bad('matmul', { m: 1, k: 2, n: 1, a: [1], b: [3, 4] }, /^input\.a: expected 2 values \(m\*k\), got 1$/);
    bad('matmul', { m: 1, k: 1, n: 1, a: [1], b: ['x'] }, /^input\.b\[0\]: expected a number/);
    bad('matmul', { m: 1, k: 1, n: 1, a: [1e39], b: [1] }, /input\.a\[0\]: 1e\+39 is outside the f32 range/);
    bad('matmul', { m: 1, k: 1, a: [1], b: [1] }, /^input\.n: missing$/);
    bad('matmul', { m: 1, k: 1, n: 1, a: [1], b: [1], c: 2 }, /^input\.c: no such field/);
    bad('matmul', { m: -1, k: 1, n: 1, a: [], b: [] }, /^input\.m: expected an integer from 0 to 4294967295/);
    bad('blur', { width: 2, height: 1, pixels: [1, 256] }, /^input\.pixels\[1\]: expected an integer from 0 to 255/);
    bad('mlp', { windows: [[1, 2]] }, /^input\.windows\[0\]: expected an array of 16/);
    bad('sha256', { data: 'abc' }, /even number of hex digits/);
    bad('sha256', { data: 12 }, /expected hex, or one of/);
    bad('primes', [1, 2], /^input: expected an object with lo, hi/);
    assert.throws(() => encodeValue(lay('mlp').output, { classes: ['sideways'] }), /expected one of flat, rising, falling, oscillating/);
    // a value that would pass 512 KiB is refused before it is built
    assert.throws(() => encodeValue(lay('stats').input, { samples: new Array(131073).fill(0) }), /over 524288 bytes/);
  });

  it('refuses output bytes that do not fit the layout', () => {
    const lay = (n: string) => cat.byName(n)!.layout;
    assert.throws(() => decodeValue(lay('primes').output, new Uint8Array(5)), /1 bytes left over after count/);
    assert.throws(() => decodeValue(lay('stats').output, new Uint8Array(63)), /needs 8 bytes, 7 left/);
    assert.throws(() => decodeValue(lay('mandelbrot').output, new Uint8Array(3)), /not a whole number of 2-byte items/);
  });

  it('checks layouts themselves', () => {
    const refuse = (fields: unknown[], re: RegExp) => assert.throws(() => L(fields), (e: unknown) => e instanceof LayoutError && re.test(e.message), JSON.stringify(fields));
    refuse([{ name: 'a', type: 'u32', count: 'n' }, { name: 'n', type: 'u32' }], /count names n, which is not an earlier single integer field/);
    refuse([{ name: 'n', type: 'f32' }, { name: 'a', type: 'u8', count: 'n' }], /not an earlier single integer field/);
    refuse([{ name: 'a', type: 'u8', count: '*' }, { name: 'b', type: 'u8' }], /only the last field may take the rest/);
    refuse([{ name: 'a', type: 'u8' }, { name: 'a', type: 'u8' }], /used twice/);
    refuse([{ name: 'a', type: 'f32', enum: ['x'] }], /enum is for integers/);
    refuse([{ name: 'a', type: 'u8', group: 4 }], /group needs an array/);
    refuse([{ name: 'a', type: 'bytes' }], /bytes needs a count/);
    refuse([{ name: 'a', type: 'u128' }], /type must be one of/);
    refuse([{ name: '1a', type: 'u8' }], /field name/);
    refuse([{ name: 'a', type: 'u8', count: 'x*y*z*w*v' }], /count is a number/);
    refuse([{ name: 'a', type: 'u8', extra: 1 }], /extra/);
    refuse(Array.from({ length: 33 }, (_, i) => ({ name: `f${i}`, type: 'u8' })), /fields/);
    assert.throws(() => parseTaskLayout({ input: { fields: [] } }), /output/);
  });

  it('every type round-trips (property)', () => {
    const layout = L([
      { name: 'n', type: 'u8' }, { name: 'a', type: 'i8' }, { name: 'b', type: 'u16' }, { name: 'c', type: 'i16' },
      { name: 'd', type: 'i32' }, { name: 'e', type: 'u64' }, { name: 'f', type: 'i64' }, { name: 'g', type: 'f64' },
      { name: 'h', type: 'f32', count: 'n' }, { name: 's', type: 'utf8', count: 'n' }, { name: 'r', type: 'bytes', count: '*' },
    ]);
    fc.assert(fc.property(
      fc.record({
        a: fc.integer({ min: -128, max: 127 }), b: fc.integer({ min: 0, max: 65535 }), c: fc.integer({ min: -32768, max: 32767 }),
        d: fc.integer(), e: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), f: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
        g: fc.double({ noNaN: true, noDefaultInfinity: true }), h: fc.array(fc.float({ noNaN: true, noDefaultInfinity: true }), { maxLength: 20 }),
        r: fc.uint8Array({ maxLength: 40 }),
      }),
      (x) => {
        const json = {
          n: x.h.length, a: x.a, b: x.b, c: x.c, d: x.d,
          e: x.e.toString(), f: x.f.toString(), g: Object.is(x.g, -0) ? 0 : x.g, h: x.h.map((y) => (Object.is(y, -0) ? 0 : y)),
          s: 'é'.repeat(Math.floor(x.h.length / 2)) + 'x'.repeat(x.h.length % 2), r: hex(x.r),
        };
        const bytes = encodeValue(layout, json);
        const back = decodeValue(layout, bytes, 'input');
        assert.deepEqual(back, {
          ...json,
          e: x.e <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x.e) : x.e.toString(),
          f: x.f >= BigInt(Number.MIN_SAFE_INTEGER) && x.f <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x.f) : x.f.toString(),
        });
        assert.equal(hex(encodeValue(layout, back)), hex(bytes));
      },
    ), { numRuns: 300 });
  });
});
