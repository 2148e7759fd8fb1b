/**
 * `swarmlet up`: the whole local mesh in one process (sim/mesh.ts): an authenticating
 * broker, a gateway (SQLite store, HTTP API, dashboard) and a small simulated fleet running
 * real tasks, all under one data folder.
 */
import { join, resolve } from 'node:path';
import { toHex } from '../../protocol/hash.js';
import { defineCommand, numberOption, CliError } from '../../util/cli.js';
import { ACCESS_HELP, ACCESS_OPTIONS, accessFromFlags } from '../access-flags.js';
import { SIM_HELP, SIM_OPTIONS, placementOption, simFromFlags } from '../sim-flags.js';
import { UP_TOKEN_FILE } from '../gateway-client.js';
import type { LedgerStatus } from '../../protocol/ledger-proof.js';

const proofLine = (s: LedgerStatus): string => s.enabled
  ? 'on: a proving process folds each batch (the first start compiles the circuit, minutes); GET /api/proofs/latest'
  : `off: ${s.reason}`;

export default defineCommand({
  name: 'up',
  summary: 'Run the whole local mesh: broker, gateway with dashboard, and simulated devices.',
  usage: 'swarmlet up [--data DIR] [--port N] [--mqtt-port N] [--devices N] [--profiles MIX] [--time-scale X] [--placement thermal|fill] [--no-proofs]',
  options: {
    data: { type: 'string' },
    host: { type: 'string' },
    port: { type: 'string', short: 'p' },
    'mqtt-port': { type: 'string' },
    devices: { type: 'string', short: 'n' },
    profiles: { type: 'string' },
    cheaters: { type: 'string' },
    region: { type: 'string' },
    placement: { type: 'string' },
    ...SIM_OPTIONS,
    'no-proofs': { type: 'boolean' },
    ...ACCESS_OPTIONS,
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
    placement: "gateway fast-path placement: 'thermal' (default) or 'fill' (the naive baseline)",
    ...SIM_HELP,
    'no-proofs': 'no recursive ledger proofs (they need o1js; proving uses a core and ~3 GB in its own process)',
    ...ACCESS_HELP,
  },
  details: 'An admin operator token is made on first start and kept in DATA/operator.token (0600); the CLI reads it from\n.data/mesh/operator.token for a gateway on this machine. Devices revoked through the API are recorded in\nDATA/enrollment.json and stay revoked (not started) on the next start. Logs go to stdout, human lines on a terminal,\nelse JSON (--log-format; level from SWARMLET_LOG_LEVEL, default warn here). Stop with Ctrl-C (a second one exits at once).',
  async run({ values }) {
    process.env.SWARMLET_LOG_LEVEL ??= 'warn';
    const dataDir = resolve((values.data as string | undefined) ?? '.data/mesh');
    const devices = numberOption(values, 'devices', 6, { min: 0, max: 2000 });
    const host = (values.host as string | undefined) ?? '127.0.0.1';
    const { access, quota } = accessFromFlags(values);
    const sim = simFromFlags(values);
    const placement = placementOption(values);
    const { checkExposure } = await import('../../gateway/access/index.js');
    try { checkExposure(host, access); } catch (e) { throw new CliError(`up: ${(e as Error).message}`); }
    const opts = {
      dataDir,
      host,
      gateway: { access, quota, placement, proofs: { enabled: values['no-proofs'] !== true } },
      httpPort: numberOption(values, 'port', 8080, { min: 0, max: 65535 }),
      mqttPort: numberOption(values, 'mqtt-port', 18830, { min: 0, max: 65535 }),
      portFallback: true,
      devices,
      region: (values.region as string | undefined) ?? 'local',
      fleet: {
        cheaters: numberOption(values, 'cheaters', 0, { min: 0, max: devices }),
        timeScale: sim.timeScale,
        ...(sim.fuelRate !== undefined ? { fuelRate: sim.fuelRate } : {}),
        agent: sim.agent,
        ...(values.profiles ? { profiles: values.profiles as string } : {}),
      },
      onEnrollmentError: (e: Error) => process.stderr.write(`swarmlet up: enrollment file change ignored: ${e.message}\n`),
    };
    const [{ startLocalMesh }, { profileMix }] = await Promise.all([import('../../sim/mesh.js'), import('../../sim/fleet.js')]);
    try {
      profileMix(opts.fleet.profiles, Math.max(devices, 1));
    } catch (e) {
      throw new CliError(`up: --profiles: ${(e as Error).message}`);
    }
    let mesh;
    try {
      mesh = await startLocalMesh(opts);
    } catch (e) {
      throw new CliError(`up: ${(e as Error).message}`, 1);
    }
    const profiles = mesh.fleet ? [...new Set(mesh.fleet.devices.map((d) => d.profile))].join(', ') : 'none';
    // The CLI finds the token by itself only in the default place (relative to where it runs).
    const tokenFlag = mesh.tokenFile === resolve(UP_TOKEN_FILE) ? '' : ` --token-file ${mesh.tokenFile}`;
    process.stdout.write([
      'swarmlet mesh is up',
      `  dashboard + API  ${mesh.url}/`,
      ...(access.auth
        ? [`  log in           ${mesh.loginUrl()}  (one-time link, 15 min)`,
          `  admin token      ${mesh.tokenFile}  (paste it into the dashboard's login; the CLI reads it)`]
        : ['  operator auth    OFF (--no-auth)']),
      `  gateway key      ${toHex(mesh.gatewayIdentity.publicKey)}  (${join(dataDir, 'gateway.pub')}; proofs are checked against it)`,
      `  MQTT broker      ${mesh.brokerUrl}  (mesh id swarmlet; devices authenticate with signed proofs)`,
      `  enrollment       ${join(dataDir, 'enrollment.json')}  (swarmlet enroll list --enrollment FILE --all; devices asking to join wait in the console)`,
      `  devices          ${devices} simulated (${profiles})${mesh.revokedDevices.length ? `, ${mesh.revokedDevices.length} revoked (not started)` : ''}`,
      `  data             ${dataDir}`,
      `  ledger proofs    ${proofLine(mesh.gateway.prover.status())}`,
      '',
      'Try:',
      '  mkdir -p /tmp/in && for i in 1 2 3; do echo "hello $i" > /tmp/in/$i.txt; done',
      `  npx swarmlet job submit --gateway ${mesh.url}${tokenFlag} --task sha256 --input-dir /tmp/in --wait --json`,
      '',
      'Ctrl-C stops everything cleanly.',
      '',
    ].join('\n'));
    const signal = await new Promise<NodeJS.Signals>((res) => {
      process.once('SIGINT', () => res('SIGINT'));
      process.once('SIGTERM', () => res('SIGTERM'));
    });
    process.stdout.write('swarmlet up: stopping (devices drain, gateway flushes, broker closes; Ctrl-C again to exit at once)\n');
    const now = () => {
      process.stderr.write(`swarmlet up: second ${signal === 'SIGINT' ? 'interrupt' : 'signal'}: exiting without finishing the shutdown\n`);
      process.exit(1);
    };
    process.once('SIGINT', now);
    process.once('SIGTERM', now);
    // Every step of stop() is bounded (devices 20 s, gateway 10 s, broker 5 s).
    const late = await mesh.stop();
    if (late.length) process.stderr.write(`swarmlet up: stopped; these parts did not stop in time and were left behind: ${late.join(', ')}\n`);
    else process.stdout.write('swarmlet up: stopped\n');
    // Whatever a stuck part left open (a socket, a timer) must not keep the process alive.
    setTimeout(() => process.exit(late.length ? 1 : 0), 1000).unref();
    return late.length ? 1 : 0;
  },
});
