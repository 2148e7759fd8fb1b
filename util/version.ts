/** swarmlet's own version (package.json), read once. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from './paths.js';

let cached: string | undefined;

export function swarmletVersion(): string {
  if (cached === undefined) {
    try {
      const v = (JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version?: unknown }).version;
      cached = typeof v === 'string' ? v.slice(0, 32) : 'unknown';
    } catch {
      cached = 'unknown';
    }
  }
  return cached;
}
