/**
 * V8 compiles wasm first with its baseline compiler (Liftoff) and tiers hot functions up to
 * TurboFan per instance budget. A task runs once per fresh instance, so in practice task code
 * mostly stayed on Liftoff: 1.3-2x slower than TurboFan on the catalogue (bench/runtime
 * --liftoff), and metering cost 1.29x instead of 1.06x in the median (Liftoff keeps the fuel
 * counter in memory). Task modules are a few KB and compiled once per hash, so compiling them
 * with TurboFan up front is cheap.
 *
 * The switch is a process-wide V8 flag (V8 has no per-module option): it also applies to any
 * other wasm the process compiles afterwards. Set SWARMLET_WASM_LIFTOFF=1 (or pass
 * `liftoff: true` to createWorkerPool) to keep V8's default.
 */
import { setFlagsFromString } from 'node:v8';

let applied = false;

export function preferOptimizingCompiler(): boolean {
  if (applied) return true;
  if (process.env.SWARMLET_WASM_LIFTOFF === '1') return false;
  setFlagsFromString('--no-liftoff');
  applied = true;
  return true;
}
