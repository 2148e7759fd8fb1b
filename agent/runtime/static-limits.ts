/**
 * Static limits on a task module, checked in plain JS (wasm-sections.ts, wasm-code.ts)
 * before binaryen or V8 sees the bytes. Each bounds a resource that would otherwise scale
 * with a number the module author picks; tasks/README.md lists them with the reasons. The
 * catalogue's largest figures are far below every limit (test/runtime/static-limits.test.ts).
 */
import { MAX_MODULE_BYTES } from '../../protocol/messages.js';

export const STATIC_LIMITS = Object.freeze({
  /** The protocol's module size (messages.ts): bounds every count below that costs a byte each. */
  moduleBytes: MAX_MODULE_BYTES,
  /** Function types: V8 canonicalises signatures in a process-wide table that never shrinks. */
  types: 1_000,
  /** Parameters of one function type (each is a slot in every frame of that function). */
  params: 64,
  /** Functions the module defines: V8 keeps per-function metadata and compile jobs. */
  functions: 10_000,
  /** Bytes of one function body: optimising compile time and memory grow faster than linearly with it. */
  functionBytes: 64 * 1024,
  /**
   * Loops in one function: the optimising compiler's time and memory grow with the square
   * of it once every loop carries a fuel check (800 loops: 0.12 s and 50 MB here; 3,200: 2.3 s, 700 MB).
   */
  loops: 500,
  /** Parameters plus locals of one function: its frame size, and register-allocation work. */
  locals: 1_000,
  /** Operand stack height inside one function: the rest of its frame size. */
  operandStack: 1_000,
  /**
   * Height of a function's expression tree (blocks nested in blocks, operands in operands):
   * binaryen and the instrumenter walk it recursively, and a fresh process (cold code, large
   * frames) overflows the native stack at a depth a warm one survives.
   */
  nesting: 1_000,
  /** Entries of the one table: V8 allocates the table on the JS heap at instantiation. */
  tableEntries: 10_000,
  /** Element segments and their entries in total (each entry is written at instantiation). */
  elementSegments: 1_000,
  elementEntries: 10_000,
  /** Globals and data segments (per-instance state made at instantiation). */
  globals: 1_000,
  dataSegments: 10_000,
  /** Exports (the ABI needs three; each is a property made on every instance). */
  exports: 1_000,
});

export type StaticLimits = typeof STATIC_LIMITS;
