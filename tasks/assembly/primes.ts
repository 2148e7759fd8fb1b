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
  // Base primes up to sqrt(hi).
  let root: u32 = <u32>Math.sqrt(<f64>hi);
  while (<u64>root * root > <u64>hi) root--;
  while (<u64>(root + 1) * (root + 1) <= <u64>hi) root++;
  const small = new Uint8Array(<i32>root + 1); // 1 = composite
  const seg = new Uint8Array(<i32>(hi - lo));  // 1 = composite
  for (let p: u32 = 2; p <= root; p++) {
    if (small[p]) continue;
    for (let m: u32 = p * p; m <= root; m += p) small[m] = 1;
    let start = <u64>p * p;
    if (start < <u64>lo) start = ((<u64>lo + p - 1) / p) * p;
    for (let m = start; m < <u64>hi; m += p) seg[<i32>(m - lo)] = 1;
  }
  let count: u32 = 0;
  const n = <i32>(hi - lo);
  for (let i = 0; i < n; i++) if (!seg[i]) count++;
  putU32(out, 0, count);
  return output(out);
}
