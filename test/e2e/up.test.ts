/**
 * `swarmlet up` and `swarmlet sim --enroll` as real child processes sharing one enrollment
 * file: a revocation through the API outlives a restart, concurrent enrollers lose no key,
 * and `up` stops promptly after its own gateway key was taken out of the enrollment.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateIdentity, loadIdentity, saveIdentity } from '../../protocol/identity.js';
import { toHex } from '../../protocol/hash.js';
import { Enrollment, readEnrollmentDoc, updateEnrollmentFile } from '../../protocol/enrollment.js';
import { startBroker } from '../../broker/index.js';
import { tempDir, waitFor } from '../helpers/common.js';
import { inputs } from './helpers.js';

const CLI = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

interface Proc {
  child: ChildProcess;
  out: () => string;
  /** Resolves with the exit code (null if killed by a signal). */
  exited: Promise<number | null>;
}

function spawnCli(args: string[]): Proc {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SWARMLET_LOG_LEVEL: 'warn' } });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, out: () => out, exited };
}

async function startUp(dataDir: string): Promise<Proc & { url: string }> {
  const p = spawnCli(['up', '--data', dataDir, '--port', '0', '--mqtt-port', '0', '--devices', '2', '--profiles', 'pi5-active']);
  let code: number | null | undefined;
  void p.exited.then((c) => { code = c; });
  const m = await waitFor('swarmlet up to print its address', () => {
    if (code !== undefined) throw new Error(`up exited ${code}:\n${p.out()}`);
    return /dashboard \+ API\s+(http:\/\/\S+?)\/?\s/.exec(p.out());
  }, 60_000);
  tokens.set(m[1]!, readFileSync(join(dataDir, 'operator.token'), 'utf8').trim());
  return { ...p, url: m[1]! };
}

/** SIGTERM, then the exit code; a process still running after `ms` fails the test (and is killed). */
async function stop(p: Proc, ms = 60_000): Promise<number | null> {
  p.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((r) => { timer = setTimeout(() => r('late'), ms); });
  const r = await Promise.race([p.exited, late]);
  clearTimeout(timer);
  if (r === 'late') {
    p.child.kill('SIGKILL');
    assert.fail(`still running ${ms} ms after SIGTERM:\n${p.out().slice(-3000)}`);
  }
  return r;
}

/** The admin token `up` made in its data folder (read once per folder). */
const tokens = new Map<string, string>();
const tokenOf = (url: string) => tokens.get(url) ?? '';

