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
import { Enrollment, enrollKeys, persistDecisions, updateEnrollmentFile, type Revocation } from '../protocol/enrollment.js';
import { toHex } from '../protocol/hash.js';
import { startBroker, type BrokerHandle, type BrokerOptions } from '../broker/index.js';
import { startGateway, type GatewayHandle, type GatewayOptions } from '../gateway/index.js';
import { openAccessDb, TokenStore } from '../gateway/access/index.js';
import { ensureTokenFile } from '../gateway/access/token-file.js';
import { startFleet, fleetIdentities, type Fleet, type FleetOptions } from './fleet.js';
import { createLogger, type Logger } from '../util/log.js';

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
  /** Longest each shutdown step (devices, gateway, broker) may take before it is given up on. */
  stopStepMs?: { fleet?: number; gateway?: number; broker?: number };
}

export interface LocalMesh {
  broker: BrokerHandle;
  brokerUrl: string;
  gateway: GatewayHandle;
  gatewayIdentity: Identity;
  fleet: Fleet | null;
  enrollment: Enrollment;
  /** Simulated devices whose keys are revoked: kept out of the enrollment and not started. */
  revokedDevices: Revocation[];
  url: string;
  /** The admin operator token (also in tokenFile). */
  token: string;
  tokenFile: string;
  /** A one-time dashboard login link (valid 15 minutes); it pins the gateway's key for proof checks. */
  loginUrl(): string;
  /** Stop devices, gateway and broker; each step is bounded, so this always returns. Resolves with the steps that timed out. */
  stop(): Promise<string[]>;
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
  // truth (edit it, or `swarmlet sim --enroll`, and the running broker follows). A device
  // revoked earlier (through the API, recorded under "revoked") is not enrolled again.
  const log = createLogger('mesh');
  const enrollFile = join(o.dataDir, 'enrollment.json');
  const fleetDir = join(o.dataDir, 'fleet');
  const ids = fleetIdentities(fleetDir, devices);
  const r = updateEnrollmentFile(enrollFile, (doc) => {
    const gwRevoked = doc.revoked.find((x) => x.nodeId === gw.nodeId);
    if (gwRevoked) return { gwRevoked };
    if (!doc.keys.some((k) => k.role === 'gateway' && toHex(k.publicKey) === toHex(gw.publicKey))) {
      doc.keys = doc.keys.filter((k) => toHex(k.publicKey) !== toHex(gw.publicKey));
      doc.keys.push({ publicKey: gw.publicKey, role: 'gateway', name: 'local-gateway' });
    }
    return { enrolled: enrollKeys(doc, ids.map((id) => ({ publicKey: id.publicKey, role: 'node' as const, name: `sim-${id.nodeId.slice(0, 6)}` }))) };
  });
  if (r.gwRevoked) {
    throw new Error(`the local gateway's key ${gw.nodeId} is revoked in ${enrollFile} (at ${r.gwRevoked.at}: ${r.gwRevoked.reason}); to readmit it, remove its entry from "revoked"`);
  }
  const revokedDevices = r.enrolled!.stillRevoked;
  for (const rev of revokedDevices) {
    log.warn({ nodeId: rev.nodeId, revokedAt: rev.at, reason: rev.reason, file: enrollFile }, 'simulated device stays revoked: not enrolled again and not started (to readmit it, remove its "revoked" entry)');
  }
  const enrollment = Enrollment.fromFile(enrollFile);
  // Decisions through the API (revoke, readmit, approve or refuse a join request) are recorded in the file, so the next start keeps them.
  const unpersist = persistDecisions(enrollment, enrollFile, (e) => log.error({ err: e.message }, 'enrollment decision not recorded'));
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
  const skip = ids.flatMap((id, i) => (revokedDevices.some((x) => x.nodeId === id.nodeId) ? [i] : []));

  const steps: Array<{ name: string; ms: number; run: () => Promise<void> | void }> = [{ name: 'enrollment', ms: 1000, run: () => { unwatch(); unpersist(); } }];
  const cleanup = async (): Promise<string[]> => {
    const late: string[] = [];
    for (const st of steps.reverse()) if (!(await within(st.name, st.ms, st.run, log))) late.push(st.name);
    return late;
  };
  try {
    const broker = await onFreePort(o.mqttPort ?? 0, !!o.portFallback, (port) => startBroker({ ...o.broker, host, port, enrollment }));
    steps.push({ name: 'broker', ms: o.stopStepMs?.broker ?? 5000, run: () => broker.close() });
    const brokerUrl = `mqtt://${host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host}:${broker.port}`;
    const gateway = await onFreePort(o.httpPort ?? 0, !!o.portFallback, (port) => startGateway({
      regions: [region], ...o.gateway, brokerUrl, identity: gw, enrollment, dataDir: gatewayData, http: { ...o.gateway?.http, host, port },
    }));
    steps.push({ name: 'gateway', ms: o.stopStepMs?.gateway ?? 10_000, run: () => gateway.stop() });
    let fleet: Fleet | null = null;
    if (devices > 0) {
      fleet = await startFleet({ region, ...o.fleet, brokers: [brokerUrl], devices, dataDir: fleetDir, trustedPublishers: [toHex(gw.publicKey)], skip });
      const f = fleet;
      steps.push({ name: 'devices', ms: o.stopStepMs?.fleet ?? 20_000, run: () => f.stop() });
    }
    let stopping: Promise<string[]> | undefined;
    return {
      broker, brokerUrl, gateway, gatewayIdentity: gw, fleet, enrollment, revokedDevices, url: gateway.url, token: admin.token, tokenFile,
      // The link also pins the gateway's key in the browser: proofs are checked against it.
      loginUrl: () => `${gateway.url}/#login=${gateway.access.loginCode(admin.id)}&gw=${toHex(gw.publicKey)}`,
      stop() {
        stopping ??= cleanup();
        return stopping;
      },
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

/** Run one shutdown step, giving up on it after `ms` (logged): one stuck part must not hold the others or the process. */
async function within(name: string, ms: number, run: () => Promise<void> | void, log: Logger): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((r) => { timer = setTimeout(() => r('timeout'), ms); });
  try {
    const r = await Promise.race([Promise.resolve().then(run).then(() => 'done' as const), timeout]);
    if (r === 'timeout') log.error({ step: name, ms }, 'shutdown step did not finish in time; going on without it');
    return r === 'done';
  } catch (e) {
    log.error({ step: name, err: (e as Error).message }, 'shutdown step failed; going on');
    return false;
  } finally {
    clearTimeout(timer);
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
