// stats: f32 sensor samples (little-endian) -> 8 f64: count, mean, variance (population),
// min, max, p50, p90, p99 (nearest rank). Sums are f64 in input order; -0 counts as +0;
// NaN samples are refused. An empty input gives eight zeros.
import { input, output, putF64, fail } from 'swarmlet/abi';
export { alloc } from 'swarmlet/abi';

function heapSort(a: StaticArray<f32>, n: i32): void {
  for (let start = (n >> 1) - 1; start >= 0; start--) sift(a, start, n);
  for (let end = n - 1; end > 0; end--) {
    const t = unchecked(a[0]); unchecked(a[0] = unchecked(a[end])); unchecked(a[end] = t);
    sift(a, 0, end);
  }
}

function sift(a: StaticArray<f32>, root: i32, n: i32): void {
  while (true) {
    let child = 2 * root + 1;
    if (child >= n) return;
    // unchecked(): root < child < n <= a.length.
    if (child + 1 < n && unchecked(a[child + 1]) > unchecked(a[child])) child++;
    if (unchecked(a[root]) >= unchecked(a[child])) return;
    const t = unchecked(a[root]); unchecked(a[root] = unchecked(a[child])); unchecked(a[child] = t);
    root = child;
  }
}

function rank(n: i32, p: i32): i32 {
  const r = <i32>((<i64>p * n + 99) / 100);
  return r < 1 ? 0 : r - 1;
}

export function run(ptr: i32, len: i32): i64 {
  const a = input(ptr, len);
  if (len % 4 != 0) fail('stats: input is not a whole number of f32 samples');
  const n = len >> 2;
  const out = new Uint8Array(64);
  if (n == 0) return output(out);
  const xs = new StaticArray<f32>(n);
  let sum: f64 = 0;
  for (let i = 0; i < n; i++) {
    let x = load<f32>(a.dataStart + <usize>(i << 2));
    if (x != x) fail('stats: NaN sample');
    if (x == 0) x = 0; // fold -0 into +0 so sorting order cannot matter
    unchecked(xs[i] = x);
    sum += <f64>x;
  }
  const mean = sum / <f64>n;
  let sq: f64 = 0;
  for (let i = 0; i < n; i++) {
    const d = <f64>unchecked(xs[i]) - mean;
    sq += d * d;
  }
  heapSort(xs, n);
  putF64(out, 0, <f64>n);
  putF64(out, 8, mean);
  putF64(out, 16, sq / <f64>n);
  putF64(out, 24, <f64>xs[0]);
  putF64(out, 32, <f64>xs[n - 1]);
  putF64(out, 40, <f64>xs[rank(n, 50)]);
  putF64(out, 48, <f64>xs[rank(n, 90)]);
  putF64(out, 56, <f64>xs[rank(n, 99)]);
  return output(out);
}
