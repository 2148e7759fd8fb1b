/**
 * Operator access, attacked through real HTTP against real gateways (startGateway on a
 * loopback broker with a real device, and a local mesh with the authenticating broker):
 * no credentials, a wrong role, a forged Host, a cross-origin POST, a session cookie
 * without Origin, the gateway's own key, a huge body, jobs over quota, auth off on
 * 0.0.0.0, the MQTT link refused. Each is refused with a clear 4xx (or a refused start)
 * and the gateway stays healthy.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request, type IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { generateIdentity } from '../../protocol/identity.js';
import { startGateway, type GatewayHandle } from '../../gateway/index.js';
import { checkExposure } from '../../gateway/access/index.js';
import { startLocalMesh } from '../../sim/mesh.js';
import { closeRuntime, devices, enrollmentFor, gatewayRuntime, startBroker, tempDir, waitFor, type Device } from './harness.js';
import { closeAll } from '../helpers/common.js';
import { authedFetch, operatorToken } from '../helpers/operator.js';

interface Raw { status: number; headers: IncomingHttpHeaders; body: string; bytes: number }

/** One request through node:http, which (unlike fetch) lets a test forge the Host header. */
function raw(url: string, o: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<Raw> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method: o.method ?? 'GET', headers: o.headers }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => { const b = Buffer.concat(chunks); resolve({ status: res.statusCode!, headers: res.headers, body: b.toString(), bytes: b.length }); });
      res.on('error', reject);
    });
    // A server that answers before reading a huge body may close while we still write it.
    req.on('error', (e) => { if (!answered) setTimeout(() => { if (!answered) reject(e); }, 2000); });
    req.end(o.body);
  });
}

const json = (b: unknown) => JSON.stringify(b);
const jobBody = (n: number, size = 4) => json({ task: 'sha256', inputs: Array.from({ length: n }, (_, i) => Buffer.alloc(size, i).toString('base64')) });
const errorOf = (r: Raw) => (JSON.parse(r.body) as { error: string }).error;

let broker: Awaited<ReturnType<typeof startBroker>>;
let dir: ReturnType<typeof tempDir>;
let gw: GatewayHandle;
let devs: Device[];
const gwId = generateIdentity();
const otherGateway = generateIdentity();
const ids = [generateIdentity()];
const tokens = { viewer: '', operator: '', admin: '' };
let host = '';

before(async () => {
  broker = await startBroker();
  dir = tempDir('swarmlet-access-');
  const enrollment = enrollmentFor(gwId, ids);
  enrollment.add(otherGateway.publicKey, 'gateway', 'another-gateway');
  gw = await startGateway({
    brokerUrl: broker.url, identity: gwId, enrollment, dataDir: join(dir.path, 'gw'), runtime: gatewayRuntime(false),
    spotCheck: 0, durability: 'normal', batch: { maxDelayMs: 50 },
  });
  devs = await devices(broker.url, gwId.publicKey, ids.map((identity) => ({ identity })));
  await waitFor('device online', () => gw.store.listNodes().some((n) => n.online === 1));
  tokens.viewer = operatorToken(gw, 'viewer');
  tokens.operator = operatorToken(gw, 'operator');
  tokens.admin = operatorToken(gw, 'admin');
  host = new URL(gw.url).host;
});

