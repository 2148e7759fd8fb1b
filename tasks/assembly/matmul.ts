// matmul: [m u32][k u32][n u32][A: m*k f32][B: k*n f32] (little-endian) -> C = A*B, m*n f32.
// Sums run over p = 0..k-1 in order, in f32, so every engine gets the same bits.
// Limits: each side <= 1024 and the output at most 512 KiB (m*n <= 131072), the most a
// task may return; the input is at most 512 KiB like every task input, so m*k*n stays
// under 24 M multiply-adds, well inside the default fuel budget.
import { input, output, u32At, fail } from 'swarmlet/abi';
export { alloc } from 'swarmlet/abi';

const MAX_DIM: u32 = 1024;
const MAX_OUT: u64 = 131072; // floats: 512 KiB

export function run(ptr: i32, len: i32): i64 {
  const a = input(ptr, len);
  const m = u32At(a, 0), k = u32At(a, 4), n = u32At(a, 8);
  if (m > MAX_DIM || k > MAX_DIM || n > MAX_DIM) fail('matmul: dimension over 1024');
  if (<u64>m * n > MAX_OUT) fail('matmul: output m*n over 131072 floats (512 KiB)');
  const need = <u64>12 + (<u64>m * k + <u64>k * n) * 4;
  if (<u64>len != need) fail('matmul: input length does not match m, k, n');
  const A = a.dataStart + 12;
  const B = A + <usize>(m * k * 4);
  const out = new Uint8Array(<i32>(m * n * 4));
  const C = out.dataStart;
  for (let i: u32 = 0; i < m; i++) {
    const crow = C + <usize>(i * n * 4);
    for (let p: u32 = 0; p < k; p++) {
      const av = load<f32>(A + <usize>((i * k + p) * 4));
      const brow = B + <usize>(p * n * 4);
      for (let j: u32 = 0; j < n; j++) {
        const at = crow + <usize>(j * 4);
        store<f32>(at, load<f32>(at) + av * load<f32>(brow + <usize>(j * 4)));
      }
    }
  }
  return output(out);
}