// The operator API, in one place, with the admin token `up` wrote (/healthz answers 503 while the MQTT link is down: still read).
async function api<T>(url: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { authorization: `Bearer ${tokenOf(url)}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${url}${path}`, body === undefined ? { headers } : { method: 'POST', headers, body: JSON.stringify(body) });
  const json = await res.json() as T;
  if (!res.ok && path !== '/healthz') throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

type Nodes = { nodes: { id: string; online: boolean }[] };
let nodes: Nodes = { nodes: [] };
/** Wait until the latest /api/nodes answer (polled in the background) satisfies `pred`. */
async function pollNodes(pred: (n: Nodes) => boolean, what: string): Promise<void> {
  await waitFor(what, () => pred(nodes), 60_000, 100).catch((e) => { throw new Error(`${(e as Error).message}; nodes ${JSON.stringify(nodes)}`); });
}

test('a device revoked through the API stays revoked when `up` starts again', async () => {
  const dir = tempDir('swarmlet-up-');
  let up: (Proc & { url: string }) | undefined;
  const poll = setInterval(() => { if (up) api<Nodes>(up.url, '/api/nodes').then((n) => { nodes = n; }, () => undefined); }, 100);
  try {
    up = await startUp(dir.path);
    const dev0 = loadIdentity(join(dir.path, 'fleet', 'dev-000', 'node.key')).nodeId;
    const dev1 = loadIdentity(join(dir.path, 'fleet', 'dev-001', 'node.key')).nodeId;
    await pollNodes((n) => n.nodes.filter((x) => x.online).length === 2, 'both devices online');
    await api(up.url, `/api/nodes/${dev0}/revoke`, {});
    const doc = readEnrollmentDoc(join(dir.path, 'enrollment.json'));
    assert.ok(doc.revoked.some((r) => r.nodeId === dev0), 'the revocation is in the file at once');
    assert.ok(!doc.keys.some((k) => toHex(k.publicKey) === toHex(loadIdentity(join(dir.path, 'fleet', 'dev-000', 'node.key')).publicKey)));
    assert.equal(await stop(up), 0);

    nodes = { nodes: [] };
    up = await startUp(dir.path);
    assert.match(up.out(), /2 simulated \(pi5-active\), 1 revoked \(not started\)/);
    await waitFor('the "stays revoked" log line', () => up!.out().split('\n').some((l) => l.includes('stays revoked') && l.includes(dev0)), 10_000);
    await pollNodes((n) => n.nodes.some((x) => x.id === dev1 && x.online), 'the other device online');
    assert.ok(!nodes.nodes.some((x) => x.id === dev0 && x.online), 'the revoked device is not back');
    const again = readEnrollmentDoc(join(dir.path, 'enrollment.json'));
    assert.ok(again.revoked.some((r) => r.nodeId === dev0) && again.keys.length === 2, 'still revoked; gateway and the other device enrolled');
    assert.equal(await stop(up), 0);
  } finally {
    clearInterval(poll);
    if (up && up.child.exitCode === null) up.child.kill('SIGKILL');
    dir.cleanup();
  }
});

test('`up` stops promptly on SIGTERM after its gateway key was removed from the enrollment mid-job', async () => {
  const dir = tempDir('swarmlet-up-');
  let up: (Proc & { url: string }) | undefined;
  try {
    up = await startUp(dir.path);
    const u = up.url;
    // Work in flight, so the gateway has QoS 1 messages (assignments, acks) that can never be acknowledged.
    const ins = inputs('primes', 300).map((b) => Buffer.from(b).toString('base64'));
    const { id } = await api<{ id: string }>(u, '/api/jobs', { task: 'primes', inputs: ins });
    const done = async () => (await api<{ totals: { done: number } }>(u, `/api/jobs/${id}`)).totals.done;
    for (let i = 0; i < 600 && (await done()) < 5; i++) await new Promise((r) => setTimeout(r, 100));
    // By hand, as an operator editing the file would: the gateway's own key goes.
    const file = join(dir.path, 'enrollment.json');
    const gwKey = readFileSync(join(dir.path, 'gateway.pub'), 'utf8').trim();
    const raw = JSON.parse(readFileSync(file, 'utf8')) as { keys: { publicKey: string }[] };
    raw.keys = raw.keys.filter((k) => k.publicKey !== gwKey);
    writeFileSync(file, JSON.stringify(raw, null, 2));
    let mqtt = true;
    for (let i = 0; i < 300 && mqtt; i++) {
      await new Promise((r) => setTimeout(r, 100));
      mqtt = (await api<{ mqtt: boolean }>(u, '/healthz')).mqtt;
    }
    assert.equal(mqtt, false, 'the broker cut the gateway off');
    await new Promise((r) => setTimeout(r, 1000)); // let publishes pile up on the dead link
    assert.equal(await stop(up), 0);
    assert.match(up.out(), /swarmlet up: stopped\n/);
  } finally {
    if (up && up.child.exitCode === null) up.child.kill('SIGKILL');
    dir.cleanup();
  }
});

test('four `swarmlet sim --enroll` at once into one file: every key is enrolled and every device connects', async () => {
  const dir = tempDir('swarmlet-enroll-');
  const file = join(dir.path, 'enrollment.json');
  const live = new Enrollment();
  const broker = await startBroker({ port: 0, enrollment: live });
  const unwatch = live.watch(file, undefined, 100);
  const sims: Proc[] = [];
  try {
    const gwKey = '11'.repeat(32);
    for (let i = 0; i < 4; i++) {
      sims.push(spawnCli(['sim', '--broker', broker.url, '--devices', '2', '--trust', gwKey, '--data', join(dir.path, `sim-${i}`), '--enroll', file, '--pool-size', '1']));
    }
    await waitFor('every sim to enroll', () => sims.every((s) => /enrolled 2 new device key/.test(s.out())), 60_000)
      .catch((e) => { throw new Error(`${(e as Error).message}\n${sims.map((s) => s.out()).join('\n---\n')}`); });
    const ids = sims.flatMap((_, i) => [0, 1].map((d) => loadIdentity(join(dir.path, `sim-${i}`, `dev-00${d}`, 'node.key')).nodeId));
    const doc = readEnrollmentDoc(file);
    assert.equal(doc.keys.length, 8, 'no key lost');
    const enrolled = new Set(doc.keys.map((k) => toHex(k.publicKey)));
    for (let i = 0; i < 4; i++) for (const d of [0, 1]) assert.ok(enrolled.has(toHex(loadIdentity(join(dir.path, `sim-${i}`, `dev-00${d}`, 'node.key')).publicKey)));
    await waitFor('all 8 devices connected', () => ids.every((id) => live.has(id, 'node')) && broker.aedes.connectedClients >= 8, 60_000);
    for (const s of sims) assert.equal(await stop(s), 0);
  } finally {
    for (const s of sims) if (s.child.exitCode === null) s.child.kill('SIGKILL');
    unwatch();
    await broker.close();
    dir.cleanup();
  }
});

test('`up` whose own gateway key is recorded as revoked refuses to start with a one-line reason', async () => {
  const dir = tempDir('swarmlet-up-');
  try {
    const gw = generateIdentity();
    saveIdentity(join(dir.path, 'gateway.key'), gw);
    updateEnrollmentFile(join(dir.path, 'enrollment.json'), (d) => {
      d.revoked.push({ nodeId: gw.nodeId, publicKey: gw.publicKey, at: new Date().toISOString(), reason: 'key leaked' });
    });
    const p = spawnCli(['up', '--data', dir.path, '--port', '0', '--mqtt-port', '0', '--devices', '0']);
    assert.equal(await p.exited, 1);
    assert.match(p.out(), /^swarmlet: up: the local gateway's key \w+ is revoked in .*key leaked.*remove its entry from "revoked"\n$/);
  } finally {
    dir.cleanup();
  }
});
