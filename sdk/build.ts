/** `swarmlet task build` for a task project: compile its entry to build/NAME.wasm (ABI v1 checked). */
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { sha256Hex } from '../protocol/hash.js';
import { compileAssemblyScript } from '../agent/runtime/compile.js';
import { loadProject, type TaskProject } from './project.js';

export interface ProjectBuild { project: TaskProject; file: string; size: number; hash: string; ms: number }

export async function buildProject(dir: string): Promise<ProjectBuild> {
  const t0 = performance.now();
  const project = loadProject(dir);
  mkdirSync(join(project.dir, 'build'), { recursive: true });
  // Written under a private name and renamed: a failed build never leaves half a module.
  const tmp = join('build', `.${project.name}.${process.pid}.wasm`);
  try {
    const wasm = await compileAssemblyScript({ baseDir: project.dir, entry: project.entry, outFile: tmp });
    renameSync(join(project.dir, tmp), join(project.dir, project.output));
    return { project, file: join(project.dir, project.output), size: wasm.length, hash: sha256Hex(wasm), ms: performance.now() - t0 };
  } finally {
    rmSync(join(project.dir, tmp), { force: true });
  }
}
