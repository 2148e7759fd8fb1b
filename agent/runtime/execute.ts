/**
 * One task on one fresh instance, synchronously, in the calling thread (the pool calls this
 * inside a worker; the benchmark calls it directly). Every failure becomes a typed outcome.
 *
 * The import object is frozen and holds only env.abort (and, for a metered module, the
 * memory the host made for it with `maximum` = the page cap): no clock, no randomness.
 */
import type { FailureKind } from '../../protocol/messages.js';
import { MAX_PAYLOAD_BYTES } from '../../protocol/messages.js';
import type { RunOutcome } from './types.js';
import { METER, STACK_SLOTS } from './meter.js';

/** A task called env.abort (an AssemblyScript assertion, or a task refusing its input). */
class TaskAbort extends Error {}

export interface ExecuteLimits { fuel: number; memoryPages: number }
export interface MemoryShape { initialPages: number; maximumPages: number | null }

/** Read an AssemblyScript string (UTF-16, byte length at ptr - 4) defensively. */
function readAsString(mem: WebAssembly.Memory | undefined, ptr: number): string {
  if (!mem || !ptr) return '';
  const buf = mem.buffer;
  ptr >>>= 0;
  if (ptr < 4 || ptr > buf.byteLength) return '';
  const len = new DataView(buf).getUint32(ptr - 4, true);
  const n = Math.min(len, 512, buf.byteLength - ptr) & ~1;
  let s = '';
  const dv = new DataView(buf, ptr, n);
  for (let i = 0; i < n; i += 2) s += String.fromCharCode(dv.getUint16(i, true));
  return s;
}

const PAGE = 65536;
/** Whether a compiled module is metered (asking costs an array of all its exports). */
const meteredModules = new WeakMap<WebAssembly.Module, boolean>();
/**
 * One spare memory per shape (initial/maximum pages), zeroed, from a task that did not grow
 * it: making a WebAssembly.Memory (a large address-space reservation, then garbage) cost
 * more than a small task itself. Every task still starts on all-zero memory.
 */
const spares = new Map<string, WebAssembly.Memory>();
const MAX_SPARES = 8;
/** Bytes of wasm memory that became garbage (not kept as a spare) since takeDroppedBytes(). */
let droppedBytes = 0;

/** For the caller's GarbageBudget (gc-budget.ts): memory dropped since the last call. */
export function takeDroppedBytes(): number {
  const n = droppedBytes;
  droppedBytes = 0;
  return n;
}

function takeMemory(initial: number, maximum: number): WebAssembly.Memory {
  const key = `${initial}/${maximum}`;
  const m = spares.get(key);
  if (m) { spares.delete(key); return m; }
  return new WebAssembly.Memory({ initial, maximum });
}

function giveBack(m: WebAssembly.Memory, initial: number, maximum: number): void {
  if (m.buffer.byteLength !== initial * PAGE) { droppedBytes += m.buffer.byteLength; return; } // grown: its size is not this shape's any more
  new Uint8Array(m.buffer).fill(0);
  if (spares.size >= MAX_SPARES) {
    const oldest = spares.keys().next().value!;
    droppedBytes += spares.get(oldest)!.buffer.byteLength;
    spares.delete(oldest);
  }
  spares.set(`${initial}/${maximum}`, m);
}

