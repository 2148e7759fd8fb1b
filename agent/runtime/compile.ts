/**
 * Compiling one AssemblyScript task with asc: the catalogue build and `swarmlet task build`
 * of a task project share it. swarmlet's task library (tasks/lib: `import ... from
 * 'swarmlet/abi'`) is on the compiler's package path, so a project needs no copy of it.
 * Every module is checked against ABI v1 before it is handed back.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { taskLibDir } from '../../util/paths.js';
import { checkAbi } from './abi-check.js';

export interface CompileOptions {
  /** Folder the other paths are relative to (holds asconfig.json). */
  baseDir: string;
  /** The task's entry file, e.g. assembly/index.ts. */
  entry: string;
  /** Where the module goes, e.g. build/task.wasm. */
  outFile: string;
  /** asconfig file (default asconfig.json) and its target (default release). */
  config?: string;
  target?: string;
}

export class CompileError extends Error {
  override readonly name = 'CompileError';
}

export async function compileAssemblyScript(o: CompileOptions): Promise<Uint8Array> {
  const config = o.config ?? 'asconfig.json';
  if (!existsSync(join(o.baseDir, o.entry))) throw new CompileError(`${o.entry} does not exist in ${o.baseDir}`);
  if (!existsSync(join(o.baseDir, config))) throw new CompileError(`${config} does not exist in ${o.baseDir}`);
  const { default: asc } = await import('assemblyscript/asc');
  let errText = '';
  const res = await asc.main(
    [o.entry, '--baseDir', o.baseDir, '--config', config, '--target', o.target ?? 'release', '--outFile', o.outFile, '--path', taskLibDir()],
    { stdout: { write: () => true } as never, stderr: { write: (s: string | Uint8Array) => { errText += String(s); return true; } } as never },
  );
  if (res.error) throw new CompileError(`asc failed on ${o.entry}: ${res.error.message}\n${errText.trim()}`);
  const wasm = new Uint8Array(readFileSync(join(o.baseDir, o.outFile)));
  const abi = checkAbi(wasm);
  if (!abi.ok) throw new CompileError(`${o.entry} compiled to a module outside ABI v1 (${abi.kind}): ${abi.message}`);
  return wasm;
}
