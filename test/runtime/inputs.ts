/**
 * Sample inputs for every catalogue task, from a seeded generator (the same seed gives the
 * same bytes everywhere). `size: 'small'` is quick for tests; 'bench' is sized so one run
 * takes milliseconds to tens of milliseconds.
 */
export type InputSize = 'small' | 'bench';

/** mulberry32: tiny, seeded, good enough for test data. */
export function rng(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function header(words: number[], rest: number): { bytes: Uint8Array; dv: DataView } {
  const bytes = new Uint8Array(words.length * 4 + rest);
  const dv = new DataView(bytes.buffer);
  words.forEach((w, i) => dv.setUint32(i * 4, w, true));
  return { bytes, dv };
}

const makers: Record<string, (r: () => number, size: InputSize) => Uint8Array> = {
  sha256(r, size) {
    const n = size === 'bench' ? 1 << 20 : 1000 + Math.floor(r() * 5000);
    return Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
  },
  matmul(r, size) {
    const [m, k, n] = size === 'bench' ? [96, 96, 96] : [1 + Math.floor(r() * 12), 1 + Math.floor(r() * 12), 1 + Math.floor(r() * 12)];
    const { bytes, dv } = header([m, k, n], (m * k + k * n) * 4);
    for (let i = 0; i < m * k + k * n; i++) dv.setFloat32(12 + i * 4, (r() - 0.5) * 8, true);
    return bytes;
  },
  blur(r, size) {
    const [w, h] = size === 'bench' ? [512, 512] : [1 + Math.floor(r() * 40), 1 + Math.floor(r() * 30)];
    const { bytes } = header([w, h], w * h);
    for (let i = 8; i < bytes.length; i++) bytes[i] = Math.floor(r() * 256);
    return bytes;
  },
  stats(r, size) {
    const n = size === 'bench' ? 100_000 : 1 + Math.floor(r() * 2000);
    const { bytes, dv } = header([], n * 4);
    let v = 20;
    for (let i = 0; i < n; i++) {
      v += (r() - 0.5) * 0.8;
      dv.setFloat32(i * 4, i % 97 === 0 ? 0 : v, true);
    }
    return bytes;
  },
  mlp(r, size) {
    const n = size === 'bench' ? 4096 : 1 + Math.floor(r() * 64);
    const out = new Uint8Array(n * 16);
    for (let s = 0; s < n; s++) {
      const cls = s % 4, base = (r() - 0.5) * 60, amp = 20 + r() * 40;
      for (let i = 0; i < 16; i++) {
        const t = i / 15;
        let v = base + (r() - 0.5) * 8;
        if (cls === 1) v += (t - 0.5) * 2 * amp;
        if (cls === 2) v -= (t - 0.5) * 2 * amp;
        if (cls === 3) v += amp * Math.sin(i * 1.3);
        out[s * 16 + i] = Math.max(-128, Math.min(127, Math.round(v))) & 0xff;
      }
    }
    return out;
  },
  mandelbrot(r, size) {
    const [w, h, iters] = size === 'bench' ? [200, 150, 500] : [8 + Math.floor(r() * 24), 8 + Math.floor(r() * 24), 50 + Math.floor(r() * 200)];
    const bytes = new Uint8Array(36);
    const dv = new DataView(bytes.buffer);
    dv.setFloat64(0, -2.2 + r() * 0.2, true);
    dv.setFloat64(8, -1.3 + r() * 0.1, true);
    dv.setFloat64(16, 3 / w, true);
    dv.setUint32(24, w, true);
    dv.setUint32(28, h, true);
    dv.setUint32(32, iters, true);
    return bytes;
  },
  primes(r, size) {
    const lo = size === 'bench' ? 1_000_000_000 : Math.floor(r() * 1_000_000);
    const span = size === 'bench' ? 2_000_000 : 1 + Math.floor(r() * 50_000);
    const { bytes } = header([lo, lo + span], 0);
    return bytes;
  },
};

export const TASK_NAMES: readonly string[] = Object.freeze(Object.keys(makers));

/** A sample input for a catalogue task. Throws for an unknown name. */
export function sampleInput(name: string, opts: { seed?: number; size?: InputSize } = {}): Uint8Array {
  const make = makers[name];
  if (!make) throw new Error(`no sample input for task '${name}'`);
  return make(rng(opts.seed ?? 1), opts.size ?? 'small');
}
