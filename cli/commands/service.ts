/**
 * `swarmlet service install`: the second of the two commands that put the agent on a
 * device (the first installs the package). Writes the agent's config, its key (so the
 * public key can be enrolled before the first start) and a hardened systemd unit or an
 * OpenWrt procd script; `--root DIR` writes into a staging tree instead of /.
 */
import { chmodSync, existsSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CliError, defineCommand, numberOption } from '../../util/cli.js';
import type { Group } from '../run.js';

const HEX = /^[0-9a-f]{64}$/i;

const install = defineCommand({
  name: 'service install',
  summary: 'Install the agent as a system service: config, key, and a systemd unit or an OpenWrt procd script.',
  usage: 'swarmlet service install --broker URL [--broker URL ...] --trusted-publisher HEX [options]',
  options: {
    broker: { type: 'string', multiple: true },
    'trusted-publisher': { type: 'string', multiple: true },
    region: { type: 'string' },
    slots: { type: 'string' },
    kind: { type: 'string' },
    root: { type: 'string' },
    'data-dir': { type: 'string' },
    force: { type: 'boolean' },
    'no-start': { type: 'boolean' },
    json: { type: 'boolean' },
  },
  help: {
    broker: 'broker URL the agent connects to (repeat for failover)',
    'trusted-publisher': 'gateway public key (hex) the agent trusts for modules, offers, assignments and acks (repeat)',
    region: 'region to serve (default local)',
    slots: 'tasks run at once (default: the number of CPUs)',
    kind: 'systemd or procd (default: procd when /etc/openwrt_release exists, else systemd)',
    root: 'write under this folder instead of / (staging, images, tests); nothing is enabled',
    'data-dir': 'key, outbox and caches (default /var/lib/swarmlet; systemd needs it under /var/lib)',
    force: 'overwrite existing service and config files (the key is never replaced)',
    'no-start': 'write the files but do not enable and start the service',
    json: 'print what was written as JSON',
  },
  details: `Installed into / (no --root), it then enables and starts the service:
  systemd: systemctl daemon-reload && systemctl enable --now swarmlet-agent
  OpenWrt: /etc/init.d/swarmlet-agent enable && /etc/init.d/swarmlet-agent start
Enroll the printed public key with the mesh's broker: until then the broker refuses the agent
(it retries with backoff).`,
  async run({ values }) {
    const brokers = (values.broker as string[] | undefined) ?? [];
    const trusted = (values['trusted-publisher'] as string[] | undefined) ?? [];
    if (brokers.length === 0) throw new CliError('service install: --broker is required');
    if (trusted.length === 0) throw new CliError('service install: --trusted-publisher is required (the gateway public key; without it the agent refuses all work)');
    for (const t of trusted) if (!HEX.test(t)) throw new CliError(`service install: --trusted-publisher ${JSON.stringify(t)} is not a 64-hex-digit public key`);
    const { parseBrokerUrl, ConfigError } = await import('../../agent/config.js');
    try { for (const b of brokers) parseBrokerUrl(b); } catch (e) {
      if (e instanceof ConfigError) throw new CliError(`service install: ${e.message}`);
      throw e;
    }
    const root = (values.root as string | undefined) ?? '/';
    const kind = (values.kind as string | undefined) ?? (existsSync(join(root, 'etc/openwrt_release')) ? 'procd' : 'systemd');
    if (kind !== 'systemd' && kind !== 'procd') throw new CliError(`service install: --kind must be systemd or procd, got ${JSON.stringify(kind)}`);
    const dataDir = (values['data-dir'] as string | undefined) ?? '/var/lib/swarmlet';
    if (!dataDir.startsWith('/')) throw new CliError('service install: --data-dir must be an absolute path');
    const slots = values.slots === undefined ? undefined : numberOption(values, 'slots', 1, { min: 1, max: 1024 });
    const { agentConfigJson, procdScript, systemdUnit, uciConfig } = await import('../../agent/service-files.js');
    const settings = {
      node: process.execPath,
      script: realpathSync(process.argv[1]!),
      brokers, trustedPublishers: trusted.map((t) => t.toLowerCase()),
      region: (values.region as string | undefined) ?? 'local',
      dataDir, configFile: '/etc/swarmlet/agent.json',
      ...(slots !== undefined ? { slots } : {}),
    };
    let files: [string, string, number][];
    try {
      files = kind === 'systemd'
        ? [['/etc/swarmlet/agent.json', agentConfigJson(settings), 0o644], ['/etc/systemd/system/swarmlet-agent.service', systemdUnit(settings), 0o644]]
        : [['/etc/config/swarmlet', uciConfig(settings), 0o600], ['/etc/init.d/swarmlet-agent', procdScript(settings), 0o755]];
    } catch (e) {
      throw new CliError(`service install: ${(e as Error).message}`);
    }
    const at = (p: string) => join(root, p);
    for (const [p] of files) {
      if (existsSync(at(p)) && values.force !== true) throw new CliError(`service install: ${at(p)} exists (use --force to overwrite)`);
    }
    for (const [p, text, mode] of files) {
      mkdirSync(dirname(at(p)), { recursive: true });
      writeFileSync(at(p), text, { mode });
      chmodSync(at(p), mode);
    }
    // The key now, so its public half can be enrolled before the first start.
    const { loadOrCreateKey } = await import('../../agent/signer.js');
    mkdirSync(at(dataDir), { recursive: true, mode: 0o700 });
    const id = loadOrCreateKey(join(at(dataDir), 'node.key'));
    const { toHex } = await import('../../protocol/hash.js');
    const written = files.map(([p]) => at(p));
    if (values.json) {
      process.stdout.write(JSON.stringify({ kind, files: written, keyFile: join(at(dataDir), 'node.key'), nodeId: id.nodeId, publicKey: toHex(id.publicKey) }) + '\n');
      return 0;
    }
    const steps: string[][] = kind === 'systemd'
      ? [['systemctl', 'daemon-reload'], ['systemctl', 'enable', '--now', 'swarmlet-agent']]
      : [['/etc/init.d/swarmlet-agent', 'enable'], ['/etc/init.d/swarmlet-agent', 'start']];
    const logs = kind === 'systemd' ? 'journalctl -u swarmlet-agent -f' : 'logread -f -e swarmlet';
    let started = 'staged under ' + root + '; nothing enabled';
    if (root === '/') {
      if (values['no-start']) started = `not started: ${steps.map((c) => c.join(' ')).join(' && ')}`;
      else {
        const { spawnSync } = await import('node:child_process');
        for (const c of steps) {
          const r = spawnSync(c[0]!, c.slice(1), { stdio: 'inherit' });
          if (r.status !== 0) throw new CliError(`service install: files written, but \`${c.join(' ')}\` failed (${r.error?.message ?? `exit ${r.status}`})`, 1);
        }
        started = `started (logs: ${logs})`;
      }
    }
    process.stdout.write([
      `wrote ${written.join(', ')}`,
      `node id:    ${id.nodeId}`,
      `public key: ${toHex(id.publicKey)}   (enroll it with the mesh's broker)`,
      `service:    ${started}`,
      '',
    ].join('\n'));
    return 0;
  },
});

const group: Group = { name: 'service', summary: 'Install the agent as a system service.', commands: [install] };
export default group;
