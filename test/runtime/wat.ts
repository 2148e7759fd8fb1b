/** Hostile and hand-made test modules, written in WebAssembly text and compiled by binaryen. */
import binaryen from 'binaryen';

/** `names`: keep the names of functions and globals (a name section). */
export function wat(text: string, opts: { names?: boolean } = {}): Uint8Array {
  const m = binaryen.parseText(text);
  try {
    // What Node 20's V8 accepts by default (binaryen's All includes encodings V8 lacks).
    const F = binaryen.Features;
    m.setFeatures(F.MVP | F.MutableGlobals | F.BulkMemory | F.BulkMemoryOpt | F.SignExt | F.NontrappingFPToInt | F.SIMD128 | F.ReferenceTypes | F.Multivalue);
    if (!m.validate()) throw new Error('test module does not validate');
    binaryen.setDebugInfo(opts.names === true);
    return m.emitBinary();
  } finally {
    binaryen.setDebugInfo(false);
    m.dispose();
  }
}

/** An ABI v1 shell: `run` executes `body` (which must leave an i64), extra fields go in `extra`. */
export function abiModule(body: string, extra = '', memory = '(memory (export "memory") 1)'): Uint8Array {
  return wat(`(module
    (import "env" "abort" (func $abort (param i32 i32 i32 i32)))
    ${memory}
    (func (export "alloc") (param i32) (result i32) (i32.const 1024))
    (func $run (export "run") (param $p i32) (param $n i32) (result i64) ${body})
    ${extra})`);
}

/** Copies the input to 2048 and returns it: an echo task. */
export const ECHO_BODY = `(memory.copy (i32.const 2048) (local.get $p) (local.get $n))
  (i64.or (i64.shl (i64.const 2048) (i64.const 32)) (i64.extend_i32_u (local.get $n)))`;
