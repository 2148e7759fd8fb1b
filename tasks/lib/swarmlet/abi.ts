// Task ABI v1 helper (see tasks/README.md), the AssemblyScript library every task imports as
// 'swarmlet/abi' (`swarmlet task build` puts tasks/lib on the compiler's package path). A task
// module exports `memory`, `alloc` and `run(ptr, len) -> i64` where the result is
// (outPtr << 32) | outLen. This helper turns that raw-pointer contract into
// `Uint8Array in, Uint8Array out`, so a task reads:
//
//   import { input, output } from 'swarmlet/abi';
//   export { alloc } from 'swarmlet/abi';
//   export function run(ptr: i32, len: i32): i64 { return output(work(input(ptr, len))); }
//
// Built with `--runtime stub`: memory is a bump allocator that never frees, which is right
// for a module instantiated fresh for every task.

/** The host calls this to get a buffer of `len` bytes, then writes the task input there. */
export function alloc(len: i32): i32 {
  if (len < 0) abort('alloc: negative length');
  return <i32>heap.alloc(<usize>len);
}

/** Copy the input the host wrote at ptr into a typed array the task can own. */
export function input(ptr: i32, len: i32): Uint8Array {
  const a = new Uint8Array(len);
  memory.copy(a.dataStart, <usize>ptr, <usize>len);
  return a;
}

/** Pack an output array into run()'s return value. */
export function output(out: Uint8Array): i64 {
  return (<i64>out.dataStart << 32) | <i64>out.length;
}

/** Refuse malformed input with a message (the host reports it as a 'trap'). */
export function fail(message: string): void {
  abort(message);
}

// Little-endian readers and writers over a Uint8Array, bounds-checked.
export function u32At(a: Uint8Array, off: i32): u32 {
  if (off < 0 || off + 4 > a.length) abort('input too short');
  return load<u32>(a.dataStart + <usize>off);
}
export function f32At(a: Uint8Array, off: i32): f32 {
  if (off < 0 || off + 4 > a.length) abort('input too short');
  return load<f32>(a.dataStart + <usize>off);
}
export function f64At(a: Uint8Array, off: i32): f64 {
  if (off < 0 || off + 8 > a.length) abort('input too short');
  return load<f64>(a.dataStart + <usize>off);
}
export function putU32(a: Uint8Array, off: i32, v: u32): void {
  if (off < 0 || off + 4 > a.length) abort('output overflow');
  store<u32>(a.dataStart + <usize>off, v);
}
export function putF32(a: Uint8Array, off: i32, v: f32): void {
  if (off < 0 || off + 4 > a.length) abort('output overflow');
  store<f32>(a.dataStart + <usize>off, v);
}
export function putF64(a: Uint8Array, off: i32, v: f64): void {
  if (off < 0 || off + 8 > a.length) abort('output overflow');
  store<f64>(a.dataStart + <usize>off, v);
}
