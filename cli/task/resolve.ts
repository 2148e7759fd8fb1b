/**
 * Which module and layout a `task run` or `task publish` means: a task project (a folder
 * holding task.json, or the current folder), a catalogue task by name, or a .wasm file
 * (its layout from --layout, the project it was built in, or the catalogue entry with the
 * same hash).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CliError } from '../../util/cli.js';
import { sha256Hex } from '../../protocol/hash.js';
import { parseTaskLayout, type TaskLayout } from '../../protocol/layout.js';
import { isProject, loadProject, type TaskProject } from '../../sdk/project.js';

export interface Resolved { wasm: Uint8Array; file: string | null; layout: TaskLayout | null; project: TaskProject | null; name: string | null }

export function readModuleFile(file: string, what = 'module'): Uint8Array {
  try {
    return new Uint8Array(readFileSync(file));
  } catch (e) {
    throw new CliError(`cannot read ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export function readLayoutFile(file: string): TaskLayout {
  let raw: unknown;
  try { raw = JSON.parse(readFileSync(file, 'utf8')); } catch (e) { throw new CliError(`--layout: ${(e as Error).message}`); }
  try {
    // A task.json (or an API module view) holds the layout under "layout".
    const l = typeof raw === 'object' && raw !== null && 'layout' in raw ? (raw as { layout: unknown }).layout : raw;
    return parseTaskLayout(l, `--layout ${file}`);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
}

/** The project in `dir`, or null; a broken task.json is an error. */
export function projectIn(dir: string): TaskProject | null {
  if (!isProject(dir)) return null;
  try { return loadProject(dir); } catch (e) { throw new CliError((e as Error).message); }
}

export async function resolveModule(target: string | undefined, layoutFile: string | undefined, cwd = process.cwd()): Promise<Resolved> {
  const named = target !== undefined && !target.endsWith('.wasm') ? projectIn(resolve(cwd, target)) : null;
  const project = named ?? projectIn(cwd);
  const explicit = layoutFile ? readLayoutFile(layoutFile) : null;
  if (target === undefined || named) {
    if (!project) throw new CliError('give a MODULE.wasm or a catalogue task name, or run this in a task project (swarmlet task new NAME)');
    const file = resolve(project.dir, project.output);
    const wasm = readModuleFile(file, 'the project\'s module (build it first: swarmlet task build)');
    return { wasm, file, layout: explicit ?? project.layout, project, name: project.name };
  }
  if (!target.endsWith('.wasm') && !target.includes('/')) {
    const { loadCatalogue } = await import('../../agent/runtime/catalogue.js');
    let entry;
    try { entry = loadCatalogue().byName(target); } catch (e) { throw new CliError((e as Error).message); }
    if (!entry) throw new CliError(`no catalogue task ${JSON.stringify(target)} (swarmlet task list); a module file must end in .wasm`);
    return { wasm: entry.wasm, file: null, layout: explicit ?? entry.layout, project: null, name: entry.name };
  }
  const file = resolve(cwd, target);
  const wasm = readModuleFile(file);
  if (explicit) return { wasm, file, layout: explicit, project, name: null };
  if (project && file === resolve(project.dir, project.output)) return { wasm, file, layout: project.layout, project, name: project.name };
  let layout: TaskLayout | null = null;
  try {
    const { loadCatalogue } = await import('../../agent/runtime/catalogue.js');
    layout = loadCatalogue().byHash(sha256Hex(wasm))?.layout ?? null;
  } catch { /* no catalogue built here: no layout */ }
  return { wasm, file, layout, project: null, name: null };
}
