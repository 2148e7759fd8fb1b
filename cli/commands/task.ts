/** `swarmlet task new|build|run|list|publish`: write, build, run and publish wasm tasks. */
import { CliError, defineCommand } from '../../util/cli.js';
import type { Group } from '../main.js';
import { create } from '../task/new.js';
import { publish } from '../task/publish.js';
import { projectIn } from '../task/resolve.js';
import { run } from '../task/run.js';

const build = defineCommand({
  name: 'task build',
  summary: 'Compile a task project (DIR, or this folder when it holds task.json) or, elsewhere, the catalogue in tasks/.',
  usage: 'swarmlet task build [DIR] [--force]',
  options: { force: { type: 'boolean' } },
  help: { force: 'catalogue: rebuild even when the sources have not changed' },
  allowPositionals: true,
  details: 'A project builds to DIR/build/NAME.wasm, checked against ABI v1. The catalogue build skips the compile when tasks/build/manifest.json already matches every source (npm install runs it).',
  async run({ values, positionals }) {
    if (positionals.length > 1) throw new CliError('task build: give at most one project folder');
    const dir = positionals[0];
    if (dir !== undefined || projectIn(process.cwd())) {
      if (dir !== undefined && !projectIn(dir)) throw new CliError(`task build: ${dir} holds no task.json (make a project with: swarmlet task new NAME)`);
      const { buildProject } = await import('../../sdk/build.js');
      let b;
      try { b = await buildProject(dir ?? process.cwd()); } catch (e) { throw new CliError((e as Error).message.split('\n').slice(0, 12).join('\n')); }
      process.stdout.write(`built ${b.project.output} (${b.size} bytes, sha256 ${b.hash}) in ${Math.round(b.ms)} ms\n`);
      return 0;
    }
    const { buildTasks } = await import('../../agent/runtime/build-tasks.js');
    const r = await buildTasks({ force: values.force === true, log: (l) => process.stderr.write(l + '\n') });
    process.stdout.write(r.skipped
      ? `tasks up to date (${r.manifest.tasks.length} modules)\n`
      : `built ${r.built.length} task modules in ${Math.round(r.ms)} ms: ${r.built.join(', ')}\n`);
    return 0;
  },
});

const list = defineCommand({
  name: 'task list',
  summary: 'List the built catalogue tasks (name, sha256, input and output layouts).',
  usage: 'swarmlet task list [--json]',
  options: { json: { type: 'boolean' } },
  help: { json: 'print one JSON line per task' },
  async run({ values }) {
    const { loadCatalogue } = await import('../../agent/runtime/catalogue.js');
    const { describeLayout } = await import('../../protocol/layout.js');
    let cat;
    try {
      cat = loadCatalogue();
    } catch (e) {
      throw new CliError((e as Error).message);
    }
    for (const e of cat.entries) {
      process.stdout.write(values.json
        ? JSON.stringify({ name: e.name, hash: e.hashHex, description: e.description, input: e.input, output: e.output, layout: e.layout }) + '\n'
        : `${e.name.padEnd(11)} ${e.hashHex}\n            in:  ${describeLayout(e.layout.input)}\n            out: ${describeLayout(e.layout.output)}\n            (${e.input})\n`);
    }
    return 0;
  },
});

const group: Group = { name: 'task', summary: 'Write, build, run and publish wasm tasks.', commands: [create, build, run, list, publish] };
export default group;
