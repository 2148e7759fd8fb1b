// mlp: N windows of 16 int8 sensor samples -> N class bytes (0 flat, 1 rising, 2 falling,
// 3 oscillating), by int8 inference of the 16-32-4 classifier in tasks/mlp/weights.json.
// The build turns that JSON into tasks/build/gen/mlp_weights.ts (static data in the module).
import { input, output, fail } from 'swarmlet/abi';
import { IN, HID, OUT, W1, B1, M1, W2, B2 } from '../build/gen/mlp_weights';
export { alloc } from 'swarmlet/abi';

const h = new StaticArray<i32>(HID);

export function run(ptr: i32, len: i32): i64 {
  const a = input(ptr, len);
  if (len % IN != 0) fail('mlp: input is not a whole number of 16-sample windows');
  const n = len / IN;
  const out = new Uint8Array(n);
  for (let s = 0; s < n; s++) {
    const x = a.dataStart + <usize>(s * IN);
    for (let j = 0; j < HID; j++) {
      // unchecked(): j < HID, i < IN, k < OUT are the arrays' own sizes.
      let acc: i32 = unchecked(B1[j]);
      for (let i = 0; i < IN; i++) acc += <i32>load<i8>(x + <usize>i) * <i32>unchecked(W1[j * IN + i]);
      const v = (acc * M1) >> 16;
      unchecked(h[j] = v < 0 ? 0 : (v > 127 ? 127 : v));
    }
    let best = 0;
    let bestV: i32 = 0;
    for (let k = 0; k < OUT; k++) {
      let acc: i32 = unchecked(B2[k]);
      for (let j = 0; j < HID; j++) acc += unchecked(h[j]) * <i32>unchecked(W2[k * HID + j]);
      if (k == 0 || acc > bestV) { best = k; bestV = acc; }
    }
    out[s] = <u8>best;
  }
  return output(out);
}
