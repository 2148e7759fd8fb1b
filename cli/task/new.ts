/** `swarmlet task new NAME`: scaffold a task project. */
import { relative, resolve } from 'node:path';
import { CliError, defineCommand } from '../../util/cli.js';

export const create = defineCommand({
  name: 'task new',
  summary: 'Make a new AssemblyScript task project: task.json with its layout, the task, a TypeScript reference and a test.',
  usage: 'swarmlet task new NAME [--dir DIR]',
  options: { dir: { type: 'string' } },
  help: { dir: 'where to make it (default ./NAME; must not exist, or be empty)' },
  allowPositionals: true,
  details: 'Then, in that folder: swarmlet task build; swarmlet task run --input-json inputs/example.json; npm test; swarmlet task publish --gateway URL.',
  async run({ values, positionals }) {
    if (positionals.length !== 1) throw new CliError('task new: give the task\'s NAME (see: swarmlet task new --help)');
    const name = positionals[0]!;
    const dir = resolve(typeof values.dir === 'string' ? values.dir : name);
    const { scaffoldProject, ScaffoldError } = await import('../../sdk/scaffold.js');
    let files: string[];
    try { files = scaffoldProject(dir, name); } catch (e) {
      if (e instanceof ScaffoldError) throw new CliError(e.message);
      throw e;
    }
    const rel = relative(process.cwd(), dir) || '.';
    process.stdout.write(`made task ${name} in ${rel}:\n${files.map((f) => `  ${f}`).join('\n')}\nnext:\n  cd ${rel}\n  swarmlet task build\n  swarmlet task run --input-json inputs/example.json\n  swarmlet task publish --gateway http://127.0.0.1:8080\n`);
    return 0;
  },
});