after(async () => {
  await closeAll(devs, gw, broker);
  await closeRuntime();
  dir?.cleanup();
});

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
const post = (path: string, headers: Record<string, string>, body = '{}') => raw(`${gw.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
const healthy = async () => {
  const r = await raw(`${gw.url}/healthz`);
  assert.equal(r.status, 200, r.body);
  assert.equal((JSON.parse(r.body) as { ok: boolean }).ok, true);
};

test('without credentials, or with a wrong or revoked token, nothing but /healthz and the dashboard files answers', async () => {
  const victim = ids[0]!.nodeId;
  for (const [method, path, body] of [['POST', `/api/nodes/${victim}/revoke`, '{}'], ['POST', '/api/jobs', jobBody(1)], ['GET', '/api/nodes', undefined], ['GET', '/api/ledger', undefined], ['GET', '/metrics', undefined]] as const) {
    const r = await raw(`${gw.url}${path}`, { method, headers: body ? { 'content-type': 'application/json' } : {}, body });
    assert.equal(r.status, 401, `${method} ${path}: ${r.body}`);
    assert.match(r.headers['www-authenticate'] ?? '', /^Bearer/);
  }
  assert.equal((await post(`/api/nodes/${victim}/revoke`, bearer('swt_000000000000_' + 'A'.repeat(43)))).status, 401);
  assert.equal((await post(`/api/nodes/${victim}/revoke`, { authorization: 'Basic YWRtaW46YWRtaW4=' })).status, 401);
  const doomed = operatorToken(gw, 'admin');
  assert.equal((await raw(`${gw.url}/api/nodes`, { headers: bearer(doomed) })).status, 200);
  gw.access.tokens.revoke(gw.access.tokens.list().find((t) => t.revokedAt === null && doomed.includes(t.id))!.id);
  assert.equal((await raw(`${gw.url}/api/nodes`, { headers: bearer(doomed) })).status, 401, 'a revoked token stops working at once');
  assert.equal((await raw(`${gw.url}/`)).status, 200, 'the dashboard page itself is public (it shows a login)');
  assert.ok(gw.store.listJobs(10).length === 0 && gw.access && ids.every((i) => gw.store.getNode(i.nodeId)));
  await healthy();
});

test('roles: a viewer reads, an operator submits, only an admin revokes', async () => {
  const victim = ids[0]!.nodeId;
  assert.equal((await raw(`${gw.url}/api/nodes`, { headers: bearer(tokens.viewer) })).status, 200);
  let r = await post('/api/jobs', bearer(tokens.viewer), jobBody(1));
  assert.equal(r.status, 403);
  assert.match(errorOf(r), /operator role needed/);
  r = await post(`/api/nodes/${victim}/revoke`, bearer(tokens.operator));
  assert.equal(r.status, 403);
  assert.match(errorOf(r), /admin role needed/);
  r = await post('/api/jobs', bearer(tokens.operator), jobBody(2));
  assert.equal(r.status, 201, r.body);
  await gw.waitForJob((JSON.parse(r.body) as { id: string }).id, 20_000);
  assert.equal((await raw(`${gw.url}/api/nodes/${victim}/revoke`, { headers: bearer(tokens.admin) })).status, 404, 'no state change on GET');
  assert.equal((await raw(`${gw.url}/api/nodes`, { method: 'HEAD' })).status, 401, 'HEAD is guarded like GET');
  assert.equal((await raw(`${gw.url}/api/nodes`, { method: 'HEAD', headers: bearer(tokens.viewer) })).status, 200);
});

test('a forged Host header (DNS rebinding) is refused, whatever the credentials', async () => {
  for (const h of ['attacker.example', `attacker.example:${new URL(gw.url).port}`, '127.0.0.1.attacker.example', 'user@127.0.0.1']) {
    const r = await raw(`${gw.url}/api/nodes`, { headers: { host: h, ...bearer(tokens.admin) } });
    assert.equal(r.status, 403, `Host ${JSON.stringify(h)}: ${r.body}`);
  }
  const r = await raw(`${gw.url}/api/nodes/${ids[0]!.nodeId}/revoke`, { method: 'POST', headers: { host: 'attacker.example', ...bearer(tokens.admin) } });
  assert.equal(r.status, 403);
  assert.match(errorOf(r), /Host/);
  for (const h of [host, `localhost:${new URL(gw.url).port}`, 'LOCALHOST']) {
    assert.equal((await raw(`${gw.url}/api/nodes`, { headers: { host: h, ...bearer(tokens.admin) } })).status, 200, h);
  }
  assert.ok(gw.store.getNode(ids[0]!.nodeId), 'still enrolled');
  await healthy();
});

test('state changes from another origin are refused (Origin, Sec-Fetch-Site), even with a valid token', async () => {
  const victim = ids[0]!.nodeId;
  const cross: Array<Record<string, string>> = [{ origin: 'http://attacker.example' }, { origin: `http://127.0.0.1:${Number(new URL(gw.url).port) + 1}` }, { origin: 'null' }, { 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' }];
  for (const headers of cross) {
    const r = await post(`/api/nodes/${victim}/revoke`, { ...bearer(tokens.admin), ...headers });
    assert.equal(r.status, 403, JSON.stringify(headers));
    assert.match(errorOf(r), /cross-(origin|site)/);
    assert.equal((await post('/api/jobs', { ...bearer(tokens.admin), ...headers }, jobBody(1))).status, 403);
  }
  assert.equal(gw.store.listJobs(100).length, 1, 'no job from those');
  // same origin passes
  const ok = await post('/api/jobs', { ...bearer(tokens.operator), origin: `http://${host}`, 'sec-fetch-site': 'same-origin' }, jobBody(1));
  assert.equal(ok.status, 201, ok.body);
  // CORS is never opened, preflight or not
  const pre = await raw(`${gw.url}/api/jobs`, { method: 'OPTIONS', headers: { origin: 'http://attacker.example', 'access-control-request-method': 'POST' } });
  assert.equal(pre.headers['access-control-allow-origin'], undefined);
  const get = await raw(`${gw.url}/api/nodes`, { headers: { origin: 'http://attacker.example', ...bearer(tokens.admin) } });
  assert.equal(get.headers['access-control-allow-origin'], undefined);
});

