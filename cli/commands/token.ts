/**
 * `swarmlet token create|list|revoke`: operator API tokens of a gateway, kept (hashed) in
 * access.sqlite in its data folder. Works while the gateway runs: it reads tokens per
 * request, so a new or revoked token takes effect at once. The plaintext is printed once.
 */
import { existsSync, statSync } from 'node:fs';
import { CliError, defineCommand, numberOption, requireOption } from '../../util/cli.js';
import type { Group } from '../main.js';

const DATA_HELP = "the gateway's data folder (its --data; for swarmlet up: .data/mesh/gateway)";

async function withTokens<T>(values: Record<string, unknown>, fn: (t: import('../../gateway/access/tokens.js').TokenStore) => T): Promise<T> {
  const dir = requireOption(values, 'data');
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new CliError(`--data: no folder ${dir} (the gateway's data folder; create it or start the gateway once)`);
  const [{ openAccessDb }, { TokenStore }] = await Promise.all([import('../../gateway/access/db.js'), import('../../gateway/access/tokens.js')]);
  let db;
  try { db = openAccessDb(dir); } catch (e) { throw new CliError(`cannot open the access database in ${dir}: ${(e as Error).message}`, 1); }
  try {
    return fn(new TokenStore(db));
  } finally {
    db.close();
  }
}

const when = (t: number | null) => (t === null ? '-' : new Date(t).toISOString().replace(/\.\d+Z$/, 'Z'));

const create = defineCommand({
  name: 'token create',
  summary: 'Create an operator token (printed once; only its hash is kept).',
  usage: 'swarmlet token create --data DIR --name NAME [--role viewer|operator|admin] [--expires-days N] [--out FILE] [--json]',
  options: {
    data: { type: 'string', short: 'd' },
    name: { type: 'string', short: 'n' },
    role: { type: 'string', short: 'r' },
    'expires-days': { type: 'string' },
    out: { type: 'string', short: 'o' },
    json: { type: 'boolean' },
  },
  help: {
    data: DATA_HELP,
    name: 'a name for the token (who or what uses it), unique among live tokens',
    role: 'viewer (read), operator (read, submit jobs) or admin (also revoke devices); default operator',
    'expires-days': 'the token stops working after N days (default: never)',
    out: 'write the token to FILE (0600) instead of printing it',
    json: 'print {id, name, role, token} as JSON',
  },
  details: 'Send it as: Authorization: Bearer TOKEN, or to the CLI with --token / --token-file / SWARMLET_TOKEN.',
  async run({ values }) {
    const name = requireOption(values, 'name');
    const role = (values.role as string | undefined) ?? 'operator';
    const { isRole } = await import('../../gateway/access/roles.js');
    if (!isRole(role)) throw new CliError('--role must be viewer, operator or admin');
    const days = values['expires-days'] === undefined ? null : numberOption(values, 'expires-days', 0, { min: 1, max: 36_500 });
    const made = await withTokens(values, (t) => {
      try { return t.create(name, role, { expiresAt: days === null ? null : Date.now() + days * 86_400_000 }); } catch (e) { throw new CliError(`token create: ${(e as Error).message}`); }
    });
    if (typeof values.out === 'string') {
      const { writeSecretFile } = await import('../../gateway/access/token-file.js');
      writeSecretFile(values.out, made.token);
      process.stdout.write(`token ${made.info.id} (${made.info.name}, ${made.info.role}) written to ${values.out}\n`);
    } else if (values.json) {
      process.stdout.write(JSON.stringify({ id: made.info.id, name: made.info.name, role: made.info.role, token: made.token }) + '\n');
    } else {
      process.stdout.write(`${made.token}\n`);
      process.stderr.write(`token ${made.info.id} (${made.info.name}, ${made.info.role}): shown once, keep it safe\n`);
    }
    return 0;
  },
});

const list = defineCommand({
  name: 'token list',
  summary: 'List operator tokens (never their secrets).',
  usage: 'swarmlet token list --data DIR [--json]',
  options: { data: { type: 'string', short: 'd' }, json: { type: 'boolean' } },
  help: { data: DATA_HELP, json: 'print JSON' },
  async run({ values }) {
    const tokens = await withTokens(values, (t) => t.list());
    if (values.json) {
      process.stdout.write(JSON.stringify({ tokens }) + '\n');
      return 0;
    }
    process.stdout.write('id            name                      role      created               last used             state\n');
    for (const t of tokens) {
      const state = t.revokedAt !== null ? `revoked ${when(t.revokedAt)}` : t.expiresAt !== null && t.expiresAt <= Date.now() ? 'expired' : 'live';
      process.stdout.write(`${t.id}  ${t.name.padEnd(24)}  ${t.role.padEnd(8)}  ${when(t.createdAt).padEnd(20)}  ${when(t.lastUsedAt).padEnd(20)}  ${state}\n`);
    }
    return 0;
  },
});

const revoke = defineCommand({
  name: 'token revoke',
  summary: 'Revoke an operator token by id or name: it and the dashboard sessions made with it stop working at once.',
  usage: 'swarmlet token revoke ID|NAME --data DIR',
  options: { data: { type: 'string', short: 'd' } },
  help: { data: DATA_HELP },
  allowPositionals: true,
  async run({ values, positionals }) {
    if (positionals.length !== 1) throw new CliError('token revoke: expected one token id or name (see: swarmlet token list)');
    const r = await withTokens(values, (t) => t.revoke(positionals[0]!));
    if (!r) throw new CliError(`token revoke: no live token ${positionals[0]}`, 1);
    process.stdout.write(`revoked token ${r.id} (${r.name}, ${r.role})\n`);
    return 0;
  },
});

const group: Group = { name: 'token', summary: "Operator API tokens of a gateway: create, list, revoke.", commands: [create, list, revoke] };
export default group;
