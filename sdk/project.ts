/**
 * A task project: a folder with `task.json` (name, version, description, entry file and
 * the typed input/output layout), AssemblyScript sources and an asconfig.json, as
 * `swarmlet task new` makes it. `swarmlet task build` compiles it to build/NAME.wasm,
 * `task run` runs that with its layout, `task publish` sends it to a gateway's registry.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as v from 'valibot';
import { check } from '../util/valid.js';
import { parseTaskLayout, type TaskLayout } from '../protocol/layout.js';
import { MODULE_NAME, MODULE_NAME_RULE, MODULE_VERSION, MODULE_VERSION_RULE } from '../protocol/module-ref.js';

export const PROJECT_FILE = 'task.json';

const ProjectSchema = v.strictObject({
  name: v.pipe(v.string(), v.regex(MODULE_NAME, MODULE_NAME_RULE)),
  version: v.pipe(v.string(), v.regex(MODULE_VERSION, MODULE_VERSION_RULE)),
  description: v.optional(v.pipe(v.string(), v.maxLength(1024)), ''),
  entry: v.optional(v.pipe(v.string(), v.regex(/^[^\0]{1,200}\.ts$/, 'entry must be a .ts file')), 'assembly/index.ts'),
  layout: v.optional(v.unknown()),
});

export interface TaskProject {
  dir: string;
  name: string;
  version: string;
  description: string;
  entry: string;
  layout: TaskLayout | null;
  /** build/NAME.wasm, relative to dir. */
  output: string;
}

export class ProjectError extends Error {
  override readonly name = 'ProjectError';
}

export function isProject(dir: string): boolean {
  return existsSync(join(dir, PROJECT_FILE));
}

export function loadProject(dir: string): TaskProject {
  const abs = resolve(dir);
  const file = join(abs, PROJECT_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ProjectError(`${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found (make a project with: swarmlet task new NAME)' : (e as Error).message}`);
  }
  const r = check(ProjectSchema, raw);
  if (!r.ok) throw new ProjectError(`${file}: ${r.reason}`);
  let layout: TaskLayout | null = null;
  if (r.value.layout !== undefined) {
    try { layout = parseTaskLayout(r.value.layout, `${PROJECT_FILE}: layout`); } catch (e) { throw new ProjectError((e as Error).message); }
  }
  return { dir: abs, name: r.value.name, version: r.value.version, description: r.value.description, entry: r.value.entry, layout, output: join('build', `${r.value.name}.wasm`) };
}
