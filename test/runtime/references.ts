/**
 * Plain TypeScript reference implementations of every catalogue task: same input and output
 * formats as tasks/assembly/*.ts (see tasks/catalogue.json), bit-identical outputs. Tests
 * compare the wasm against these; the benchmark times them as the baseline.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../util/paths.js';

const view = (a: Uint8Array) => new DataView(a.buffer, a.byteOffset, a.byteLength);
class ReferenceInputError extends Error {}

// ---- sha256 -------------------------------------------------------------------------
const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

export function sha256(input: Uint8Array): Uint8Array {
  const n = input.length;
  const total = Math.ceil((n + 9) / 64) * 64;
  const buf = new Uint8Array(total);
  buf.set(input);
  buf[n] = 0x80;
  const dv = new DataView(buf.buffer);
  dv.setUint32(total - 8, Math.floor(n / 0x20000000), false);
  dv.setUint32(total - 4, (n << 3) >>> 0, false);
  const H = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  const W = new Uint32Array(64);
  const rotr = (x: number, r: number) => (x >>> r) | (x << (32 - r));
  for (let off = 0; off < total; off += 64) {
    for (let i = 0; i < 16; i++) W[i] = dv.getUint32(off + i * 4, false);
    for (let i = 16; i < 64; i++) {
      const w15 = W[i - 15]!, w2 = W[i - 2]!;
      W[i] = W[i - 16]! + (rotr(w15, 7) ^ rotr(w15, 18) ^ (w15 >>> 3)) + W[i - 7]! + (rotr(w2, 17) ^ rotr(w2, 19) ^ (w2 >>> 10));
    }
    let a = H[0]!, b = H[1]!, c = H[2]!, d = H[3]!, e = H[4]!, f = H[5]!, g = H[6]!, h = H[7]!;
    for (let i = 0; i < 64; i++) {
      const t1 = (h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i]! + W[i]!) | 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    H[0]! += a; H[1]! += b; H[2]! += c; H[3]! += d; H[4]! += e; H[5]! += f; H[6]! += g; H[7]! += h;
  }
  const out = new Uint8Array(32);
  const ov = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) ov.setUint32(i * 4, H[i]!, false);
  return out;
}

// ---- matmul -------------------------------------------------------------------------
export function matmul(input: Uint8Array): Uint8Array {
  const dv = view(input);
  if (input.length < 12) throw new ReferenceInputError('input too short');
  const m = dv.getUint32(0, true), k = dv.getUint32(4, true), n = dv.getUint32(8, true);
  if (m > 1024 || k > 1024 || n > 1024) throw new ReferenceInputError('matmul: dimension over 1024');
  if (m * n > 131072) throw new ReferenceInputError('matmul: output m*n over 131072 floats (512 KiB)');
  if (input.length !== 12 + (m * k + k * n) * 4) throw new ReferenceInputError('matmul: input length does not match m, k, n');
  const A = new Float32Array(m * k), B = new Float32Array(k * n);
  for (let i = 0; i < m * k; i++) A[i] = dv.getFloat32(12 + i * 4, true);
  for (let i = 0; i < k * n; i++) B[i] = dv.getFloat32(12 + (m * k + i) * 4, true);
  const C = new Float32Array(m * n);
  const f = Math.fround;
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const av = A[i * k + p]!;
      for (let j = 0; j < n; j++) C[i * n + j] = f(C[i * n + j]! + f(av * B[p * n + j]!));
    }
  }
  const out = new Uint8Array(m * n * 4);
  const ov = view(out);
  for (let i = 0; i < m * n; i++) ov.setFloat32(i * 4, C[i]!, true);
  return out;
}

// ---- blur ---------------------------------------------------------------------------
export function blur(input: Uint8Array): Uint8Array {
  if (input.length < 8) throw new ReferenceInputError('input too short');
  const dv = view(input);
  const w = dv.getUint32(0, true), h = dv.getUint32(4, true);
  if (w > 8192 || h > 8192) throw new ReferenceInputError('blur: side over 8192');
  if (w * h > 524280) throw new ReferenceInputError('blur: image over 524280 pixels (512 KiB)');
  if (input.length !== 8 + w * h) throw new ReferenceInputError('blur: input length does not match width*height');
  const img = input.subarray(8);
  const out = new Uint8Array(w * h);
  const px = (x: number, y: number) => img[(y < 0 ? 0 : y >= h ? h - 1 : y) * w + (x < 0 ? 0 : x >= w ? w - 1 : x)]!;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const s = px(x - 1, y - 1) + 2 * px(x, y - 1) + px(x + 1, y - 1)
        + 2 * px(x - 1, y) + 4 * px(x, y) + 2 * px(x + 1, y)
        + px(x - 1, y + 1) + 2 * px(x, y + 1) + px(x + 1, y + 1);
      out[y * w + x] = (s + 8) >> 4;
    }
  }
  return out;
}

// ---- stats --------------------------------------------------------------------------
export function stats(input: Uint8Array): Uint8Array {
  if (input.length % 4 !== 0) throw new ReferenceInputError('stats: input is not a whole number of f32 samples');
  const n = input.length / 4;
  const out = new Uint8Array(64);
  if (n === 0) return out;
  const dv = view(input);
  const xs = new Float32Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    let x = dv.getFloat32(i * 4, true);
    if (Number.isNaN(x)) throw new ReferenceInputError('stats: NaN sample');
    if (x === 0) x = 0;
    xs[i] = x;
    sum += x;
  }
  const mean = sum / n;
  let sq = 0;
  for (let i = 0; i < n; i++) {
    const d = xs[i]! - mean;
    sq += d * d;
  }
  xs.sort();
  const rank = (p: number) => Math.max(Math.floor((p * n + 99) / 100), 1) - 1;
  const ov = view(out);
  [n, mean, sq / n, xs[0]!, xs[n - 1]!, xs[rank(50)]!, xs[rank(90)]!, xs[rank(99)]!].forEach((v, i) => ov.setFloat64(i * 8, v, true));
  return out;
}

// ---- mlp ----------------------------------------------------------------------------
interface MlpWeights { inputs: number; hidden: number; outputs: number; w1: number[]; b1: number[]; m1: number; w2: number[]; b2: number[] }
let weights: MlpWeights | undefined;
export function mlpWeights(): MlpWeights {
  return (weights ??= JSON.parse(readFileSync(join(projectRoot(), 'tasks', 'mlp', 'weights.json'), 'utf8')) as MlpWeights);
}

export function mlp(input: Uint8Array): Uint8Array {
  const W = mlpWeights();
  const IN = W.inputs, HID = W.hidden, OUT = W.outputs;
  if (input.length % IN !== 0) throw new ReferenceInputError('mlp: input is not a whole number of 16-sample windows');
  const x = new Int8Array(input.buffer, input.byteOffset, input.length);
  const w1 = Int8Array.from(W.w1), w2 = Int8Array.from(W.w2), b1 = Int32Array.from(W.b1), b2 = Int32Array.from(W.b2);
  const n = input.length / IN;
  const out = new Uint8Array(n);
  const h = new Int32Array(HID);
  for (let s = 0; s < n; s++) {
    for (let j = 0; j < HID; j++) {
      let acc = b1[j]!;
      for (let i = 0; i < IN; i++) acc = (acc + Math.imul(x[s * IN + i]!, w1[j * IN + i]!)) | 0;
      const v = Math.imul(acc, W.m1) >> 16;
      h[j] = v < 0 ? 0 : v > 127 ? 127 : v;
    }
    let best = 0, bestV = 0;
    for (let k = 0; k < OUT; k++) {
      let acc = b2[k]!;
      for (let j = 0; j < HID; j++) acc = (acc + Math.imul(h[j]!, w2[k * HID + j]!)) | 0;
      if (k === 0 || acc > bestV) { best = k; bestV = acc; }
    }
    out[s] = best;
  }
  return out;
}

// ---- mandelbrot ---------------------------------------------------------------------
export function mandelbrot(input: Uint8Array): Uint8Array {
  if (input.length !== 36) throw new ReferenceInputError('mandelbrot: input must be 36 bytes');
  const dv = view(input);
  const x0 = dv.getFloat64(0, true), y0 = dv.getFloat64(8, true), step = dv.getFloat64(16, true);
  const w = dv.getUint32(24, true), h = dv.getUint32(28, true), maxIter = dv.getUint32(32, true);
  if (w > 4096 || h > 4096 || w * h > 262144) throw new ReferenceInputError('mandelbrot: tile over 262144 pixels (512 KiB of output)');
  if (maxIter > 65535) throw new ReferenceInputError('mandelbrot: maxIter over 65535');
  if (w * h * maxIter > 33554432) throw new ReferenceInputError('mandelbrot: width*height*maxIter over 2^25 (33554432)');
  const out = new Uint16Array(w * h);
  for (let py = 0; py < h; py++) {
    const cy = y0 + py * step;
    for (let px = 0; px < w; px++) {
      const cx = x0 + px * step;
      let x = 0, y = 0, i = 0;
      while (i < maxIter) {
        const x2 = x * x, y2 = y * y;
        if (x2 + y2 > 4.0) break;
        y = 2.0 * x * y + cy;
        x = x2 - y2 + cx;
        i++;
      }
      out[py * w + px] = i;
    }
  }
  const bytes = new Uint8Array(w * h * 2);
  const ov = view(bytes);
  for (let i = 0; i < w * h; i++) ov.setUint16(i * 2, out[i]!, true);
  return bytes;
}

// ---- primes -------------------------------------------------------------------------
export function primes(input: Uint8Array): Uint8Array {
  if (input.length !== 8) throw new ReferenceInputError('primes: input must be 8 bytes');
  const dv = view(input);
  let lo = dv.getUint32(0, true);
  const hi = dv.getUint32(4, true);
  const out = new Uint8Array(4);
  if (lo < 2) lo = 2;
  if (hi <= lo) return out;
  if (hi - lo > 16777216) throw new ReferenceInputError('primes: range over 16 Mi');
  let root = Math.floor(Math.sqrt(hi));
  while (root * root > hi) root--;
  while ((root + 1) * (root + 1) <= hi) root++;
  const small = new Uint8Array(root + 1);
  const seg = new Uint8Array(hi - lo);
  for (let p = 2; p <= root; p++) {
    if (small[p]) continue;
    for (let m = p * p; m <= root; m += p) small[m] = 1;
    let start = p * p;
    if (start < lo) start = Math.ceil(lo / p) * p;
    for (let m = start; m < hi; m += p) seg[m - lo] = 1;
  }
  let count = 0;
  for (let i = 0; i < seg.length; i++) if (!seg[i]) count++;
  view(out).setUint32(0, count, true);
  return out;
}

/** name -> reference, for every task in tasks/catalogue.json. */
export const REFERENCES: Readonly<Record<string, (input: Uint8Array) => Uint8Array>> = Object.freeze({
  sha256, matmul, blur, stats, mlp, mandelbrot, primes,
});
