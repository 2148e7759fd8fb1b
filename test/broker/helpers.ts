/** Shared helpers for broker tests: identities, enrollment, real mqtt.js clients, child processes. */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { needProgram } from '../helpers/external.js';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateIdentity, type Identity } from '../../protocol/identity.js';
import { Enrollment, type Role } from '../../protocol/enrollment.js';
import { credentialsFor } from '../../broker/auth.js';

export interface Member {
  id: Identity;
  role: Role;
}

export function makeMesh(roles: Record<string, Role>): { enrollment: Enrollment; members: Record<string, Identity> } {
  const enrollment = new Enrollment();
  const members: Record<string, Identity> = {};
  for (const [name, role] of Object.entries(roles)) {
    const id = generateIdentity();
    enrollment.add(id.publicKey, role, name);
    members[name] = id;
  }
  return { enrollment, members };
}

export interface ConnectResult {
  client?: MqttClient;
  code?: number;
  error?: string;
}

/** Connect once (no reconnect); resolves with the client or the CONNACK refusal code. */
export function tryConnect(url: string, o: IClientOptions): Promise<ConnectResult> {
  return new Promise((resolve) => {
    const c = mqtt.connect(url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, ...o });
    c.once('connect', () => resolve({ client: c }));
    c.once('error', (e: Error & { code?: number }) => {
      c.end(true);
      resolve({ code: typeof e.code === 'number' ? e.code : undefined, error: e.message });
    });
    c.on('error', () => undefined); // later errors (after we resolved) must not crash the test
    c.once('close', () => {
      if (!c.connected) {
        c.end(true);
        resolve({ error: 'closed before CONNACK' });
      }
    });
  });
}

/** Connect as an enrolled identity with a fresh proof. */
export async function connectAs(url: string, id: Identity, o: IClientOptions & { meshId?: string } = {}): Promise<MqttClient> {
  const clientId = o.clientId ?? id.nodeId;
  const r = await tryConnect(url, { clientId, ...credentialsFor(id, o.meshId ?? 'swarmlet', clientId), ...o });
  if (!r.client) throw new Error(`connect failed: code ${r.code} ${r.error}`);
  return r.client;
}

export function waitFor<T>(pred: () => T | undefined | false, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = () => {
      const v = pred();
      if (v) return resolve(v);
      if (Date.now() - t0 > timeoutMs) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 20);
    };
    tick();
  });
}

export function waitClose(c: MqttClient, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!c.connected) return resolve();
    const t = setTimeout(() => reject(new Error('client was not disconnected')), timeoutMs);
    c.once('close', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

export { freePort } from '../helpers/common.js';

export function tempDir(prefix = 'swarmlet-broker-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A binary the test needs: skip (with the reason) only outside CI. */
export const needBinary = (path: string): string | false => needProgram(path);

/** Start a child process and wait until it accepts TCP connections on port. */
export async function startDaemon(cmd: string, args: string[], port: number): Promise<ChildProcess> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const net = await import('node:net');
  const t0 = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${cmd} exited with ${child.exitCode}: ${err}`);
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); r(true); });
      s.on('error', () => r(false));
    });
    if (ok) return child;
    if (Date.now() - t0 > 10_000) {
      child.kill('SIGKILL');
      throw new Error(`${cmd} did not start listening on ${port}: ${err}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function stopDaemon(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.pid === undefined) return;
  const done = new Promise<void>((r) => child.once('exit', () => r()));
  process.kill(child.pid, 'SIGTERM');
  const t = setTimeout(() => { if (child.exitCode === null && child.pid) process.kill(child.pid, 'SIGKILL'); }, 3000);
  await done;
  clearTimeout(t);
}

/** Collect messages on a client. */
export function collect(c: MqttClient): { topic: string; payload: Buffer; retain: boolean }[] {
  const got: { topic: string; payload: Buffer; retain: boolean }[] = [];
  c.on('message', (topic, payload, packet) => got.push({ topic, payload, retain: packet.retain }));
  return got;
}

/** A TCP proxy whose link can be cut and restored: an uplink outage without stopping either broker. */
export async function cuttableProxy(targetPort: number): Promise<{ port: number; cut(): void; restore(): void; close(): Promise<void> }> {
  const net = await import('node:net');
  let up = true;
  const pairs = new Set<import('node:net').Socket>();
  const srv = net.createServer((inbound) => {
    if (!up) return inbound.destroy();
    const outbound = net.connect(targetPort, '127.0.0.1');
    for (const s of [inbound, outbound]) {
      pairs.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        pairs.delete(s);
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    port: (srv.address() as AddressInfo).port,
    cut() {
      up = false;
      for (const s of pairs) s.destroy();
    },
    restore() {
      up = true;
    },
    close: () => new Promise<void>((r) => {
      for (const s of pairs) s.destroy();
      srv.close(() => r());
    }),
  };
}
