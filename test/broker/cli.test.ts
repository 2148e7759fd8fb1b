/** `swarmlet broker` as a real child process. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
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
