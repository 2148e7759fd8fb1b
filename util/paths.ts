/** Locating files that ship with the package, from source (dist/) or installed. */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/** The package root: the nearest folder above this file that holds package.json. */
export function projectRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the swarmlet package root');
    dir = up;
  }
  return (cached = dir);
}

export const tasksBuildDir = (): string => join(projectRoot(), 'tasks', 'build');
/** AssemblyScript libraries tasks import ('swarmlet/abi' is tasks/lib/swarmlet/abi.ts). */
export const taskLibDir = (): string => join(projectRoot(), 'tasks', 'lib');
