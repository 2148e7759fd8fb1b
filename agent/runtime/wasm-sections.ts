/**
 * A small reader for the parts of a wasm binary that admission needs before anything else
 * touches it: imports, exports, memories and the start function. Pure JS, bounded by the
 * input length, throws WasmFormatError on anything malformed (callers map that to
 * 'invalid-module'). It does not validate code: WebAssembly.validate does that.
 */
export class WasmFormatError extends Error {
  override readonly name = 'WasmFormatError';
}

export type ExternKind = 'function' | 'table' | 'memory' | 'global' | 'tag';
const KINDS: ExternKind[] = ['function', 'table', 'memory', 'global', 'tag'];

export interface Limits { initial: number; maximum: number | null; shared: boolean; is64: boolean }

export interface ModuleInfo {
  imports: { module: string; name: string; kind: ExternKind }[];
  exports: { name: string; kind: ExternKind }[];
  /** Memories defined by the module (imported memories are listed in `imports`). */
  memories: Limits[];
  hasStart: boolean;
}

class Reader {
  pos = 0;
  constructor(readonly b: Uint8Array, readonly end = b.length) {}
  byte(): number {
    if (this.pos >= this.end) throw new WasmFormatError('unexpected end of module');
    return this.b[this.pos++]!;
  }
  /** Unsigned LEB128 up to 64 bits, as a JS number (exact below 2^53, saturating above). */
  leb(): number {
    let result = 0, mul = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
    throw new WasmFormatError('LEB128 number too long');
  }
  bytes(n: number): Uint8Array {
    if (n > this.end - this.pos) throw new WasmFormatError('length runs past the end');
    const out = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  name(): string {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(this.bytes(this.leb()));
    } catch (e) {
      if (e instanceof WasmFormatError) throw e;
      throw new WasmFormatError('name is not valid UTF-8');
    }
  }
  limits(): Limits {
    const flags = this.byte();
    if (flags > 7) throw new WasmFormatError(`unknown limits flags ${flags}`);
    const initial = this.leb();
    const maximum = flags & 1 ? this.leb() : null;
    return { initial, maximum, shared: (flags & 2) !== 0, is64: (flags & 4) !== 0 };
  }
}

export function readModuleInfo(bytes: Uint8Array): ModuleInfo {
  const r = new Reader(bytes);
  const magic = r.bytes(4);
  if (magic[0] !== 0 || magic[1] !== 0x61 || magic[2] !== 0x73 || magic[3] !== 0x6d) throw new WasmFormatError('not a WebAssembly module (bad magic)');
  const version = r.bytes(4);
  if (version[0] !== 1 || version[1] !== 0 || version[2] !== 0 || version[3] !== 0) throw new WasmFormatError('unsupported WebAssembly version');
  const info: ModuleInfo = { imports: [], exports: [], memories: [], hasStart: false };
  while (r.pos < r.end) {
    const id = r.byte();
    const size = r.leb();
    const body = new Reader(bytes.subarray(0, r.pos + size), r.pos + size);
    if (r.pos + size > r.end) throw new WasmFormatError(`section ${id} runs past the end`);
    body.pos = r.pos;
    r.pos += size;
    if (id === 2) {
      for (let n = body.leb(), i = 0; i < n; i++) {
        const module = body.name(), name = body.name(), k = body.byte();
        const kind = KINDS[k];
        if (!kind) throw new WasmFormatError(`unknown import kind ${k}`);
        if (kind === 'function') body.leb();
        else if (kind === 'table') { body.byte(); body.limits(); }
        else if (kind === 'memory') body.limits();
        else if (kind === 'global') { body.byte(); body.byte(); }
        else { body.byte(); body.leb(); }
        info.imports.push({ module, name, kind });
      }
    } else if (id === 5) {
      for (let n = body.leb(), i = 0; i < n; i++) info.memories.push(body.limits());
    } else if (id === 7) {
      for (let n = body.leb(), i = 0; i < n; i++) {
        const name = body.name(), k = body.byte();
        const kind = KINDS[k];
        if (!kind) throw new WasmFormatError(`unknown export kind ${k}`);
        body.leb();
        info.exports.push({ name, kind });
      }
    } else if (id === 8) {
      info.hasStart = true;
    }
  }
  return info;
}