export function execute(module: WebAssembly.Module, input: Uint8Array, limits: ExecuteLimits, shape: MemoryShape): RunOutcome {
  const started = performance.now();
  let exports: WebAssembly.Exports | undefined;
  let memory: WebAssembly.Memory | undefined;
  let metered = meteredModules.get(module);
  if (metered === undefined) meteredModules.set(module, (metered = WebAssembly.Module.exports(module).some((e) => e.name === METER.init)));
  const fail = (kind: FailureKind, message: string, fuel = 0): RunOutcome =>
    ({ ok: false, error: { kind, message: message.slice(0, 500) }, fuel, wallMs: performance.now() - started });

  if (shape.initialPages > limits.memoryPages) {
    return fail('memory-limit', `module asks for ${shape.initialPages} initial pages, over the cap of ${limits.memoryPages}`);
  }
  const abort = (msg: number, file: number, line: number, col: number): never => {
    const m = readAsString(memory, msg), f = readAsString(memory, file);
    throw new TaskAbort(`abort${m ? `: ${m}` : ''}${f ? ` at ${f}:${line >>> 0}:${col >>> 0}` : ''}`);
  };
  const env = Object.freeze({ abort });
  let imports: WebAssembly.Imports;
  // The module's own declared maximum counts as its cap when it is lower.
  const maximum = Math.min(limits.memoryPages, shape.maximumPages ?? limits.memoryPages);
  let hostMemory: WebAssembly.Memory | null = null;
  if (metered) {
    memory = hostMemory = takeMemory(shape.initialPages, maximum);
    imports = Object.freeze({ env, [METER.memoryModule]: Object.freeze({ [METER.memoryName]: memory }) }) as WebAssembly.Imports;
  } else {
    imports = Object.freeze({ env }) as WebAssembly.Imports;
  }

  const fuelLeft = (): number => (metered && exports ? Number((exports[METER.fuel] as () => bigint)()) : 0);
  const used = (): number => (metered ? Math.min(limits.fuel, limits.fuel - fuelLeft()) : 0);
  try {
    exports = new WebAssembly.Instance(module, imports).exports;
    if (!metered) memory = exports.memory as WebAssembly.Memory;
    if (metered) {
      (exports[METER.init] as (f: bigint, cap: number) => void)(BigInt(limits.fuel), maximum);
      (exports[METER.start] as (() => void) | undefined)?.();
    }
    const alloc = exports.alloc as (n: number) => number;
    const run = exports.run as (p: number, n: number) => unknown;
    const ptr = alloc(input.length) >>> 0;
    if (ptr + input.length > memory!.buffer.byteLength) return fail('bad-output', `alloc returned ${ptr}, outside memory`, used());
    new Uint8Array(memory!.buffer, ptr, input.length).set(input);
    const r = run(ptr, input.length);
    if (typeof r !== 'bigint') return fail('bad-output', 'run must return an i64 (outPtr << 32 | outLen)', used());
    const outPtr = Number((r >> 32n) & 0xffffffffn), outLen = Number(r & 0xffffffffn);
    const size = memory!.buffer.byteLength;
    if (outPtr + outLen > size) return fail('bad-output', `output [${outPtr}, +${outLen}) is outside memory (${size} bytes)`, used());
    if (outLen > MAX_PAYLOAD_BYTES) return fail('bad-output', `output of ${outLen} bytes is over the ${MAX_PAYLOAD_BYTES}-byte limit`, used());
    const output = new Uint8Array(memory!.buffer.slice(outPtr, outPtr + outLen));
    return { ok: true, output, fuel: used(), wallMs: performance.now() - started };
  } catch (e) {
    return classify(e, exports, metered, limits, fail, used);
  } finally {
    // The outcome holds copies only (output slice, strings): the memory can be wiped and reused.
    if (hostMemory) giveBack(hostMemory, shape.initialPages, maximum);
    else if (memory) droppedBytes += memory.buffer.byteLength;
  }
}

function classify(
  e: unknown, exports: WebAssembly.Exports | undefined, metered: boolean, limits: ExecuteLimits,
  fail: (k: FailureKind, m: string, fuel?: number) => RunOutcome, used: () => number,
): RunOutcome {
  if (!exports) {
    // Instantiation itself failed (link error, or a data segment out of bounds).
    return fail(e instanceof WebAssembly.RuntimeError ? 'trap' : 'invalid-module', `instantiation failed: ${(e as Error)?.message ?? String(e)}`);
  }
  if (metered && (exports[METER.growFailed] as () => number)() !== 0) {
    return fail('memory-limit', `memory.grow refused past the cap of ${limits.memoryPages} pages`, used());
  }
  if (metered && Number((exports[METER.fuel] as () => bigint)()) < 0) {
    return fail('fuel-exhausted', `fuel limit of ${limits.fuel} exhausted`, limits.fuel);
  }
  if (metered && ((exports[METER.stack] as (() => number) | undefined)?.() ?? 0) < 0) {
    return fail('trap', `call stack exhausted (budget of ${STACK_SLOTS} slots)`, used());
  }
  if (e instanceof TaskAbort) return fail('trap', e.message, used());
  if (e instanceof RangeError && /call stack/i.test(e.message)) return fail('trap', 'stack overflow', used());
  if (e instanceof WebAssembly.RuntimeError) return fail('trap', e.message, used());
  return fail('trap', (e as Error)?.message ?? String(e), used());
}