test('dashboard sessions: HttpOnly SameSite=Strict cookie, Origin required with it, one-time login codes, logout', async () => {
  let r = await post('/api/session', { origin: `http://${host}` }, json({ token: tokens.operator }));
  assert.equal(r.status, 200, r.body);
  const setCookie = String(r.headers['set-cookie']);
  assert.match(setCookie, /^swarmlet_session=[A-Za-z0-9_-]{43}; /);
  assert.match(setCookie, /HttpOnly/);
  assert.match(setCookie, /SameSite=Strict/);
  assert.match(setCookie, /Path=\//);
  assert.doesNotMatch(setCookie, /Secure/, 'plain http: a Secure cookie would never come back');
  const viaTls = await post('/api/session', { 'x-forwarded-proto': 'https' }, json({ token: tokens.viewer }));
  assert.match(String(viaTls.headers['set-cookie']), /; Secure$/, 'behind a TLS proxy');
  const cookie = setCookie.split(';')[0]!;
  assert.equal((await raw(`${gw.url}/api/nodes`, { headers: { cookie } })).status, 200);
  r = await post('/api/jobs', { cookie }, jobBody(1));
  assert.equal(r.status, 403, 'a cookie alone never changes state: it must come with our Origin');
  assert.match(errorOf(r), /Origin/);
  assert.equal((await post('/api/jobs', { cookie, origin: 'http://attacker.example' }, jobBody(1))).status, 403);
  r = await post('/api/jobs', { cookie, origin: `http://${host}` }, jobBody(1));
  assert.equal(r.status, 201, r.body);
  assert.equal((await post(`/api/nodes/${ids[0]!.nodeId}/revoke`, { cookie, origin: `http://${host}` })).status, 403, 'the session keeps the token\'s role');
  assert.equal((await post('/api/session', { origin: 'http://attacker.example' }, json({ token: tokens.operator }))).status, 403, 'no login CSRF');
  assert.equal((await post('/api/session', {}, json({ token: 'nope' }))).status, 401);
  // logout ends the session
  assert.equal((await raw(`${gw.url}/api/session`, { method: 'DELETE', headers: { cookie, origin: `http://${host}` } })).status, 200);
  assert.equal((await raw(`${gw.url}/api/nodes`, { headers: { cookie } })).status, 401);
  // a one-time code logs in once
  const adminId = gw.access.tokens.list().find((t) => t.role === 'admin' && t.revokedAt === null)!.id;
  const code = gw.access.loginCode(adminId);
  assert.equal((await post('/api/session', {}, json({ code }))).status, 200);
  assert.equal((await post('/api/session', {}, json({ code }))).status, 401, 'used up');
  const who = JSON.parse((await raw(`${gw.url}/api/session`)).body) as { auth: boolean; authenticated: boolean };
  assert.deepEqual([who.auth, who.authenticated], [true, false]);
});

test('security headers on pages, API answers and errors', async () => {
  for (const path of ['/', '/dashboard/app.js', '/api/nodes', '/nowhere', '/healthz']) {
    const r = await raw(`${gw.url}${path}`, { headers: bearer(tokens.viewer) });
    const h = r.headers;
    const page = path === '/' || path.startsWith('/dashboard');
    assert.match(String(h['content-security-policy']), /default-src 'none'; script-src 'self'; style-src 'self'.*frame-ancestors 'none'/, path);
    assert.doesNotMatch(String(h['content-security-policy']), /unsafe-inline|unsafe-eval/);
    // The dashboard is cross-origin isolated (o1js's wasm threads in the ledger-proof worker).
    assert.equal(h['cross-origin-embedder-policy'], page ? 'require-corp' : undefined, path);
    assert.equal(h['x-content-type-options'], 'nosniff');
    assert.equal(h['x-frame-options'], 'DENY');
    assert.equal(h['referrer-policy'], 'no-referrer');
    assert.equal(h['cross-origin-resource-policy'], 'same-origin');
    assert.equal(h['cache-control'], path === '/' || path.startsWith('/dashboard') ? 'no-cache' : 'no-store', path);
  }
  // Only the ledger-proof worker may evaluate code and compile wasm (o1js runs there, never in the page).
  const w = (await raw(`${gw.url}/dashboard/ledger-worker.js`)).headers;
  assert.match(String(w['content-security-policy']), /^default-src 'none'; script-src 'self' 'unsafe-eval' 'wasm-unsafe-eval'; worker-src 'self' blob:; connect-src 'self'$/);
  assert.equal(w['cross-origin-embedder-policy'], 'require-corp');
});

test('the gateway refuses to revoke its own key or any gateway key, and stays on the mesh', async () => {
  let r = await post(`/api/nodes/${gwId.nodeId}/revoke`, bearer(tokens.admin));
  assert.equal(r.status, 409);
  assert.match(errorOf(r), /own key/);
  r = await post(`/api/nodes/${otherGateway.nodeId}/revoke`, bearer(tokens.admin));
  assert.equal(r.status, 409);
  assert.match(errorOf(r), /gateway key/);
  await healthy();
  const { id } = await gw.submitJob({ task: 'sha256', inputs: [new TextEncoder().encode('still here')] });
  assert.equal((await gw.waitForJob(id, 20_000)).state, 'done', 'the gateway still runs jobs on the mesh');
  // an ordinary device can still be revoked by an admin
  r = await post(`/api/nodes/${ids[0]!.nodeId}/revoke`, bearer(tokens.admin));
  assert.equal(r.status, 200, r.body);
});

test('a huge body is refused without being echoed; a large bad one gets a short reason', async () => {
  const rss0 = process.memoryUsage().rss;
  const huge = Buffer.alloc(50 * 1024 * 1024, 'x');
  for (const path of ['/api/jobs', `/api/nodes/${ids[0]!.nodeId}/revoke`, '/api/session']) {
    const r = await post(path, bearer(tokens.admin), huge as unknown as string);
    assert.equal(r.status, 413, path);
    assert.ok(r.bytes < 300, `${path}: ${r.bytes} bytes back`);
    assert.match(errorOf(r), /too large/);
  }
  // Under the job route's limit but not a job: the reason never quotes the value.
  const str = json('x'.repeat(8 * 1024 * 1024));
  for (const body of [str, json({ task: 'x'.repeat(4 * 1024 * 1024), inputs: ['AA=='] }), json({ task: 'sha256', inputs: ['AA=='], region: 'r'.repeat(2 * 1024 * 1024) }), '{"task": "' + 'y'.repeat(1024 * 1024)]) {
    const r = await post('/api/jobs', bearer(tokens.operator), body);
    assert.equal(r.status, 400);
    assert.ok(r.bytes < 600, `${r.bytes} bytes back: ${r.body.slice(0, 100)}`);
  }
  assert.ok(process.memoryUsage().rss - rss0 < 1024 ** 3, 'sanity: no runaway');
  await healthy();
});

test('quotas: a job too big is 413, one more than the operator may hold open is 429, each with a reason; they hold across a restart', async () => {
  // Its own gateway with small limits and no devices, so jobs stay open (its own region:
  // the other gateway's device must not see offers it cannot verify).
  const qdir = join(dir.path, 'quota');
  const qId = generateIdentity();
  const start = () => startGateway({
    brokerUrl: broker.url, identity: qId, enrollment: enrollmentFor(qId), dataDir: qdir, runtime: gatewayRuntime(false), durability: 'normal', regions: ['quota'],
    quota: { tasksPerJob: 10, bytesPerJob: 1000, openJobsPerOperator: 2, openTasksPerOperator: 15, openJobs: 3 },
    access: { publicRead: true },
  });
  let q = await start();
  try {
    const a = operatorToken(q, 'operator');
    const b = operatorToken(q, 'operator');
    const send = (t: string, body: string) => authedFetch(t)(`${q.url}/api/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const expect = async (p: Promise<Response>, code: number, re?: RegExp) => {
      const r = await p;
      const body = (await r.json()) as { error?: string };
      assert.equal(r.status, code, body.error);
      if (re) assert.match(body.error ?? '', re);
    };
    await expect(send(a, jobBody(11)), 413, /11 tasks; at most 10 per job/);
    await expect(send(a, jobBody(100_001)), 413, /too large/); // the route's body limit follows from the quota
    await expect(send(a, jobBody(5, 300)), 413, /1500 input bytes; at most 1000/);
    await expect(send(a, jobBody(8)), 201);
    await expect(send(a, jobBody(8)), 429, /8 open tasks; 8 more would pass your limit of 15/);
    await expect(send(a, jobBody(5)), 201);
    await expect(send(a, jobBody(1)), 429, /2 open jobs; at most 2/);
    await expect(send(b, jobBody(1)), 201, undefined); // another operator has its own quota
    await expect(send(b, jobBody(1)), 429, /gateway is full/);
    // public reads: anyone may read, nobody anonymous may submit
    assert.equal((await fetch(`${q.url}/api/jobs`)).status, 200);
    assert.equal((await fetch(`${q.url}/api/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: jobBody(1) })).status, 401);
    await q.stop();
    q = await start();
    await expect(send(a, jobBody(1)), 429, /2 open jobs/);
  } finally {
    await q.stop();
  }
});

