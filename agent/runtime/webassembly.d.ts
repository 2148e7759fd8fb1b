/**
 * The part of the WebAssembly JS API the runtime uses. @types/node 20 does not declare the
 * global (it lives in lib.dom), and the project compiles without the DOM lib.
 */
declare namespace WebAssembly {
  type Bytes = ArrayBufferView | ArrayBuffer;
  type ImportValue = Function | Global | Memory | Table | number | bigint;
  type Imports = Record<string, Record<string, ImportValue>>;
  type Exports = Record<string, Function | Global | Memory | Table>;
  interface ModuleExportDescriptor { name: string; kind: 'function' | 'table' | 'memory' | 'global' | 'tag' }
  interface ModuleImportDescriptor { module: string; name: string; kind: 'function' | 'table' | 'memory' | 'global' | 'tag' }
  class Module {
    constructor(bytes: Bytes);
    static imports(m: Module): ModuleImportDescriptor[];
    static exports(m: Module): ModuleExportDescriptor[];
  }
  class Instance {
    constructor(m: Module, imports?: Imports);
    readonly exports: Exports;
  }
  class Memory {
    constructor(d: { initial: number; maximum?: number; shared?: boolean });
    readonly buffer: ArrayBuffer;
    grow(delta: number): number;
  }
  class Table {
    constructor(d: { element: 'anyfunc' | 'externref'; initial: number; maximum?: number });
    readonly length: number;
  }
  class Global {
    constructor(d: { value: string; mutable?: boolean }, v?: unknown);
    value: unknown;
  }
  class CompileError extends Error {}
  class LinkError extends Error {}
  class RuntimeError extends Error {}
  function validate(bytes: Bytes): boolean;
  function compile(bytes: Bytes): Promise<Module>;
  function instantiate(m: Module, imports?: Imports): Promise<Instance>;
}
