/**
 * A whole local mesh in one process: an authenticating broker, a gateway (SQLite store,
 * HTTP API, dashboard) and a simulated fleet of real agents, all under one data folder
 * (keys, enrollment, store, outboxes, the operator token), so a restart picks up where it
 * stopped. The gateway requires operator auth: an admin token is made on first start,
 * kept hashed by the gateway and in plaintext (0600) in `operator.token`, where the CLI
 * finds it. Used by `swarmlet up`, the end-to-end tests and bench/mesh.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateIdentity, loadIdentity, saveIdentity, type Identity } from '../protocol/identity.js';
import { Enrollment } from '../protocol/enrollment.js';
import { toHex } from '../protocol/hash.js';
import { startBroker, type BrokerHandle, type BrokerOptions } from '../broker/index.js';
import { startGateway, type GatewayHandle, type GatewayOptions } from '../gateway/index.js';
import { openAccessDb, TokenStore } from '../gateway/access/index.js';
import { ensureTokenFile } from '../gateway/access/token-file.js';
import { startFleet, fleetIdentities, type Fleet, type FleetOptions } from './fleet.js';

export interface LocalMeshOptions {
  dataDir: string;
  host?: string;
  /** MQTT port (0 = any free port; a taken port falls back to a free one when `portFallback`). */
  mqttPort?: number;
  httpPort?: number;
  portFallback?: boolean;
  devices?: number;
  region?: string;
  fleet?: Partial<Omit<FleetOptions, 'brokers' | 'devices' | 'dataDir' | 'trustedPublishers'>>;
  gateway?: Partial<Omit<GatewayOptions, 'brokerUrl' | 'identity' | 'enrollment' | 'dataDir'>>;
  broker?: Partial<BrokerOptions>;
  onEnrollmentError?: (e: Error) => void;
  /** Where the admin token is kept (default DATA/operator.token). */
  tokenFile?: string;
}

export interface LocalMesh {
  broker: BrokerHandle;
  brokerUrl: string;
  gateway: GatewayHandle;
  gatewayIdentity: Identity;
  fleet: Fleet | null;
  enrollment: Enrollment;
  url: string;
  /** The admin operator token (also in tokenFile). */
  token: string;
  tokenFile: string;
  /** A one-time dashboard login link (valid 15 minutes); it pins the gateway's key for proof checks. */
  loginUrl(): string;
  stop(): Promise<void>;
}

function loadOrCreate(file: string): Identity {
  if (existsSync(file)) return loadIdentity(file);
  const id = generateIdentity();
  saveIdentity(file, id);
  return id;
}

export async function startLocalMesh(o: LocalMeshOptions): Promise<LocalMesh> {
  const host = o.host ?? '127.0.0.1';
  const devices = o.devices ?? 0;
  const region = o.region ?? 'local';
  mkdirSync(o.dataDir, { recursive: true, mode: 0o700 });
  const gw = loadOrCreate(join(o.dataDir, 'gateway.key'));
  writeFileSync(join(o.dataDir, 'gateway.pub'), toHex(gw.publicKey) + '\n');

  // Enrollment: the gateway and every simulated device; the file stays the source of
  // truth (edit it, or `swarmlet sim --enroll`, and the running broker follows).
  const enrollFile = join(o.dataDir, 'enrollment.json');
  const enrollment = existsSync(enrollFile) ? Enrollment.fromFile(enrollFile) : new Enrollment();
  if (!enrollment.has(gw.nodeId, 'gateway')) enrollment.add(gw.publicKey, 'gateway', 'local-gateway');
  const fleetDir = join(o.dataDir, 'fleet');
  for (const id of fleetIdentities(fleetDir, devices)) {
    // A device an operator revoked stays revoked across restarts.
    if (!enrollment.has(id.nodeId) && !enrollment.isRevoked(id.nodeId)) enrollment.add(id.publicKey, 'node', `sim-${id.nodeId.slice(0, 6)}`);
  }
  enrollment.saveTo(enrollFile);
  // Changes made through the console (revoke, readmit, approve, refuse) are kept in the file.
  const save = () => {
    try { enrollment.saveTo(enrollFile); } catch (e) { o.onEnrollmentError?.(e as Error); }
  };
  enrollment.on('changed', save);
  // The admin token: reused while its file holds a live one, else made anew.
  const gatewayData = join(o.dataDir, 'gateway');
  const tokenFile = o.tokenFile ?? join(o.dataDir, 'operator.token');
  const accessDb = openAccessDb(gatewayData);
  let admin: ReturnType<typeof ensureTokenFile>;
  try {
    admin = ensureTokenFile(new TokenStore(accessDb), tokenFile, 'swarmlet-up', 'admin');
  } finally {
    accessDb.close();
  }

  const unwatch = enrollment.watch(enrollFile, o.onEnrollmentError);

  const cleanups: Array<() => Promise<void> | void> = [unwatch, () => { enrollment.off('changed', save); }];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) await c();
  };
  try {
    const broker = await onFreePort(o.mqttPort ?? 0, !!o.portFallback, (port) => startBroker({ ...o.broker, host, port, enrollment }));
    cleanups.push(() => broker.close());
    const brokerUrl = `mqtt://${host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host}:${broker.port}`;
    const gateway = await onFreePort(o.httpPort ?? 0, !!o.portFallback, (port) => startGateway({
      regions: [region], ...o.gateway, brokerUrl, identity: gw, enrollment, dataDir: gatewayData, http: { ...o.gateway?.http, host, port },
    }));
    cleanups.push(() => gateway.stop());
    let fleet: Fleet | null = null;
    if (devices > 0) {
      fleet = await startFleet({ region, ...o.fleet, brokers: [brokerUrl], devices, dataDir: fleetDir, trustedPublishers: [toHex(gw.publicKey)] });
      const f = fleet;
      cleanups.push(() => f.stop());
    }
    let stopped = false;
    return {
      broker, brokerUrl, gateway, gatewayIdentity: gw, fleet, enrollment, url: gateway.url, token: admin.token, tokenFile,
      // The link also pins the gateway's key in the browser: proofs are checked against it.
      loginUrl: () => `${gateway.url}/#login=${gateway.access.loginCode(admin.id)}&gw=${toHex(gw.publicKey)}`,
      async stop() {
        if (stopped) return;
        stopped = true;
        await cleanup();
      },
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

/** Start on `port`; if it is taken and fallback is on, on a free one (a busy 8080 must not stop `npm start`). */
async function onFreePort<T>(port: number, fallback: boolean, start: (port: number) => Promise<T>): Promise<T> {
  try {
    return await start(port);
  } catch (e) {
    if (fallback && port !== 0 && (e as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      process.stderr.write(`swarmlet: port ${port} is taken; using a free port\n`);
      return start(0);
    }
    throw e;
  }
}
