// primes: [lo u32][hi u32] -> u32 count of primes p with lo <= p < hi (segmented sieve;
// hi - lo at most 16 Mi). The range is sieved in windows of 128 KiB, so memory stays the
// same whatever the range (a 16 Mi flag array would not fit the default 16 MiB cap).
import { input, output, u32At, putU32, fail } from 'swarmlet/abi';
export { alloc } from 'swarmlet/abi';

const MAX_SPAN: u32 = 16777216;
const WINDOW: u32 = 131072;

export function run(ptr: i32, len: i32): i64 {
  const a = input(ptr, len);
  if (len != 8) fail('primes: input must be 8 bytes');
  let lo = u32At(a, 0);
  const hi = u32At(a, 4);
  const out = new Uint8Array(4);
  if (lo < 2) lo = 2;
  if (hi <= lo) return output(out);
  if (hi - lo > MAX_SPAN) fail('primes: range over 16 Mi');
  // Base primes up to sqrt(hi) (< 65536, so p * p fits in u32).
  let root: u32 = <u32>Math.sqrt(<f64>hi);
  while (<u64>root * root > <u64>hi) root--;
  while (<u64>(root + 1) * (root + 1) <= <u64>hi) root++;
  const small = new Uint8Array(<i32>root + 1); // 1 = composite
  const base = new Uint32Array(<i32>root + 1); // the base primes, then per prime its next multiple (offset from lo)
  const sm = small.dataStart, bp = base.dataStart;
  const next = new Uint32Array(<i32>root + 1);
  const nx = next.dataStart;
  let np: u32 = 0;
  // Raw loads and stores: every index is below root + 1, np or the window size.
  for (let p: u32 = 2; p <= root; p++) {
    if (load<u8>(sm + <usize>p)) continue;
    for (let m: u32 = p * p; m <= root; m += p) store<u8>(sm + <usize>m, 1);
    store<u32>(bp + (<usize>np << 2), p);
    // First multiple to strike: p * p, or the first multiple of p at or above lo.
    store<u32>(nx + (<usize>np << 2), p * p >= lo ? p * p - lo : (p - lo % p) % p);
    np++;
  }
  const span = hi - lo;
  const window = new Uint8Array(<i32>WINDOW); // 1 = composite
  const w = window.dataStart;
  let count: u32 = 0;
  for (let start: u32 = 0; start < span; start += WINDOW) {
    const size = span - start < WINDOW ? span - start : WINDOW;
    memory.fill(w, 0, <usize>size);
    for (let i: u32 = 0; i < np; i++) {
      const p = load<u32>(bp + (<usize>i << 2));
      // Offsets stay below span + p (< 2^25) once struck; a first multiple past the range is never struck.
      let off = load<u32>(nx + (<usize>i << 2));
      if (off >= start + size) continue;
      for (off -= start; off < size; off += p) store<u8>(w + <usize>off, 1);
      store<u32>(nx + (<usize>i << 2), start + off);
    }
    for (let i: u32 = 0; i < size; i++) count += 1 - <u32>load<u8>(w + <usize>i);
  }
  putU32(out, 0, count);
  return output(out);
}
