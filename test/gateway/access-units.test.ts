/**
 * The access pieces on their own: tokens are stored only as hashes and refused once
 * revoked or expired; sessions end with their token; Host names and Origins are judged
 * as documented; the CLI hands the local mesh's token only to a gateway on this machine;
 * quotas count open work per operator and forget finished jobs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openAccessDb, Quota, TokenStore } from '../../gateway/access/index.js';
import { allowedHostNames, crossOriginReason, hostAllowed, hostnameOf, isLoopback } from '../../gateway/access/hosts.js';
import { Sessions } from '../../gateway/access/sessions.js';
import { ensureTokenFile } from '../../gateway/access/token-file.js';
import { resolveToken, UP_TOKEN_FILE } from '../../cli/gateway-client.js';
import { tempDir } from '../helpers/common.js';

test('tokens: only a hash is stored; revoked, expired, altered or unknown tokens are refused', () => {
  const dir = tempDir();
  try {
    const db = openAccessDb(dir.path);
    const t = new TokenStore(db);
    const a = t.create('alice', 'operator');
    const b = t.create('bob', 'viewer', { expiresAt: Date.now() + 1000 });
    assert.match(a.token, /^swt_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    db.close();
    const file = readdirSync(dir.path).map((f) => readFileSync(join(dir.path, f)).toString('latin1')).join('');
    assert.ok(file.includes('alice'), 'the file holds the tokens');
    assert.ok(!file.includes(a.token.slice(-43)), 'no plaintext secret on disk');
    const db2 = openAccessDb(dir.path);
    const t2 = new TokenStore(db2);
    assert.deepEqual(t2.verify(a.token), { id: a.info.id, name: 'alice', role: 'operator', via: 'token' });
    assert.equal(t2.verify(a.token.slice(0, -1) + (a.token.endsWith('A') ? 'B' : 'A')), null, 'one character off');
    assert.equal(t2.verify(b.token, Date.now() + 2000), null, 'expired');
    assert.throws(() => t2.create('alice', 'admin'), /live token named alice/);
    assert.throws(() => t2.create('bad name', 'admin'), /name/);
    assert.equal(t2.revoke('alice')?.name, 'alice');
    assert.equal(t2.verify(a.token), null, 'revoked');
    assert.equal(t2.revoke('alice'), null, 'already revoked');
    assert.equal(t2.verify('swt_nothing'), null);
    // the local mesh's token file: reused while live, replaced once revoked
    const f = join(dir.path, 'op.token');
    const first = ensureTokenFile(t2, f, 'up', 'admin');
    assert.equal(ensureTokenFile(t2, f, 'up', 'admin').token, first.token);
    t2.revoke('up');
    const second = ensureTokenFile(t2, f, 'up', 'admin');
    assert.notEqual(second.token, first.token);
    assert.equal(readFileSync(f, 'utf8').trim(), second.token);
    db2.close();
  } finally {
    dir.cleanup();
  }
});

test('sessions: expire, end on logout and when their token is revoked; login codes work once', () => {
  let live = true;
  const s = new Sessions({ ttlMs: 1000, isLive: () => live });
  const p = { id: 't1', name: 'n', role: 'admin' as const, via: 'token' as const };
  const sid = s.create(p, 0);
  assert.equal(s.get(sid, 500)?.via, 'session');
  assert.equal(s.get(sid, 1500), null, 'expired');
  const sid2 = s.create(p);
  live = false;
  assert.equal(s.get(sid2), null, 'token revoked');
  live = true;
  const sid3 = s.create(p);
  s.end(sid3);
  assert.equal(s.get(sid3), null);
  const code = s.loginCode(p, 60_000);
  assert.equal(s.redeem(code)?.id, 't1');
  assert.equal(s.redeem(code), null);
  assert.equal(s.get('x'.repeat(43)), null);
});

test('Host names and Origins', () => {
  assert.equal(hostnameOf('127.0.0.1:8080'), '127.0.0.1');
  assert.equal(hostnameOf('[::1]:8080'), '::1');
  assert.equal(hostnameOf('Gateway.Example'), 'gateway.example');
  for (const bad of ['', 'a b', 'x@y', 'a/b', 'h:99999999', undefined]) assert.equal(hostnameOf(bad), null, String(bad));
  const loop = allowedHostNames('127.0.0.1');
  assert.ok(hostAllowed('localhost:1', loop) && hostAllowed('[::1]:2', loop) && hostAllowed('127.0.0.1', loop));
  assert.ok(!hostAllowed('evil.example:8080', loop));
  const named = allowedHostNames('127.0.0.1', ['gw.example']);
  assert.ok(hostAllowed('gw.example', named) && !hostAllowed('gw.example.evil', named));
  assert.ok(allowedHostNames('0.0.0.0').has('127.0.0.1'));
  assert.ok(isLoopback('127.0.0.1') && isLoopback('::1') && isLoopback('localhost') && isLoopback('127.1.2.3'));
  assert.ok(!isLoopback('0.0.0.0') && !isLoopback('::') && !isLoopback('10.0.0.1'));
  const host = '127.0.0.1:8080';
  assert.equal(crossOriginReason({ host }, false), null, 'not a browser');
  assert.match(crossOriginReason({ host }, true) ?? '', /Origin/, 'a cookie needs an Origin');
  assert.equal(crossOriginReason({ host, origin: 'http://127.0.0.1:8080' }, true), null);
  assert.equal(crossOriginReason({ host, origin: 'https://127.0.0.1:8080', 'sec-fetch-site': 'same-origin' }, true), null, 'behind a TLS proxy');
  assert.match(crossOriginReason({ host, origin: 'http://127.0.0.1:8081' }, false) ?? '', /cross-origin/);
  assert.match(crossOriginReason({ host, origin: 'http://localhost:8080' }, false) ?? '', /cross-origin/);
  assert.match(crossOriginReason({ host, origin: 'file://' }, false) ?? '', /cross-origin/);
  assert.match(crossOriginReason({ host, 'sec-fetch-site': 'same-site' }, false) ?? '', /cross-site/);
  assert.equal(crossOriginReason({ host, 'sec-fetch-site': 'none' }, false), null);
});

test('the CLI token: flag, file, env, then the local mesh file for a gateway on this machine only', () => {
  const dir = tempDir();
  try {
    mkdirSync(join(dir.path, '.data', 'mesh'), { recursive: true });
    writeFileSync(join(dir.path, UP_TOKEN_FILE), 'from-up\n');
    writeFileSync(join(dir.path, 'f'), 'from-file\n');
    const local = 'http://127.0.0.1:8080';
    assert.equal(resolveToken({ token: 'flag' }, local, { SWARMLET_TOKEN: 'env' }, dir.path), 'flag');
    assert.equal(resolveToken({ 'token-file': join(dir.path, 'f') }, local, { SWARMLET_TOKEN: 'env' }, dir.path), 'from-file');
    assert.equal(resolveToken({}, local, { SWARMLET_TOKEN: 'env' }, dir.path), 'env');
    assert.equal(resolveToken({}, local, {}, dir.path), 'from-up');
    assert.equal(resolveToken({}, 'http://localhost:9', {}, dir.path), 'from-up');
    assert.equal(resolveToken({}, 'http://gw.example:8080', {}, dir.path), null, 'never sent off this machine');
    assert.equal(resolveToken({}, local, {}, join(dir.path, 'f', '..', '..')), null, 'no file, no token');
  } finally {
    dir.cleanup();
  }
});

test('quota: counts open tasks per operator, forgets finished jobs, checks before submitting', () => {
  const dir = tempDir();
  try {
    const db = openAccessDb(dir.path);
    const open = new Map<string, number>();
    let n = 0;
    const q = new Quota(db, { openTasksOf: (id) => open.get(id), totals: () => ({ openJobs: open.size, openTasks: [...open.values()].reduce((a, b) => a + b, 0) }) }, { openTasksPerOperator: 10, tasksPerJob: 8 });
    const submit = (tasks: number) => () => { const id = `j${++n}`; open.set(id, tasks); return { id }; };
    q.admit('a', 8, 10, submit(8));
    assert.throws(() => q.admit('a', 3, 10, submit(3)), (e: Error & { status?: number }) => e.status === 429 && /8 open tasks/.test(e.message));
    assert.equal(n, 1, 'a refused job is never submitted');
    open.set('j1', 2); // six of its tasks finished
    q.admit('a', 3, 10, submit(3));
    assert.deepEqual(q.usage('a'), { jobs: 2, tasks: 5, bytes: 20, allBytes: 20 });
    open.delete('j1');
    assert.equal(q.usage('a').jobs, 1, 'a finished job no longer counts');
    assert.throws(() => q.admit('b', 9, 1, submit(9)), (e: Error & { status?: number }) => e.status === 413);
    db.close();
  } finally {
    dir.cleanup();
  }
});
