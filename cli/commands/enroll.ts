/**
 * `swarmlet enroll add|list|revoke|readmit|deny`: which device keys may join the mesh, kept
 * in the enrollment file (format: protocol/enrollment-file.ts, gateway/README.md "Enrollment"),
 * changed under its lock like every other writer's change.
 * Brokers and gateways follow the file while they run (polled every second), so a change
 * here takes effect at once: a revoked device is disconnected, an added one may connect.
 * Devices that tried to join unenrolled are listed by the broker beside the file
 * (`enrollment.pending.json`); `enroll add NODE_ID` approves one, `enroll deny` refuses it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { CliError, defineCommand, requireOption } from '../../util/cli.js';
import type { Enrollment, Role } from '../../protocol/enrollment.js';
import type { Group } from '../main.js';

const FILE_HELP = 'the enrollment file (what brokers and gateways are started with: --enrollment)';

/** The file and its join requests, read once (for list). */
async function open(values: Record<string, unknown>): Promise<{ e: Enrollment; file: string }> {
  const file = requireOption(values, 'enrollment');
  if (!existsSync(file)) throw new CliError(`--enrollment: no file ${file}`);
  const { Enrollment } = await import('../../protocol/enrollment.js');
  let e: Enrollment;
  try { e = Enrollment.fromFile(file); } catch (err) { throw new CliError((err as Error).message, 1); }
  await loadPending(e, file);
  return { e, file };
}

async function loadPending(e: Enrollment, file: string): Promise<void> {
  const { pendingFileFor } = await import('../../protocol/pending.js');
  try { e.pending.load(pendingFileFor(file)); } catch (err) { process.stderr.write(`swarmlet enroll: join requests not read: ${(err as Error).message}\n`); }
}

/**
 * Change the file: `fn` decides on the enrollment as it is in the file at that moment, under
 * the file's lock (up, sim --enroll and gateways write it too), and the result is written
 * back atomically. A CliError from `fn` leaves the file as it was.
 */
async function change<T>(values: Record<string, unknown>, fn: (e: Enrollment) => T, create = false): Promise<{ out: T; file: string }> {
  const file = requireOption(values, 'enrollment');
  if (!create && !existsSync(file)) throw new CliError(`--enrollment: no file ${file}`);
  const { Enrollment, updateEnrollmentFile } = await import('../../protocol/enrollment.js');
  const { pendingFileFor } = await import('../../protocol/pending.js');
  try {
    const out = updateEnrollmentFile(file, (doc) => {
      const e = Enrollment.fromDoc(doc);
      try { e.pending.load(pendingFileFor(file)); } catch (err) { process.stderr.write(`swarmlet enroll: join requests not read: ${(err as Error).message}\n`); }
      const r = fn(e);
      const after = e.toDoc();
      doc.keys = after.keys;
      doc.revoked = after.revoked;
      return r;
    });
    return { out, file };
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`${file}: ${(err as Error).message}`, 1);
  }
}

/** A node id (or a unique prefix of 6+ digits), or a name, among `list`. */
function find<T extends { nodeId: string; name?: string }>(list: T[], ref: string, what: string): T {
  const byId = list.filter((k) => k.nodeId === ref || (ref.length >= 6 && /^[0-9a-f]+$/.test(ref) && k.nodeId.startsWith(ref)));
  const hits = byId.length ? byId : list.filter((k) => k.name === ref);
  if (hits.length === 0) throw new CliError(`no ${what} ${ref}`, 1);
  if (hits.length > 1) throw new CliError(`${ref} names ${hits.length} ${what}s; give the whole node id`, 1);
  return hits[0]!;
}

async function keyFrom(values: Record<string, unknown>): Promise<Uint8Array | null> {
  const { fromHex } = await import('../../protocol/hash.js');
  if (typeof values.key === 'string') {
    if (!/^[0-9a-f]{64}$/.test(values.key)) throw new CliError('--key must be a public key of 64 lowercase hex digits');
    return fromHex(values.key);
  }
  if (typeof values['key-file'] !== 'string') return null;
  const f = values['key-file'];
  let text: string;
  try { text = readFileSync(f, 'utf8').trim(); } catch (err) { throw new CliError(`--key-file: ${(err as Error).message}`); }
  // A public key file (hex, like gateway.pub), else a key file made by `swarmlet keys gen`.
  if (/^[0-9a-f]{64}$/.test(text)) return fromHex(text);
  const { loadIdentity } = await import('../../protocol/identity.js');
  try { return loadIdentity(f, { allowInsecureMode: true }).publicKey; } catch (err) { throw new CliError(`--key-file: not a public key (64 hex digits) nor a key file: ${(err as Error).message}`); }
}

