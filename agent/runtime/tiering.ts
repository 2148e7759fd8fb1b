/**
 * V8 compiles wasm first with its baseline compiler (Liftoff) and tiers hot functions up to
 * TurboFan per instance budget. A task runs once per fresh instance, so in practice task code
 * stayed on Liftoff: 2-10x slower than TurboFan on these tasks, and it made metering look
 * 1.5-4.5x dearer than it is (Liftoff does not optimise the fuel counter). Task modules are a
 * few KB and compiled once per hash, so compiling them with TurboFan up front is cheap.
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
