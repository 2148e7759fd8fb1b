/**
 * `swarmlet up`: the whole local mesh in one process: an authenticating broker, a gateway
 * (SQLite store, HTTP API, dashboard) and a small simulated fleet running real tasks.
 * Everything lives under one data folder, so a restart picks up where it stopped.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { defineCommand, numberOption, CliError } from '../../util/cli.js';

export default defineCommand({
  name: 'up',
  summary: 'Run the whole local mesh: broker, gateway with dashboard, and simulated devices.',
  usage: 'swarmlet up [--data DIR] [--port N] [--mqtt-port N] [--devices N] [--profiles MIX]',
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
  },
  details: 'Logs are JSON lines (level from SWARMLET_LOG_LEVEL, default warn here). Stop with Ctrl-C.',
  async run({ values }) {
    process.env.SWARMLET_LOG_LEVEL ??= 'warn';
    const dataDir = resolve((values.data as string | undefined) ?? '.data/mesh');
    const host = (values.host as string | undefined) ?? '127.0.0.1';
    const httpPort = numberOption(values, 'port', 8080, { min: 0, max: 65535 });
    const mqttPort = numberOption(values, 'mqtt-port', 18830, { min: 0, max: 65535 });
    const devices = numberOption(values, 'devices', 6, { min: 0, max: 2000 });
    const cheaters = numberOption(values, 'cheaters', 0, { min: 0, max: devices });
    const timeScale = numberOption(values, 'time-scale', 1, { min: 0.001, max: 10_000, integer: false });
    const region = (values.region as string | undefined) ?? 'local';

    const [{ loadIdentity, generateIdentity, saveIdentity }, { Enrollment }, { toHex }, { startBroker }, { startGateway }, fleetMod] = await Promise.all([
      import('../../protocol/identity.js'), import('../../protocol/enrollment.js'), import('../../protocol/hash.js'),
      import('../../broker/index.js'), import('../../gateway/index.js'), import('../../sim/fleet.js'),
    ]);
    try {
      fleetMod.profileMix(values.profiles as string | undefined, Math.max(devices, 1));
    } catch (e) {
      throw new CliError(`up: --profiles: ${(e as Error).message}`);
    }
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });

    // Keys and enrollment: the gateway, then every simulated device.
    const gwKeyFile = join(dataDir, 'gateway.key');
    let gw;
    if (existsSync(gwKeyFile)) gw = loadIdentity(gwKeyFile);
    else saveIdentity(gwKeyFile, (gw = generateIdentity()));
    writeFileSync(join(dataDir, 'gateway.pub'), toHex(gw.publicKey) + '\n');
    const enrollFile = join(dataDir, 'enrollment.json');
    const enrollment = existsSync(enrollFile) ? Enrollment.fromFile(enrollFile) : new Enrollment();
    if (!enrollment.has(gw.nodeId, 'gateway')) enrollment.add(gw.publicKey, 'gateway', 'local-gateway');
    const fleetDir = join(dataDir, 'fleet');
    for (const id of fleetMod.fleetIdentities(fleetDir, devices)) {
      if (!enrollment.has(id.nodeId)) enrollment.add(id.publicKey, 'node', `sim-${id.nodeId.slice(0, 6)}`);
    }
    enrollment.saveTo(enrollFile);
    const unwatch = enrollment.watch(enrollFile, (e) => process.stderr.write(`swarmlet up: enrollment file ignored: ${e.message}\n`));

    const broker = await onFreePort(mqttPort, (port) => startBroker({ host, port, enrollment }));
    const brokerUrl = `mqtt://${host === '0.0.0.0' ? '127.0.0.1' : host}:${broker.port}`;
    let gateway;
    try {
      gateway = await onFreePort(httpPort, (port) => startGateway({
        brokerUrl, identity: gw!, enrollment, regions: [region], dataDir: join(dataDir, 'gateway'), http: { host, port },
      }));
    } catch (e) {
      await broker.close();
      throw e;
    }
    let fleet: Awaited<ReturnType<typeof fleetMod.startFleet>> | null = null;
    if (devices > 0) {
      fleet = await fleetMod.startFleet({
        brokers: [brokerUrl], devices, dataDir: fleetDir, region, cheaters, timeScale,
        trustedPublishers: [toHex(gw.publicKey)],
        ...(values.profiles ? { profiles: values.profiles as string } : {}),
      });
    }
    const url = gateway.url;
    process.stdout.write([
      'swarmlet mesh is up',
      `  dashboard + API  ${url}/`,
      `  MQTT broker      ${brokerUrl}  (mesh id swarmlet, devices authenticate with signed proofs)`,
      `  devices          ${devices} simulated (${fleet ? [...new Set(fleet.devices.map((d) => d.profile))].join(', ') : 'none'})`,
      `  data             ${dataDir}`,
      '',
      'Try:',
      `  mkdir -p /tmp/in && for i in 1 2 3; do echo "hello $i" > /tmp/in/$i.txt; done`,
      `  npx swarmlet job submit --gateway ${url} --task sha256 --input-dir /tmp/in --wait --json`,
      '',
      'Ctrl-C stops everything cleanly.',
      '',
    ].join('\n'));

    await new Promise<void>((res) => {
      process.once('SIGINT', () => res());
      process.once('SIGTERM', () => res());
    });
    process.stdout.write('swarmlet up: stopping (devices drain, gateway flushes, broker closes)\n');
    unwatch();
    await fleet?.stop();
    await gateway.stop();
    await broker.close();
    return 0;
  },
});

/** Start on `port`; if it is taken, on a free one (a busy 8080 must not stop `npm start`). */
async function onFreePort<T>(port: number, start: (port: number) => Promise<T>): Promise<T> {
  try {
    return await start(port);
  } catch (e) {
    if (port !== 0 && (e as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      process.stderr.write(`swarmlet up: port ${port} is taken; using a free port\n`);
      return start(0);
    }
    throw e;
  }
}