const when = (t: number | string) => new Date(t).toISOString().replace(/\.\d+Z$/, 'Z');

const add = defineCommand({
  name: 'enroll add',
  summary: 'Enroll a key (by --key / --key-file), or approve a device that asked to join (by its node id).',
  usage: 'swarmlet enroll add (NODE_ID | --key HEX | --key-file FILE) --enrollment FILE [--role node|gateway|operator|bridge] [--name NAME]',
  options: {
    enrollment: { type: 'string', short: 'e' },
    key: { type: 'string', short: 'k' },
    'key-file': { type: 'string' },
    role: { type: 'string', short: 'r' },
    name: { type: 'string', short: 'n' },
  },
  help: {
    enrollment: `${FILE_HELP}; made if missing`,
    key: 'the public key, 64 hex digits (swarmlet keys show FILE prints it)',
    'key-file': 'a public key file (hex) or a key file made by swarmlet keys gen',
    role: 'node (a device, default), gateway, operator or bridge',
    name: 'a name for it (shown in the console)',
  },
  allowPositionals: true,
  async run({ values, positionals }) {
    const role = (values.role as string | undefined) ?? 'node';
    const { ROLES } = await import('../../protocol/enrollment.js');
    if (!(ROLES as readonly string[]).includes(role)) throw new CliError(`--role must be one of ${ROLES.join(', ')}`);
    const name = values.name as string | undefined;
    if (name !== undefined && (name.length > 128 || /[\u0000-\u001f]/.test(name))) throw new CliError('--name must be printable text of at most 128 characters');
    const given = await keyFrom(values);
    if (given && positionals.length) throw new CliError('enroll add: give a node id or --key/--key-file, not both');
    if (!given && positionals.length !== 1) throw new CliError('enroll add: expected the node id of a join request, or --key / --key-file (see: swarmlet enroll list --pending)');
    const { nodeIdFromPublicKey } = await import('../../protocol/identity.js');
    const { out, file } = await change(values, (e) => {
      const key = given ?? find(e.pending.list(), positionals[0]!, 'join request').publicKey;
      const id = nodeIdFromPublicKey(key);
      const had = e.get(id);
      if (had && had.role === role && (name === undefined || had.name === name)) return { id, had };
      if (had) e.revoke(id, 'role changed'); // a changed role takes effect on the next connect, not on the open session
      e.add(key, role as Role, name ?? had?.name);
      return { id, had: undefined };
    }, true);
    if (out.had) process.stdout.write(`${out.id} is enrolled already (${out.had.role}${out.had.name ? `, ${out.had.name}` : ''})\n`);
    else process.stdout.write(`enrolled ${out.id} as ${role}${name ? ` (${name})` : ''} in ${file}\n`);
    return 0;
  },
});

