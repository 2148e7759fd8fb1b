/**
 * `swarmlet up`: the whole local mesh in one process (sim/mesh.ts): an authenticating
 * broker, a gateway (SQLite store, HTTP API, dashboard) and a small simulated fleet running
 * real tasks, all under one data folder.
 */
import { resolve } from 'node:path';
import { defineCommand, numberOption, CliError } from '../../util/cli.js';
import type { LedgerStatus } from '../../protocol/ledger-proof.js';

const proofLine = (s: LedgerStatus): string => s.enabled
  ? 'on: a proving process folds each batch (the first start compiles the circuit, minutes); GET /api/proofs/latest'
  : `off: ${s.reason}`;

export default defineCommand({
  name: 'up',
  summary: 'Run the whole local mesh: broker, gateway with dashboard, and simulated devices.',
  usage: 'swarmlet up [--data DIR] [--port N] [--mqtt-port N] [--devices N] [--profiles MIX] [--no-proofs]',
  options: {
    data: { type: 'string' },
    host: { type: 'string' },
    port: { type: 'string', short: 'p' },
    'mqtt-port': { type: 'string' },
    devices: { type: 'string', short: 'n' },
    profiles: { type: 'string' },
    cheaters: { type: 'string' },
    region: { type: 'string' },
    'time-scale': { type: 'string' },
    'no-proofs': { type: 'boolean' },
  },
  help: {
    data: 'data folder: keys, enrollment, SQLite store, device outboxes (default .data/mesh)',
    host: 'address to listen on (default 127.0.0.1)',
    port: 'HTTP port for the API and dashboard (default 8080; a free one if taken; 0 = any)',
    'mqtt-port': 'MQTT port of the broker (default 18830; a free one if taken; 0 = any)',
    devices: 'simulated devices (default 6; 0 = none)',
    profiles: 'device profile mix, e.g. pi4-bare:2,pi5-active:1 (default: one of each)',
    cheaters: 'simulated devices that sign wrong outputs (default 0)',
    region: 'region served (default local)',
    'time-scale': 'simulated seconds per real second for the thermal model (default 1)',
    'no-proofs': 'no recursive ledger proofs (they need o1js; proving uses a core and ~3 GB in its own process)',
  },
  details: 'Logs are JSON lines on stdout (level from SWARMLET_LOG_LEVEL, default warn here). Stop with Ctrl-C.',
  async run({ values }) {
    process.env.SWARMLET_LOG_LEVEL ??= 'warn';
    const dataDir = resolve((values.data as string | undefined) ?? '.data/mesh');
    const devices = numberOption(values, 'devices', 6, { min: 0, max: 2000 });
    const opts = {
      dataDir,
      host: (values.host as string | undefined) ?? '127.0.0.1',
      httpPort: numberOption(values, 'port', 8080, { min: 0, max: 65535 }),
      mqttPort: numberOption(values, 'mqtt-port', 18830, { min: 0, max: 65535 }),
      portFallback: true,
      devices,
      region: (values.region as string | undefined) ?? 'local',
      fleet: {
        cheaters: numberOption(values, 'cheaters', 0, { min: 0, max: devices }),
        timeScale: numberOption(values, 'time-scale', 1, { min: 0.001, max: 10_000, integer: false }),
        ...(values.profiles ? { profiles: values.profiles as string } : {}),
      },
      gateway: { proofs: { enabled: values['no-proofs'] !== true } },
      onEnrollmentError: (e: Error) => process.stderr.write(`swarmlet up: enrollment file change ignored: ${e.message}\n`),
    };
    const [{ startLocalMesh }, { profileMix }] = await Promise.all([import('../../sim/mesh.js'), import('../../sim/fleet.js')]);
    try {
      profileMix(opts.fleet.profiles, Math.max(devices, 1));
    } catch (e) {
      throw new CliError(`up: --profiles: ${(e as Error).message}`);
    }
    const mesh = await startLocalMesh(opts);
    const profiles = mesh.fleet ? [...new Set(mesh.fleet.devices.map((d) => d.profile))].join(', ') : 'none';
    process.stdout.write([
      'swarmlet mesh is up',
      `  dashboard + API  ${mesh.url}/`,
      `  MQTT broker      ${mesh.brokerUrl}  (mesh id swarmlet; devices authenticate with signed proofs)`,
      `  devices          ${devices} simulated (${profiles})`,
      `  data             ${dataDir}`,
      `  ledger proofs    ${proofLine(mesh.gateway.prover.status())}`,
      '',
      'Try:',
      '  mkdir -p /tmp/in && for i in 1 2 3; do echo "hello $i" > /tmp/in/$i.txt; done',
      `  npx swarmlet job submit --gateway ${mesh.url} --task sha256 --input-dir /tmp/in --wait --json`,
      '',
      'Ctrl-C stops everything cleanly.',
      '',
    ].join('\n'));
    await new Promise<void>((res) => {
      process.once('SIGINT', () => res());
      process.once('SIGTERM', () => res());
    });
    process.stdout.write('swarmlet up: stopping (devices drain, gateway flushes, broker closes)\n');
    await mesh.stop();
    return 0;
  },
});
