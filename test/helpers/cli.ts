/** Running the real CLI (and a task project's own test) as child processes. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { projectRoot } from '../../util/paths.js';

export const CLI = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

/** `node SCRIPT ...cmd` in `cwd` (default script: the swarmlet CLI; null: node's own options). */
export function run(cmd: string[], cwd: string, script: string | null = CLI): Promise<{ code: number; stdout: string; stderr: string; bytes: Buffer }> {
  // Not NODE_TEST_CONTEXT: a `node --test` child would take itself for a nested run and skip its files.
  const { NODE_TEST_CONTEXT: _, SWARMLET_TOKEN: __, ...env } = process.env;
  return new Promise((resolve) => {
    const c = spawn(process.execPath, script ? [script, ...cmd] : cmd, { cwd, env: { ...env, SWARMLET_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    c.stdout!.on('data', (d: Buffer) => { out.push(d); });
    c.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    c.on('close', (code) => {
      const bytes = Buffer.concat(out);
      resolve({ code: code ?? -1, stdout: bytes.toString(), stderr, bytes });
    });
  });
}

/** A task project's own `npm test` without npm: tsc (swarmlet's, with its @types) then node --test. */
export async function projectTest(dir: string): Promise<{ code: number; out: string }> {
  const tsc = join(projectRoot(), 'node_modules', 'typescript', 'bin', 'tsc');
  const t = await run(['-p', 'tsconfig.json', '--typeRoots', join(projectRoot(), 'node_modules', '@types')], dir, tsc);
  if (t.code !== 0) return { code: t.code, out: t.stdout + t.stderr };
  const r = await run(['--test', 'build/test/task.test.js'], dir, null);
  return { code: r.code, out: r.stdout + r.stderr };
}
