/**
 * `swarmlet enroll` on the enrollment file a running `swarmlet broker` (a child process)
 * follows: a device with an unenrolled key is refused and written to the pending file
 * beside it; `enroll list --pending` shows it, `enroll add NODE_ID` approves it and the
 * broker lets it in; `enroll revoke` cuts it off, `enroll readmit` lets it back; `enroll
 * deny` refuses another; `--key`/`--key-file` enroll by hand; help and one-line errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { credentialsFor } from '../../broker/auth.js';
import { Enrollment } from '../../protocol/enrollment.js';
import { generateIdentity, saveIdentity } from '../../protocol/identity.js';
import { toHex } from '../../protocol/hash.js';
import { connectAs, tryConnect, tempDir, waitClose, waitFor } from './helpers.js';

const MAIN = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { timeout: 20_000, env: { ...process.env, SWARMLET_LOG_LEVEL: 'warn' } }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }));
  });
}

test('enroll: help, and one-line errors with exit 2', async () => {
  for (const sub of ['add', 'list', 'revoke', 'readmit', 'deny']) {
    const h = await cli(['enroll', sub, '--help']);
    assert.equal(h.code, 0, sub);
    assert.match(h.stdout, /--enrollment/);
  }
  const tmp = tempDir();
  try {
    const file = join(tmp.dir, 'e.json');
    for (const bad of [['enroll', 'list'], ['enroll', 'add', '--enrollment', file, '--key', 'zz'], ['enroll', 'add', '--enrollment', file, '--role', 'king', '--key', 'a'.repeat(64)],
      ['enroll', 'revoke', '--enrollment', join(tmp.dir, 'missing.json'), 'x'], ['enroll', 'list', '--bogus'], ['enroll', 'add', '--enrollment', file]]) {
      const r = await cli(bad);
      assert.equal(r.code, 2, `${bad.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
  } finally {
    tmp.cleanup();
  }
});

test('a refused device waits in the pending file; enroll add approves it, revoke cuts it off, readmit lets it back, deny refuses another', async () => {
  const tmp = tempDir();
  const child = { proc: null as ReturnType<typeof spawn> | null };
  try {
    const admin = generateIdentity();
    const e = new Enrollment();
    e.add(admin.publicKey, 'operator', 'ops');
    const file = join(tmp.dir, 'enrollment.json');
    e.saveTo(file);
    const proc = spawn(process.execPath, [MAIN, 'broker', '--enrollment', file, '--port', '0', '--data-dir', tmp.dir], { env: { ...process.env, SWARMLET_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.proc = proc;
    let out = '';
    const port = await new Promise<number>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no listening line: ${out}`)), 15_000);
      proc.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        for (const line of out.split('\n')) if (line.includes('broker listening')) { clearTimeout(t); resolve(JSON.parse(line).port as number); }
      });
    });
    const url = `mqtt://127.0.0.1:${port}`;
    const dev = generateIdentity();
    const attempt = (id = dev) => tryConnect(url, { clientId: id.nodeId, ...credentialsFor(id, 'swarmlet', id.nodeId) });
    assert.equal((await attempt()).code, 5);
    const pendingFile = join(tmp.dir, 'enrollment.pending.json');
    await waitFor(() => existsSync(pendingFile) && readFileSync(pendingFile, 'utf8').includes(toHex(dev.publicKey)), 10_000, 'the pending file lists the device');
    const listed = await cli(['enroll', 'list', '--pending', '--enrollment', file, '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual((JSON.parse(listed.stdout) as { keys: Array<{ nodeId: string; status: string }> }).keys.map((k) => [k.nodeId, k.status]), [[dev.nodeId, 'pending']]);

    const add = await cli(['enroll', 'add', dev.nodeId.slice(0, 8), '--name', 'garage', '--enrollment', file]);
    assert.equal(add.code, 0, add.stderr);
    assert.match(add.stdout, new RegExp(`enrolled ${dev.nodeId} as node \\(garage\\)`));
    const c = await connectWhenLetIn(url, dev);
    const cut = waitClose(c, 10_000);
    const rv = await cli(['enroll', 'revoke', 'garage', '--enrollment', file]);
    assert.equal(rv.code, 0, rv.stderr);
    await cut;
    assert.equal((await attempt()).code, 5, 'revoked: refused');
    const all = JSON.parse((await cli(['enroll', 'list', '--all', '--json', '--enrollment', file])).stdout) as { keys: Array<{ nodeId: string; status: string }> };
    assert.deepEqual(all.keys.find((k) => k.nodeId === dev.nodeId)?.status, 'revoked');
    assert.equal(all.keys.filter((k) => k.status === 'pending').length, 0, 'a revoked key is not pending');
    assert.equal((await cli(['enroll', 'readmit', dev.nodeId, '--enrollment', file])).code, 0);
    const back = await connectWhenLetIn(url, dev);
    back.end(true);
    c.end(true);

    const other = generateIdentity();
    assert.equal((await attempt(other)).code, 5);
    await waitFor(() => readFileSync(pendingFile, 'utf8').includes(toHex(other.publicKey)), 10_000, 'the second device is pending');
    assert.equal((await cli(['enroll', 'deny', other.nodeId, '--enrollment', file])).code, 0);
    await new Promise((r) => setTimeout(r, 1500)); // the broker reloads the file
    assert.equal((await attempt(other)).code, 5);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(readFileSync(pendingFile, 'utf8').includes(toHex(other.publicKey)), false, 'a refused key is no longer listed');

    // By hand: a key file made by `swarmlet keys gen`, and a public key in hex.
    const kf = join(tmp.dir, 'k.key');
    const third = generateIdentity();
    saveIdentity(kf, third);
    assert.equal((await cli(['enroll', 'add', '--key-file', kf, '--enrollment', file])).code, 0);
    const pub = join(tmp.dir, 'gw.pub');
    const gw = generateIdentity();
    writeFileSync(pub, toHex(gw.publicKey) + '\n');
    assert.equal((await cli(['enroll', 'add', '--key-file', pub, '--role', 'gateway', '--enrollment', file])).code, 0);
    const final = Enrollment.fromFile(file);
    assert.equal(final.get(third.nodeId)?.role, 'node');
    assert.equal(final.get(gw.nodeId)?.role, 'gateway');
    assert.equal(final.get(dev.nodeId)?.name, 'garage');
    assert.equal(final.revocation(other.nodeId)?.reason, 'join request refused');
  } finally {
    child.proc?.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    tmp.cleanup();
  }
});

/** The broker follows the file (polled each second): try until it lets the device in. */
async function connectWhenLetIn(url: string, id: ReturnType<typeof generateIdentity>) {
  const until = Date.now() + 15_000;
  for (;;) {
    try {
      return await connectAs(url, id);
    } catch (e) {
      if (Date.now() > until) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
