/** `swarmlet task build|run`: placeholder until the runtime lands (issue 3). */
import { defineCommand } from '../../util/cli.js';
import type { Group } from '../main.js';

const build = defineCommand({
  name: 'task build',
  summary: 'Compile the AssemblyScript tasks in tasks/ to tasks/build/*.wasm.',
  usage: 'swarmlet task build',
  options: {},
  help: {},
  run() {
    return 0;
  },
});

const group: Group = { name: 'task', summary: 'Build and run wasm tasks locally.', commands: [build] };
export default group;
