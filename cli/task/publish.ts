/** `swarmlet task publish`: send a module to a gateway's registry as name@version (operator token). */
import { CliError, defineCommand } from '../../util/cli.js';
import { CLIENT_HELP, CLIENT_OPTIONS, GatewayClient } from '../gateway-client.js';
import { projectIn, readLayoutFile, readModuleFile } from './resolve.js';

interface Published { ref: string; hash: string; size: number; created: boolean }

export const publish = defineCommand({
  name: 'task publish',
  summary: 'Publish a task module to a gateway\'s registry as NAME@VERSION; devices fetch it, jobs name it.',
  usage: 'swarmlet task publish [FILE.wasm | DIR] --gateway URL [--name NAME] [--version V] [--description TEXT] [--layout FILE] [--token T] [--json]',
  options: {
    ...CLIENT_OPTIONS,
    name: { type: 'string' },
    version: { type: 'string' },
    description: { type: 'string' },
    layout: { type: 'string' },
    json: { type: 'boolean' },
  },
  help: {
    ...CLIENT_HELP,
    name: 'module name, 1-32 of a-z 0-9 _ - (default: the project\'s)',
    version: 'version, e.g. 1.0.0 (default: the project\'s); a published version never changes',
    description: 'one line on what it does (default: the project\'s)',
    layout: 'JSON file with the input/output layout, or a task.json (default: the project\'s)',
    json: 'print the registry\'s answer as JSON',
  },
  allowPositionals: true,
  details: 'For a task project (DIR, or this folder, holding task.json) every option but --gateway defaults from the project and FILE from its build/NAME.wasm. Needs an operator token. Exit status: 0 published (or already published with the same bytes), 1 refused by the gateway, 2 bad arguments.',
  async run({ values, positionals }) {
    if (positionals.length > 1) throw new CliError('task publish: give at most one FILE.wasm or project folder');
    const gw = GatewayClient.from(values);
    const named = positionals[0] !== undefined && !positionals[0].endsWith('.wasm') ? projectIn(positionals[0]) : null;
    if (positionals[0] !== undefined && !positionals[0].endsWith('.wasm') && !named) throw new CliError(`task publish: ${positionals[0]} is neither a .wasm file nor a folder with task.json`);
    const project = named ?? projectIn(process.cwd());
    const file = named ? `${named.dir}/${named.output}` : positionals[0] ?? (project ? `${project.dir}/${project.output}` : undefined);
    const name = typeof values.name === 'string' ? values.name : project?.name;
    const version = typeof values.version === 'string' ? values.version : project?.version;
    if (!file || !name || !version) throw new CliError('task publish: give FILE.wasm --name NAME --version V, or run it in a task project');
    const wasm = readModuleFile(file, positionals[0] && !named ? 'module' : 'the project\'s module (build it first: swarmlet task build)');
    const layout = typeof values.layout === 'string' ? readLayoutFile(values.layout) : project?.layout ?? undefined;
    const description = typeof values.description === 'string' ? values.description : project?.description;
    const body = { name, version, wasm: Buffer.from(wasm).toString('base64'), ...(description ? { description } : {}), ...(layout ? { layout } : {}) };
    const r = await gw.json<Published>('/api/modules', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    process.stdout.write(values.json ? JSON.stringify(r) + '\n'
      : r.created ? `published ${r.ref} (sha256 ${r.hash}, ${r.size} bytes)\n` : `${r.ref} was already published with these bytes (sha256 ${r.hash})\n`);
    return 0;
  },
});
