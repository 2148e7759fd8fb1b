// primes: [lo u32][hi u32] -> u32 count of primes p with lo <= p < hi (segmented sieve;
// hi - lo at most 16 Mi).
import { input, output, u32At, putU32, fail } from './abi';
export { alloc } from './abi';

export function run(ptr: i32, len: i32): i64 {
  const a = input(ptr, len);
  if (len != 8) fail('primes: input must be 8 bytes');
  let lo = u32At(a, 0);
  const hi = u32At(a, 4);
  const out = new Uint8Array(4);
  if (lo < 2) lo = 2;
  if (hi <= lo) return output(out);
  if (hi - lo > 16777216) fail('primes: range over 16 Mi');
  // Base primes up to sqrt(hi) (< 65536, so p * p fits in u32).
  let root: u32 = <u32>Math.sqrt(<f64>hi);
  while (<u64>root * root > <u64>hi) root--;
  while (<u64>(root + 1) * (root + 1) <= <u64>hi) root++;
  const span = hi - lo;
  const small = new Uint8Array(<i32>root + 1); // 1 = composite
  const seg = new Uint8Array(<i32>span);        // 1 = composite
  const sm = small.dataStart, sg = seg.dataStart;
  // Raw loads and stores: every index is below root + 1 or span, the arrays' sizes.
  for (let p: u32 = 2; p <= root; p++) {
    if (load<u8>(sm + <usize>p)) continue;
    for (let m: u32 = p * p; m <= root; m += p) store<u8>(sm + <usize>m, 1);
    // Offsets from lo stay below span + p (< 2^25): no overflow.
    let off: u32 = p * p >= lo ? p * p - lo : (p - lo % p) % p;
    for (; off < span; off += p) store<u8>(sg + <usize>off, 1);
  }
  let count: u32 = 0;
  for (let i: u32 = 0; i < span; i++) count += 1 - <u32>load<u8>(sg + <usize>i);
  putU32(out, 0, count);
  return output(out);
}
