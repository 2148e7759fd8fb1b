/** `swarmlet up`: the whole local mesh. Placeholder until the gateway lands (issue 6). */
import { defineCommand } from '../../util/cli.js';

export default defineCommand({
  name: 'up',
  summary: 'Run the whole local mesh: broker, gateway with dashboard, and simulated devices.',
  usage: 'swarmlet up [--port N]',
  options: {},
  help: {},
  run() {
    process.stdout.write('swarmlet up: the local mesh (broker, gateway, simulated fleet) is not assembled yet; see README.md\n');
    return 0;
  },
});
