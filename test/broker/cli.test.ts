/** `swarmlet broker` as a real child process. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { connect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { LISTEN_BACKLOG } from '../../broker/server.js';
import { Enrollment } from '../../protocol/enrollment.js';
import { generateIdentity } from '../../protocol/identity.js';
import { connectAs, tryConnect, tempDir, waitClose } from './helpers.js';

const MAIN = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { timeout: 20_000, env: { ...process.env, SWARMLET_LOG_LEVEL: 'warn' } }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }));
  });
}

test('broker --help, and one-line errors with exit 2 on bad arguments', async () => {
  const help = await cli(['broker', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--enrollment/);
  assert.match(help.stdout, /--bridge-topics/);
  const bads = [
    ['broker'],
    ['broker', '--allow-anonymous', '--port', 'abc'],
    ['broker', '--allow-anonymous', '--bogus'],
    ['broker', '--allow-anonymous', '--bridge', 'mqtt://x:1', '--bridge-topics', 'a/#/b'],
    ['broker', '--allow-anonymous', '--bridge-topics', 'a/b'],
    ['broker', '--allow-anonymous', '--tls-cert', '/nonexistent'],
    ['broker', '--allow-anonymous', '--redis', 'nohostport'],
    ['broker', '--allow-anonymous', '--bridge', 'ftp://x', '--bridge-topics', 'a/b'],
  ];
  const results = await Promise.all(bads.map((b) => cli(b)));
  for (const [i, bad] of bads.entries()) {
    const r = results[i]!;
    assert.equal(r.code, 2, `${bad.join(' ')} -> ${r.code}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
  }
  const missing = await cli(['broker', '--enrollment', '/nonexistent/enrollment.json', '--port', '0']);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /enrollment/);
});

test('broker runs with an enrollment file, serves an enrolled device, reloads the file on SIGHUP, and shuts down cleanly on SIGTERM', async () => {
  const tmp = tempDir();
  try {
    const dev = generateIdentity();
    const late = generateIdentity();
    const e = new Enrollment();
    e.add(dev.publicKey, 'node', 'dev');
    const file = join(tmp.dir, 'enrollment.json');
    e.saveTo(file);
    const child = spawn(process.execPath, [MAIN, 'broker', '--enrollment', file, '--port', '0', '--data-dir', tmp.dir], { env: { ...process.env, SWARMLET_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    let out = '';
    const port = await new Promise<number>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no listening line: ${out}`)), 15_000);
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        for (const line of out.split('\n')) {
          if (!line.includes('broker listening')) continue;
          clearTimeout(t);
          resolve(JSON.parse(line).port as number);
        }
      });
    });
    const url = `mqtt://127.0.0.1:${port}`;
    const c = await connectAs(url, dev);
    assert.ok(c.connected);
    const stranger = generateIdentity();
    const r = await tryConnect(url, { clientId: stranger.nodeId, username: stranger.nodeId, password: Buffer.from('x') });
    assert.equal(r.code, 4);
    // SIGHUP re-reads the file: dev removed (cut off at once), late added.
    const next = new Enrollment();
    next.add(late.publicKey, 'node', 'late');
    next.saveTo(file);
    const cut = waitClose(c, 10_000);
    child.kill('SIGHUP');
    await cut;
    const lateClient = await connectAs(url, late);
    assert.ok(lateClient.connected);
    lateClient.end(true);
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    c.end(true);
  } finally {
    tmp.cleanup();
  }
});

test('Enrollment.syncWith: removed keys revoked, new ones added, role changes re-applied', () => {
  const [k1, k2, k3] = [generateIdentity(), generateIdentity(), generateIdentity()];
  const live = new Enrollment();
  live.add(k1.publicKey, 'node');
  live.add(k2.publicKey, 'node');
  const revokedEvents: string[] = [];
  live.on('revoked', (e: { nodeId: string }) => revokedEvents.push(e.nodeId));
  const next = new Enrollment();
  next.add(k2.publicKey, 'gateway');
  next.add(k3.publicKey, 'node');
  const r = live.syncWith(next.list());
  assert.deepEqual(r, { added: [k3.nodeId], revoked: [k1.nodeId], changed: [k2.nodeId] });
  assert.deepEqual(revokedEvents.sort(), [k1.nodeId, k2.nodeId].sort());
  assert.equal(live.get(k2.nodeId)!.role, 'gateway');
  assert.ok(!live.has(k1.nodeId) && live.has(k3.nodeId, 'node'));
});

test('broker: the kernel holds a storm of handshakes while the broker is busy (listen backlog beyond Node\'s default 511)', async () => {
  const tmp = tempDir();
  const sockets: Socket[] = [];
  const child = spawn(process.execPath, [MAIN, 'broker', '--allow-anonymous', '--port', '0', '--data-dir', tmp.dir], { env: { ...process.env, SWARMLET_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    let out = '';
    const port = await new Promise<number>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no listening line: ${out}`)), 15_000);
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        for (const line of out.split('\n')) if (line.includes('broker listening')) { clearTimeout(t); resolve(JSON.parse(line).port as number); }
      });
    });
    // A broker too busy to accept: stopped. The kernel completes handshakes into the listen
    // queue on its own; beyond the queue it drops them and TCP retries after 1, 2, 4 s...
    child.kill('SIGSTOP');
    const N = 1500;
    let up = 0;
    for (let i = 0; i < N; i++) {
      const s = connect(port, '127.0.0.1');
      s.on('error', () => undefined);
      s.once('connect', () => { up++; });
      sockets.push(s);
    }
    const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8').trim());
    const expect = Math.min(N, LISTEN_BACKLOG, somaxconn);
    const deadline = Date.now() + 10_000;
    while (up < expect && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(up >= Math.min(expect, 512), `handshakes completed: ${up} (somaxconn ${somaxconn})`);
    if (somaxconn > 1024) assert.ok(up > 600, `more than Node's default backlog holds: ${up}`);
  } finally {
    for (const s of sockets) s.destroy();
    child.kill('SIGCONT');
    child.kill('SIGTERM');
    await exited;
    tmp.cleanup();
  }
});