const list = defineCommand({
  name: 'enroll list',
  summary: 'List enrolled keys, revoked ones, and devices waiting to join.',
  usage: 'swarmlet enroll list --enrollment FILE [--pending | --revoked | --all] [--json]',
  options: { enrollment: { type: 'string', short: 'e' }, pending: { type: 'boolean' }, revoked: { type: 'boolean' }, all: { type: 'boolean' }, json: { type: 'boolean' } },
  help: { enrollment: FILE_HELP, pending: 'only devices that asked to join', revoked: 'only revoked (or refused) keys', all: 'enrolled, revoked and pending', json: 'print JSON' },
  async run({ values }) {
    const { e } = await open(values);
    const { toHex } = await import('../../protocol/hash.js');
    const show = values.all ? ['enrolled', 'revoked', 'pending'] : values.pending ? ['pending'] : values.revoked ? ['revoked'] : ['enrolled'];
    const rows = [
      ...(show.includes('enrolled') ? e.list().map((k) => ({ status: 'enrolled', nodeId: k.nodeId, role: k.role, name: k.name ?? '', publicKey: toHex(k.publicKey), note: '' })) : []),
      ...(show.includes('revoked') ? e.revocations().map((k) => ({ status: 'revoked', nodeId: k.nodeId, role: k.role ?? 'node', name: k.name ?? '', publicKey: toHex(k.publicKey), note: `revoked ${when(k.at)}: ${k.reason}` })) : []),
      ...(show.includes('pending') ? e.pending.list().map((r) => ({
        status: 'pending', nodeId: r.nodeId, role: 'node', name: '', publicKey: toHex(r.publicKey),
        note: `${r.attempts} tries, last ${when(r.lastSeen)}${r.address ? ` from ${r.address}` : ''}`,
      })) : []),
    ];
    if (values.json) {
      process.stdout.write(JSON.stringify({ keys: rows }) + '\n');
      return 0;
    }
    process.stdout.write('status    node id                           role      name                  note\n');
    for (const r of rows) process.stdout.write(`${r.status.padEnd(8)}  ${r.nodeId}  ${r.role.padEnd(8)}  ${r.name.slice(0, 20).padEnd(20)}  ${r.note}\n`);
    return 0;
  },
});

const revoke = defineCommand({
  name: 'enroll revoke',
  summary: 'Revoke a key by node id or name: brokers following the file disconnect it at once; it can be readmitted.',
  usage: 'swarmlet enroll revoke ID|NAME --enrollment FILE [--reason TEXT]',
  options: { enrollment: { type: 'string', short: 'e' }, reason: { type: 'string' } },
  help: { enrollment: FILE_HELP, reason: 'why (kept in the file, at most 256 characters; default "revoked")' },
  allowPositionals: true,
  async run({ values, positionals }) {
    if (positionals.length !== 1) throw new CliError('enroll revoke: expected one node id or name (see: swarmlet enroll list)');
    const reason = (values.reason as string | undefined) ?? 'revoked';
    if (reason.length > 256 || /[\u0000-\u001f]/.test(reason)) throw new CliError('--reason must be printable text of at most 256 characters');
    const { out: k } = await change(values, (e) => {
      const k = find(e.list(), positionals[0]!, 'enrolled key');
      e.revoke(k.nodeId, reason);
      return k;
    });
    process.stdout.write(`revoked ${k.nodeId} (${k.role}${k.name ? `, ${k.name}` : ''})\n`);
    return 0;
  },
});

const readmit = defineCommand({
  name: 'enroll readmit',
  summary: 'Enroll a revoked (or refused) key again, in the role and name it had.',
  usage: 'swarmlet enroll readmit ID|NAME --enrollment FILE',
  options: { enrollment: { type: 'string', short: 'e' } },
  help: { enrollment: FILE_HELP },
  allowPositionals: true,
  async run({ values, positionals }) {
    if (positionals.length !== 1) throw new CliError('enroll readmit: expected one node id or name (see: swarmlet enroll list --revoked)');
    const { out: k } = await change(values, (e) => {
      const k = find(e.revocations(), positionals[0]!, 'revoked key');
      e.readmit(k.nodeId);
      return k;
    });
    process.stdout.write(`readmitted ${k.nodeId} (${k.role ?? 'node'}${k.name ? `, ${k.name}` : ''})\n`);
    return 0;
  },
});

const deny = defineCommand({
  name: 'enroll deny',
  summary: 'Refuse a device that asked to join (it is recorded as revoked, so it is no longer listed as pending).',
  usage: 'swarmlet enroll deny NODE_ID --enrollment FILE',
  options: { enrollment: { type: 'string', short: 'e' } },
  help: { enrollment: FILE_HELP },
  allowPositionals: true,
  async run({ values, positionals }) {
    if (positionals.length !== 1) throw new CliError('enroll deny: expected the node id of a join request (see: swarmlet enroll list --pending)');
    const { out: r } = await change(values, (e) => {
      const r = find(e.pending.list(), positionals[0]!, 'join request');
      e.deny(r.publicKey);
      return r;
    });
    process.stdout.write(`refused ${r.nodeId}\n`);
    return 0;
  },
});

const group: Group = { name: 'enroll', summary: 'Which device keys may join the mesh: add, list, revoke, readmit, deny (the enrollment file).', commands: [add, list, revoke, readmit, deny] };
export default group;
