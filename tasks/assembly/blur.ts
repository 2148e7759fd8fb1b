// blur: [width u32][height u32][width*height grayscale bytes] -> the same size, blurred with
// the 3x3 kernel [1 2 1; 2 4 2; 1 2 1] / 16 (edges clamped, rounded half up). Integer only.
// Limits: each side <= 8192 and width*height <= 524280, so the input (8 + w*h bytes) and the
// output fit the 512 KiB a task input or output may have.
import { input, output, u32At, fail } from 'swarmlet/abi';
export { alloc } from 'swarmlet/abi';

@inline function px(img: usize, w: i32, h: i32, x: i32, y: i32): u32 {
  x = x < 0 ? 0 : (x >= w ? w - 1 : x);
  y = y < 0 ? 0 : (y >= h ? h - 1 : y);
  return <u32>load<u8>(img + <usize>(y * w + x));
}

export function run(ptr: i32, len: i32): i64 {
  const a = input(ptr, len);
  const w = u32At(a, 0), h = u32At(a, 4);
  if (w > 8192 || h > 8192) fail('blur: side over 8192');
  if (<u64>w * h > 524280) fail('blur: image over 524280 pixels (512 KiB)');
  if (<u64>len != <u64>8 + <u64>w * h) fail('blur: input length does not match width*height');
  const W = <i32>w, Hh = <i32>h;
  const img = a.dataStart + 8;
  const out = new Uint8Array(W * Hh);
  const o = out.dataStart;
  for (let y = 0; y < Hh; y++) {
    for (let x = 0; x < W; x++) {
      const s =
        px(img, W, Hh, x - 1, y - 1) + 2 * px(img, W, Hh, x, y - 1) + px(img, W, Hh, x + 1, y - 1) +
        2 * px(img, W, Hh, x - 1, y) + 4 * px(img, W, Hh, x, y) + 2 * px(img, W, Hh, x + 1, y) +
        px(img, W, Hh, x - 1, y + 1) + 2 * px(img, W, Hh, x, y + 1) + px(img, W, Hh, x + 1, y + 1);
      store<u8>(o + <usize>(y * W + x), <u8>((s + 8) >> 4));
    }
  }
  return output(out);
}
