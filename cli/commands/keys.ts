/** `swarmlet keys gen|show`: device key files (Ed25519, mode 0600). */
import { defineCommand, requireOption, CliError } from '../../util/cli.js';
import { generateIdentity, loadIdentity, saveIdentity } from '../../protocol/identity.js';
import { toHex } from '../../protocol/hash.js';
import type { Group } from '../main.js';

const gen = defineCommand({
  name: 'keys gen',
  summary: 'Create a new Ed25519 key pair and write it to a key file (mode 0600).',
  usage: 'swarmlet keys gen --out FILE [--force] [--json]',
  options: { out: { type: 'string', short: 'o' }, force: { type: 'boolean' }, json: { type: 'boolean' } },
  help: { out: 'key file to write', force: 'overwrite an existing file', json: 'print node id and public key as JSON' },
  run({ values }) {
    const out = requireOption(values, 'out');
    const id = generateIdentity();
    try {
      saveIdentity(out, id, { overwrite: values.force === true });
    } catch (e) {
      throw new CliError(`keys gen: ${(e as Error).message}`);
    }
    print(id.nodeId, toHex(id.publicKey), values.json === true, out);
  },
});

const show = defineCommand({
  name: 'keys show',
  summary: 'Print the node id and public key of a key file (never the secret key).',
  usage: 'swarmlet keys show FILE [--json]',
  options: { json: { type: 'boolean' } },
  help: { json: 'print as JSON' },
  allowPositionals: true,
  run({ values, positionals }) {
    if (positionals.length !== 1) throw new CliError('keys show: expected exactly one key file (see: swarmlet keys show --help)');
    let id;
    try {
      id = loadIdentity(positionals[0]!);
    } catch (e) {
      throw new CliError(`keys show: ${(e as Error).message}`);
    }
    print(id.nodeId, toHex(id.publicKey), values.json === true, positionals[0]!);
  },
});

function print(nodeId: string, publicKey: string, json: boolean, file: string): void {
  process.stdout.write(json ? JSON.stringify({ nodeId, publicKey, file }) + '\n' : `node id:    ${nodeId}\npublic key: ${publicKey}\nfile:       ${file}\n`);
}

const group: Group = { name: 'keys', summary: 'Create and inspect Ed25519 device keys.', commands: [gen, show] };
export default group;
