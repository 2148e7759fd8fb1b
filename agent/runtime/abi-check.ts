/**
 * Static admission checks for ABI v1, done in plain JS before any compiler sees the bytes:
 * well-formed, only the features ABI v1 allows, inside the static limits (static-limits.ts),
 * valid wasm, the only import is env.abort, exports memory/alloc/run, one 32-bit unshared
 * memory whose initial size fits the page cap. Linear in the module's size.
 */
import type { FailureKind } from '../../protocol/messages.js';
import { MAX_MODULE_BYTES } from '../../protocol/messages.js';
import { readModuleInfo, WasmFormatError, type ModuleInfo } from './wasm-sections.js';
import { scanCode, type FunctionStats } from './wasm-code.js';

/** Export names the instrumentation adds; a module may not use them itself. */
export const RESERVED_PREFIX = '__swarmlet';
/** The wasm spec's own ceiling: 65536 pages of 64 KiB = 4 GiB. */
export const MAX_PAGES = 65536;

export type AbiCheck =
  | { ok: true; info: ModuleInfo; functions: FunctionStats[]; initialPages: number; maximumPages: number | null }
  | { ok: false; kind: FailureKind; message: string };

export function checkAbi(bytes: Uint8Array, opts: { maxMemoryPages?: number } = {}): AbiCheck {
  const fail = (kind: FailureKind, message: string): AbiCheck => ({ ok: false, kind, message });
  if (!(bytes instanceof Uint8Array)) return fail('invalid-module', 'module must be bytes');
  if (bytes.length > MAX_MODULE_BYTES) return fail('invalid-module', `module is ${bytes.length} bytes, over the ${MAX_MODULE_BYTES}-byte limit`);
  let info: ModuleInfo;
  try {
    info = readModuleInfo(bytes);
  } catch (e) {
    if (e instanceof WasmFormatError) return fail('invalid-module', e.message);
    throw e;
  }
  // Imports are judged before full validation so a foreign import is named as such.
  const foreign = info.imports.filter((i) => !(i.module === 'env' && i.name === 'abort' && i.kind === 'function'));
  if (foreign.length > 0) {
    const names = foreign.slice(0, 5).map((i) => `${i.module}.${i.name} (${i.kind})`).join(', ');
    return fail('forbidden-import', `imports outside ABI v1 (only env.abort is allowed): ${names}${foreign.length > 5 ? ', ...' : ''}`);
  }
  if (info.refused) return fail('invalid-module', info.refused);
  let code;
  try {
    code = scanCode(bytes, info);
  } catch (e) {
    if (e instanceof WasmFormatError) return fail('invalid-module', e.message);
    throw e;
  }
  if (!code.ok) return fail('invalid-module', code.refused);
  if (!WebAssembly.validate(bytes)) return fail('invalid-module', 'module does not validate');
  const exp = new Map(info.exports.map((e) => [e.name, e.kind] as const));
  for (const [name, kind] of [['memory', 'memory'], ['alloc', 'function'], ['run', 'function']] as const) {
    if (exp.get(name) !== kind) return fail('invalid-module', `ABI v1 needs an exported ${kind} named '${name}'`);
  }
  const reserved = info.exports.find((e) => e.name.startsWith(RESERVED_PREFIX));
  if (reserved) return fail('invalid-module', `export name '${reserved.name}' is reserved for the runtime`);
  if (info.memories.length !== 1) return fail('invalid-module', `expected exactly one memory, found ${info.memories.length}`);
  const mem = info.memories[0]!;
  if (mem.is64 || mem.shared) return fail('invalid-module', 'memory must be 32-bit and not shared');
  const cap = opts.maxMemoryPages;
  if (cap !== undefined && mem.initial > cap) {
    return fail('memory-limit', `module asks for ${mem.initial} initial pages, over the cap of ${cap}`);
  }
  return { ok: true, info, functions: code.functions, initialPages: mem.initial, maximumPages: mem.maximum };
}
