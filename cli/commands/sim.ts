/** `swarmlet sim`: a fleet of real agents with simulated sensors. */
import { existsSync, readFileSync } from 'node:fs';
import { defineCommand, numberOption, requireOption, CliError } from '../../util/cli.js';
import { enrollKeys, updateEnrollmentFile } from '../../protocol/enrollment.js';
import { profileNames } from '../../sim/profiles.js';
import { SIM_HELP, SIM_OPTIONS, simFromFlags } from '../sim-flags.js';

/** A trusted key given as hex, or as a file holding the hex (or a key file's publicKey). */
function readTrusted(values: string[]): string[] {
  return values.map((v) => {
    if (/^[0-9a-f]{64}$/i.test(v)) return v.toLowerCase();
    if (!existsSync(v)) throw new CliError(`--trust: ${v} is neither a 64-hex-digit public key nor a file`);
    const text = readFileSync(v, 'utf8').trim();
    const hex = /^[0-9a-f]{64}$/i.test(text) ? text : (JSON.parse(text) as { publicKey?: string }).publicKey;
    if (!hex || !/^[0-9a-f]{64}$/i.test(hex)) throw new CliError(`--trust: ${v} holds no public key`);
    return hex.toLowerCase();
  });
}

export default defineCommand({
  name: 'sim',
  summary: 'Run N real agents with simulated sensors (thermal model, device profiles) in one process.',
  usage: 'swarmlet sim --broker URL --devices N --trust KEY [--profiles MIX] [--cheaters K --cheat-rate R] [--data DIR] [--enroll FILE]',
  options: {
    broker: { type: 'string', multiple: true },
    devices: { type: 'string', short: 'n' },
    profiles: { type: 'string' },
    cheaters: { type: 'string' },
    'cheat-rate': { type: 'string' },
    data: { type: 'string' },
    trust: { type: 'string', multiple: true },
    enroll: { type: 'string' },
    region: { type: 'string' },
    'mesh-id': { type: 'string' },
    'pool-size': { type: 'string' },
    ...SIM_OPTIONS,
  },
  help: {
    broker: 'broker URL (repeat for failover), e.g. mqtt://127.0.0.1:18830',
    devices: 'number of simulated devices',
    profiles: `profile mix, e.g. pi4-bare:2,pi5-active:1 (known: ${profileNames().join(', ')})`,
    cheaters: 'how many devices sign wrong outputs (default 0)',
    'cheat-rate': 'share of a cheater\'s tasks that are wrong, 0..1 (default 1)',
    data: 'folder for device keys and outboxes (default .data/sim)',
    trust: 'gateway public key (hex, or a file with it) trusted for modules, assignments and acks; repeatable',
    enroll: 'add the devices\' keys (role node) to this enrollment file before starting (a locked update; revoked keys stay out and their devices are not started)',
    region: 'region (default local)',
    'mesh-id': 'broker mesh id used in connect proofs (default swarmlet)',
    'pool-size': 'worker threads shared by all devices (default: CPU cores)',
    ...SIM_HELP,
  },
  details: 'Stop with Ctrl-C: every device drains (finishes running tasks, flushes its outbox).',
  async run({ values }) {
    const brokers = (values.broker as string[] | undefined) ?? [];
    if (brokers.length === 0) throw new CliError('sim: --broker is required');
    requireOption(values, 'devices');
    const devices = numberOption(values, 'devices', 0, { min: 1, max: 5000 });
    const trusted = readTrusted((values.trust as string[] | undefined) ?? []);
    if (trusted.length === 0) throw new CliError('sim: --trust is required (the gateway public key)');
    const dataDir = (values.data as string | undefined) ?? '.data/sim';
    const sim = simFromFlags(values);
    const { startFleet, fleetIdentities, profileMix } = await import('../../sim/fleet.js');
    try {
      profileMix(values.profiles as string | undefined, devices);
    } catch (e) {
      throw new CliError(`sim: --profiles: ${(e as Error).message}`);
    }
    let skip: number[] = [];
    if (values.enroll) {
      // A locked read-modify-write: several `sim --enroll` (and a running `up`) share the file.
      const file = values.enroll as string;
      const ids = fleetIdentities(dataDir, devices);
      let r;
      try {
        r = updateEnrollmentFile(file, (doc) => enrollKeys(doc, ids.map((id) => ({ publicKey: id.publicKey, role: 'node' as const, name: `sim-${id.nodeId.slice(0, 6)}` }))));
      } catch (e) {
        throw new CliError(`sim: --enroll: ${(e as Error).message}`, 1);
      }
      for (const rev of r.stillRevoked) {
        process.stderr.write(`swarmlet sim: device ${rev.nodeId} stays revoked (at ${rev.at}: ${rev.reason}); not enrolled, not started\n`);
      }
      const gone = new Set(r.stillRevoked.map((x) => x.nodeId));
      skip = ids.flatMap((id, i) => (gone.has(id.nodeId) ? [i] : []));
      process.stdout.write(`swarmlet sim: enrolled ${r.added.length} new device key(s) in ${file} (${r.present.length} already there)\n`);
    }
    const fleet = await startFleet({
      brokers, devices, dataDir, trustedPublishers: trusted, skip,
      ...(values.profiles ? { profiles: values.profiles as string } : {}),
      cheaters: numberOption(values, 'cheaters', 0, { min: 0, max: devices }),
      cheatRate: numberOption(values, 'cheat-rate', 1, { min: 0, max: 1, integer: false }),
      timeScale: sim.timeScale,
      ...(sim.fuelRate !== undefined ? { fuelRate: sim.fuelRate } : {}),
      agent: sim.agent,
      ...(values['pool-size'] ? { poolSize: numberOption(values, 'pool-size', 2, { min: 1, max: 256 }) } : {}),
      ...(values.region ? { region: values.region as string } : {}),
      ...(values['mesh-id'] ? { meshId: values['mesh-id'] as string } : {}),
    });
    process.stdout.write(`swarmlet sim: ${devices - skip.length} devices connected to ${brokers.join(', ')}\n`);
    await new Promise<void>((resolve) => {
      const done = () => resolve();
      process.once('SIGINT', done);
      process.once('SIGTERM', done);
    });
    await fleet.stop();
    return 0;
  },
});
