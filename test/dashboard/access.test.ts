/// <reference lib="dom" />
/**
 * Operator access in real headless Chromium against a real local mesh: the dashboard asks
 * for a login and takes a token into an HttpOnly, SameSite=Strict cookie page script cannot
 * read; while the operator is logged in, a page of another origin on the same host (same
 * site, so the cookie rides along) cannot revoke a device or submit a job with `no-cors`
 * fetches or a form post; a name rebound to 127.0.0.1 (DNS rebinding) gets nothing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHROMIUM, launchChromium, needProgram } from '../helpers/external.js';
import { startLocalMesh, type LocalMesh } from '../../sim/mesh.js';
import type { BrowserContext, Page } from 'playwright-core';

const skip = needProgram(CHROMIUM, 'chromium');
const dir = mkdtempSync(join(tmpdir(), 'swarmlet-dash-access-'));
let mesh: LocalMesh;
let chrome: { context: BrowserContext; close: () => Promise<void> };
let page: Page;
let attacker: Server;
let attackerUrl = '';

before(async () => {
  if (skip) return;
  mesh = await startLocalMesh({ dataDir: dir, devices: 1, fleet: { profiles: 'pi5-active', advertIntervalMs: 500 } });
  // The attacker's page: another port on the same host is another origin but the same site.
  attacker = createServer((_req, res) => { res.writeHead(200, { 'content-type': 'text/html' }); res.end('<!doctype html><title>cats</title><p>cute cats</p>'); });
  await new Promise<void>((r) => attacker.listen(0, '127.0.0.1', r));
  attackerUrl = `http://127.0.0.1:${(attacker.address() as { port: number }).port}`;
  // rebind.test resolves to 127.0.0.1, as an attacker's DNS would make it.
  chrome = await launchChromium(['--host-resolver-rules=MAP rebind.test 127.0.0.1']);
  page = await chrome.context.newPage();
});

after(async () => {
  await chrome?.close();
  await new Promise((r) => (attacker ? attacker.close(r) : r(undefined)));
  await mesh?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const deviceId = () => mesh.fleet!.devices[0]!.nodeId;

test('the dashboard asks for a login; a wrong token is refused; the right one opens it with a cookie script cannot read', { skip: skip ?? false }, async () => {
  await page.goto(`${mesh.url}/`);
  await page.waitForSelector('#login:not([hidden])');
  assert.equal(await page.isHidden('#view'), true, 'no fleet data before login');
  await page.fill('#login-form input[name=token]', 'swt_000000000000_' + 'A'.repeat(43));
  await page.click('#login-form button[type=submit]');
  await page.waitForFunction(() => /refused/.test(document.querySelector('#login-msg')?.textContent ?? ''));
  await page.fill('#login-form input[name=token]', mesh.token);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#view:not([hidden])');
  await page.waitForFunction(() => document.querySelectorAll('#tiles .tile').length >= 1, null, { timeout: 30_000 });
  assert.match((await page.textContent('#who-name')) ?? '', /swarmlet-up \(admin\)/);
  const cookie = (await chrome.context.cookies(mesh.url)).find((c) => c.name === 'swarmlet_session');
  assert.ok(cookie, 'session cookie set');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Strict');
  assert.equal(await page.evaluate(() => document.cookie), '', 'page script cannot read it');
});

test('while logged in, a page on another origin cannot revoke or submit (no-cors fetch, form post)', { skip: skip ?? false }, async () => {
  const jobsBefore = mesh.gateway.store.listJobs(1000).length;
  const refused = () => mesh.gateway.metrics.httpRefused.get().then((m) => m.values.find((x) => x.labels.reason === 'origin')?.value ?? 0);
  const refusedBefore = await refused();
  const evil = await chrome.context.newPage();
  await evil.goto(attackerUrl);
  const gw = mesh.url;
  const sent = await evil.evaluate(async ({ gw, id }) => {
    const tries = [
      fetch(`${gw}/api/nodes/${id}/revoke`, { method: 'POST', mode: 'no-cors', credentials: 'include' }),
      fetch(`${gw}/api/jobs`, { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ task: 'sha256', inputs: ['AA=='] }) }),
      // login CSRF: log the victim's browser in as someone else
      fetch(`${gw}/api/session`, { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'content-type': 'text/plain' }, body: '{"token":"swt_000000000000_AAAA"}' }),
    ];
    // Cross-Origin-Resource-Policy makes these reject in the page; the requests were sent all the same.
    const rs = await Promise.allSettled(tries);
    return rs.length;
  }, { gw, id: deviceId() });
  assert.equal(sent, 3);
  assert.equal(await refused() - refusedBefore, 3, 'each reached the gateway and was refused for its Origin');
  // A form post navigates; what comes back is the refusal.
  await evil.setContent(`<form id=f method=post enctype="text/plain" action="${gw}/api/jobs"><input name='{"task":"sha256","inputs":["AA=="],"x":"' value='"}'></form>`);
  const [nav] = await Promise.all([evil.waitForNavigation(), evil.evaluate(() => (document.getElementById('f') as HTMLFormElement).submit())]);
  assert.equal(nav?.status(), 403);
  assert.equal(await refused() - refusedBefore, 4);
  assert.match((await evil.textContent('body')) ?? '', /cross-(origin|site)/);
  await evil.close();

  assert.equal(mesh.enrollment.has(deviceId()), true, 'the device is still enrolled');
  assert.equal(mesh.gateway.store.listJobs(1000).length, jobsBefore, 'no job was submitted');
  // The operator's own page, same session: the same calls work, so the refusals above were the Origin check.
  await page.reload();
  await page.waitForSelector('#view:not([hidden])');
  const own = await page.evaluate(async () => {
    const r = await fetch('/api/jobs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ task: 'sha256', inputs: ['AA=='] }) });
    return r.status;
  });
  assert.equal(own, 201);
  const health = await (await fetch(`${mesh.url}/healthz`)).json() as { ok: boolean };
  assert.equal(health.ok, true);
});

test('DNS rebinding: a name resolving to the gateway gets no page and no API', { skip: skip ?? false }, async () => {
  const port = new URL(mesh.url).port;
  const rebound = await chrome.context.newPage();
  const r1 = await rebound.goto(`http://rebind.test:${port}/`);
  assert.equal(r1?.status(), 403);
  const r2 = await rebound.goto(`http://rebind.test:${port}/api/nodes`);
  assert.equal(r2?.status(), 403);
  const post = await rebound.evaluate(async (id) => (await fetch(`/api/nodes/${id}/revoke`, { method: 'POST' })).status, deviceId());
  assert.equal(post, 403);
  await rebound.close();
  assert.equal(mesh.enrollment.has(deviceId()), true);
});

test('logout ends the session', { skip: skip ?? false }, async () => {
  await page.click('#logout');
  await page.waitForSelector('#login:not([hidden])');
  assert.equal(await page.isHidden('#view'), true);
  const status = await page.evaluate(async () => (await fetch('/api/nodes')).status);
  assert.equal(status, 401);
});
