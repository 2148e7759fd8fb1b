// mandelbrot: [x0 f64][y0 f64][step f64][width u32][height u32][maxIter u32] -> width*height
// u16 escape counts (row-major). Pixel (px, py) is c = (x0 + px*step, y0 + py*step).
// Limits: width*height <= 262144 (the output, 2 bytes a pixel, at most 512 KiB), maxIter
// <= 65535, and width*height*maxIter <= 2^25, so even a tile inside the set (every pixel
// runs maxIter iterations) fits the default fuel budget. Deeper zooms: smaller tiles.
import { input, output, u32At, f64At, fail } from 'swarmlet/abi';
export { alloc } from 'swarmlet/abi';

export function run(ptr: i32, len: i32): i64 {
  const a = input(ptr, len);
  if (len != 36) fail('mandelbrot: input must be 36 bytes');
  const x0 = f64At(a, 0), y0 = f64At(a, 8), step = f64At(a, 16);
  const w = u32At(a, 24), h = u32At(a, 28), maxIter = u32At(a, 32);
  if (w > 4096 || h > 4096 || <u64>w * h > 262144) fail('mandelbrot: tile over 262144 pixels (512 KiB of output)');
  if (maxIter > 65535) fail('mandelbrot: maxIter over 65535');
  if (<u64>w * h * maxIter > 33554432) fail('mandelbrot: width*height*maxIter over 2^25 (33554432)');
  const out = new Uint8Array(<i32>(w * h * 2));
  const o = out.dataStart;
  for (let py: u32 = 0; py < h; py++) {
    const cy = y0 + <f64>py * step;
    for (let px: u32 = 0; px < w; px++) {
      const cx = x0 + <f64>px * step;
      let x: f64 = 0, y: f64 = 0;
      let i: u32 = 0;
      while (i < maxIter) {
        const x2 = x * x, y2 = y * y;
        if (x2 + y2 > 4.0) break;
        y = 2.0 * x * y + cy;
        x = x2 - y2 + cx;
        i++;
      }
      store<u16>(o + <usize>((py * w + px) * 2), <u16>i);
    }
  }
  return output(out);
}