test('auth off on a non-loopback address is refused at start unless explicitly allowed', async () => {
  await assert.rejects(startGateway({
    brokerUrl: broker.url, identity: generateIdentity(), enrollment: enrollmentFor(gwId), dataDir: join(dir.path, 'open'), runtime: gatewayRuntime(false),
    http: { host: '0.0.0.0', port: 0 }, access: { auth: false },
  }), /refusing to listen on 0\.0\.0\.0 with operator auth off/);
  assert.throws(() => checkExposure('::', { auth: false }), /refusing/);
  assert.throws(() => checkExposure('192.168.1.10', { auth: false }), /refusing/);
  assert.doesNotThrow(() => checkExposure('0.0.0.0', { auth: false, insecureOpen: true }));
  assert.doesNotThrow(() => checkExposure('0.0.0.0', {}));
  assert.doesNotThrow(() => checkExposure('127.0.0.1', { auth: false }));
});

test('/healthz is 503, not ok, while the broker refuses the gateway (its key revoked at the broker)', async () => {
  const mdir = tempDir('swarmlet-access-mesh-');
  const mesh = await startLocalMesh({ dataDir: mdir.path, devices: 0 });
  try {
    assert.equal((await fetch(`${mesh.url}/healthz`)).status, 200);
    // What an edit of the enrollment file does: the broker cuts the gateway and refuses it.
    mesh.enrollment.revoke(mesh.gatewayIdentity.nodeId);
    let h: { ok: boolean; mqtt: boolean; mqttError?: string } | undefined;
    let status = 0;
    for (const end = Date.now() + 20_000; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
      const r = await fetch(`${mesh.url}/healthz`);
      status = r.status;
      h = (await r.json()) as typeof h;
      if (status === 503 && /authori[sz]ed/i.test(h?.mqttError ?? '')) break;
    }
    assert.equal(status, 503, JSON.stringify(h));
    assert.equal(h?.ok, false);
    assert.equal(h?.mqtt, false);
    assert.match(h?.mqttError ?? '', /authori[sz]ed/i, 'the refusal is named');
  } finally {
    await mesh.stop();
    mdir.cleanup();
  }
});
