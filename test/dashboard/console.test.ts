/// <reference lib="dom" />
/**
 * The console in real headless Chromium against a real local mesh (broker, gateway, real
 * agents with simulated sensors), logged in through the one-time link `swarmlet up` prints
 * (which also pins the gateway key). Clicks through every view; a job typed into the form
 * completes with the right digests, a trapping input fails the job and shows the task's
 * reason; a verified-delivery job shows every result re-executed; a module published to
 * the registry is listed under Modules and offered by the form, and a job on it completes;
 * a 240-task job is paged; proofs verify against the pinned key and not against another; a job is cancelled
 * from the list; a revoke from the drill-down cuts the device off at the broker and a
 * readmit lets it back; a device with an unenrolled key waits under Enrollment and is
 * approved there; a device that dies raises an alert; a 390 px phone screen needs no
 * sideways scrolling; nothing is refused by the CSP or answered 404; and when the gateway
 * stops, no row stays "online". Screenshots are kept as artefacts (SWARMLET_SHOTS, else a
 * temp folder, printed).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CHROMIUM, launchChromium, needProgram } from '../helpers/external.js';
import { tempDir, waitFor } from '../helpers/common.js';
import { authedFetch } from '../helpers/operator.js';
import { startLocalMesh, type LocalMesh } from '../../sim/mesh.js';
import { startFleet } from '../../sim/fleet.js';
import type { BrowserContext, Page } from 'playwright-core';
import { BYTESUM_LAYOUT, BYTESUM_WAT, bytesumReference, publishModule } from '../helpers/modules.js';

const skip = needProgram(CHROMIUM, 'chromium');
const dir = tempDir('swarmlet-console-');
const shots = process.env.SWARMLET_SHOTS ? resolve(process.env.SWARMLET_SHOTS) : mkdtempSync(join(tmpdir(), 'swarmlet-console-shots-'));
let mesh: LocalMesh;
let chrome: { context: BrowserContext; close: () => Promise<void> };
let page: Page;
const problems: string[] = [];
const missing: string[] = [];

before(async () => {
  if (skip) return;
  mkdirSync(shots, { recursive: true });
  process.stdout.write(`# console screenshots in ${shots}\n`);
  mesh = await startLocalMesh({
    dataDir: dir.path, devices: 4,
    fleet: { profiles: 'pi5-active,pi4-heatsink,router,appliance-hub', advertIntervalMs: 400, timeScale: 5, agent: { reconnect: { minMs: 50, maxMs: 300 } } },
    gateway: { batch: { maxDelayMs: 200 }, console: { history: { stepMs: 1000, points: 900 }, alerts: { offlineGraceMs: 1500 } } },
  });
  chrome = await launchChromium();
  page = await chrome.context.newPage();
  await page.setViewportSize({ width: 1280, height: 860 });
  page.on('dialog', (d) => void d.accept());
  page.on('console', (m) => { if (/Content Security Policy/i.test(m.text()) || m.type() === 'error') problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(e.stack ?? String(e)));
  page.on('response', (r) => { if (r.status() === 404) missing.push(r.url()); });
});

after(async () => {
  await chrome?.close();
  await mesh?.stop();
  dir.cleanup();
});

const opts = { skip: skip ?? false };
const shot = (name: string, fullPage = false) => page.screenshot({ path: join(shots, `${name}.png`), fullPage });
const go = async (hash: string, ready: string) => {
  await page.click(`#nav a[href="${hash}"]`);
  await page.waitForSelector(`#view[data-view="${hash.slice(2)}"] ${ready}`, { timeout: 15_000 });
  // Nothing on screen reads null, undefined or NaN.
  const text = await page.evaluate(() => document.querySelector('#view')!.textContent ?? '');
  assert.doesNotMatch(text, /\bnull\b|\bundefined\b|\bNaN\b/, `${hash} shows a raw null/undefined/NaN`);
};
const statuses = () => page.$$eval('#nodes tbody td.status', (tds) => tds.map((t) => t.textContent));

test('the login link opens the console, pins the gateway key, and the overview shows every device', opts, async () => {
  await page.goto(mesh.loginUrl());
  await page.waitForSelector('#view:not([hidden])', { timeout: 10_000 });
  await page.waitForFunction(() => document.querySelectorAll('#tiles .tile.cool, #tiles .tile.warm').length === 4, null, { timeout: 30_000 });
  const pinned = await page.evaluate(() => localStorage.getItem('swarmlet.gatewayKey'));
  assert.equal(pinned, Buffer.from(mesh.gatewayIdentity.publicKey).toString('hex'));
  assert.equal(await page.evaluate(() => location.hash), '', 'the login code is wiped from the address bar');
  assert.match((await page.textContent('#c-online .value')) ?? '', /^4 \/ 4$/);
  assert.match((await page.textContent('#conn')) ?? '', /^live/);
  await page.waitForSelector('[data-chart="fleet-online"] canvas');
});

test('clicks through every view: each renders its own content (screenshots kept)', opts, async () => {
  await go('#/overview', '#tiles');
  await shot('overview');
  await go('#/devices', '#nodes tbody tr');
  assert.equal((await statuses()).filter((s) => s === 'online').length, 4);
  await shot('devices');
  await go('#/jobs', '#submit');
  await shot('jobs');
  await go('#/batches', '#batches');
  await shot('batches');
  // This gateway runs without ledger proofs: the view says so and offers no check
  // (the real proof is verified in this view by test/gateway/ledger-proof-real.test.ts).
  await go('#/ledger', '#ledger-verify');
  await page.waitForFunction(() => /ledger proofs off: /.test(document.querySelector('#ledger-status')?.textContent ?? ''));
  assert.equal(await page.isDisabled('#ledger-verify'), true);
  await shot('ledger');
  await go('#/modules', '#modules tbody tr[data-key="sha256"]');
  await go('#/enrollment', '#enrollment tbody tr');
  assert.match((await page.textContent('#enroll-counts')) ?? '', /5 enrolled/, 'the gateway and the 4 devices');
  await shot('enrollment');
  await go('#/alerts', '#alerts-active');
  await shot('alerts');
  await go('#/settings', '#pin-form');
  await shot('settings');
  // A device's drill-down from its row.
  await go('#/devices', '#nodes tbody tr');
  await page.click('#nodes tbody tr:first-child');
  await page.waitForSelector('#dev-facts .fact');
  await page.waitForSelector('[data-chart="temp"] canvas');
  assert.doesNotMatch((await page.textContent('#view')) ?? '', /\bnull\b|\bundefined\b|\bNaN\b/);
  assert.match((await page.textContent('#dev-facts')) ?? '', /agent version\s*\d+\.\d+\.\d+/);
  await shot('device', true);
});

test('device list: search, filter and sort', opts, async () => {
  await go('#/devices', '#nodes tbody tr');
  const first = mesh.fleet!.devices[2]!;
  await page.fill('.toolbar input[type=search]', first.nodeId.slice(0, 10));
  await page.waitForFunction(() => document.querySelectorAll('#nodes tbody tr').length === 1);
  assert.equal(await page.getAttribute('#nodes tbody tr', 'data-key'), first.nodeId);
  await page.fill('.toolbar input[type=search]', 'router');
  await page.waitForFunction(() => document.querySelectorAll('#nodes tbody tr').length === 1);
  await page.fill('.toolbar input[type=search]', '');
  await page.waitForFunction(() => document.querySelectorAll('#nodes tbody tr').length === 4);
  await page.selectOption('select[data-filter=status]', 'offline');
  await page.waitForFunction(() => document.querySelectorAll('#nodes tbody tr').length === 0);
  await page.selectOption('select[data-filter=status]', '');
  await page.click('#nodes th[data-sort=temp]'); // hottest first
  await page.waitForFunction(() => document.querySelector('#nodes th[data-sort=temp]')?.classList.contains('desc'));
  const temps = await page.$$eval('#nodes tbody tr td:nth-child(4)', (tds) => tds.map((t) => parseFloat(t.textContent ?? '')));
  assert.deepEqual(temps, [...temps].sort((a, b) => b - a), `sorted by temperature: ${temps}`);
});

async function submit(task: string, lines: string, encoding = 'text', delivery = 'fast'): Promise<string> {
  await go('#/jobs', '#submit');
  await page.waitForSelector(`#submit select[name=task] option[value="${task}"]`, { state: 'attached', timeout: 10_000 });
  await page.selectOption('#submit select[name=task]', task);
  await page.selectOption('#submit select[name=encoding]', encoding);
  await page.selectOption('#submit select[name=delivery]', delivery);
  await page.fill('#submit textarea[name=inputs]', lines);
  await page.click('#submit button[type=submit]');
  await page.waitForFunction(() => /submitted job/.test(document.querySelector('#submit-msg')?.textContent ?? ''), null, { timeout: 10_000 });
  const id = /submitted job (\S+)/.exec((await page.textContent('#submit-msg')) ?? '')![1]!;
  await page.click('#submitted-link');
  await page.waitForSelector('#job-state');
  assert.doesNotMatch((await page.textContent('#view')) ?? '', /\bnull\b|\bundefined\b|\bNaN\b/);
  return id;
}

test('a job typed into the form completes with the right digests; a trapping input fails the job with the task\'s reason', opts, async () => {
  await submit('sha256', 'alpha\nbeta\ngamma');
  await page.waitForFunction(() => document.querySelector('#job-state')?.textContent === 'done', null, { timeout: 60_000 });
  await page.waitForFunction(() => document.querySelectorAll('#results tbody tr button[data-verify]').length === 3, null, { timeout: 10_000 });
  const digests = await page.$$eval('#results tbody tr td.output', (tds) => tds.map((t) => t.getAttribute('title')));
  assert.deepEqual(digests, ['alpha', 'beta', 'gamma'].map((s) => createHash('sha256').update(s).digest('hex')));
  await shot('job');
  // primes takes lo,hi (u32 LE); one byte traps.
  await submit('primes', '0000000010000000\n00', 'hex');
  await page.waitForFunction(() => /^failed \(1 of 2 tasks\)$/.test(document.querySelector('#job-state')?.textContent ?? ''), null, { timeout: 60_000 });
  assert.equal(await page.getAttribute('#job-state', 'class'), 'failed');
  await page.selectOption('select[data-filter=state]', 'failed');
  await page.waitForFunction(() => document.querySelectorAll('#results tbody tr').length === 1
    && /^failed: trap: abort: primes: input must be 8 bytes/.test(document.querySelector('#results tbody tr td:nth-child(2)')?.textContent ?? ''));
  assert.equal(await page.getAttribute('#results tbody tr td:nth-child(2)', 'class'), 'no');
  await page.selectOption('select[data-filter=state]', '');
  await page.click('#nav a[href="#/jobs"]');
  await page.waitForSelector('#jobs tbody tr td.failed');
});

test('verified delivery chosen in the form: the job says so and every result was re-executed', opts, async () => {
  await submit('sha256', 'one\ntwo\nthree\nfour', 'text', 'verified');
  await page.waitForFunction(() => document.querySelector('#job-state')?.textContent === 'done', null, { timeout: 60_000 });
  assert.match((await page.textContent('.job-head .facts')) ?? '', /delivery\s*verified/);
  await page.waitForFunction(() => document.querySelectorAll('#results tbody tr').length === 4, null, { timeout: 10_000 });
  const checked = await page.$$eval('#results tbody tr td:nth-child(8)', (tds) => tds.map((t) => t.textContent));
  assert.deepEqual(checked, Array(4).fill('re-executed'));
});

test('a module published to the registry is listed under Modules with its layouts, offered by the form, and runs', opts, async () => {
  await go('#/modules', '#modules tbody tr[data-key="sha256"]');
  const r = await publishModule(mesh.url, mesh.token, { name: 'bytesum', version: '1.0.0', wasm: BYTESUM_WAT, layout: BYTESUM_LAYOUT });
  assert.equal(r.status, 201);
  // Pushed: the open view reloads its list without a click.
  await page.waitForSelector('#modules tbody tr[data-key="bytesum@1.0.0"]', { timeout: 10_000 });
  const row = await page.$$eval('#modules tbody tr[data-key="bytesum@1.0.0"] td', (tds) => tds.map((t) => t.textContent));
  assert.equal(row[1], 'registry');
  assert.equal(row[4], 'data bytes[]');
  assert.equal(row[5], 'sum u32, length u32');
  assert.match(row[6] ?? '', /by swarmlet-up/);
  const sha = await page.$$eval('#modules tbody tr[data-key="sha256"] td', (tds) => tds.map((t) => t.textContent));
  assert.deepEqual([sha[1], sha[4], sha[5], sha[6]], ['catalogue', 'data bytes[]', 'digest bytes[32]', 'built in']);
  await page.selectOption('select[data-filter=source]', 'registry');
  await page.waitForFunction(() => document.querySelectorAll('#modules tbody tr').length === 1);
  await page.selectOption('select[data-filter=source]', '');
  await shot('modules');
  await go('#/jobs', '#submit');
  await page.waitForSelector('#submit select[name=task] option[value="bytesum@1.0.0"]', { state: 'attached', timeout: 10_000 });
  const offered = await page.$$eval('#submit select[name=task] option', (els) => els.map((e) => (e as HTMLOptionElement).value));
  for (const t of ['sha256', 'primes', 'matmul', 'blur', 'stats', 'mlp', 'mandelbrot', 'bytesum@1.0.0']) assert.ok(offered.includes(t), `the form offers ${t}: ${offered.join(', ')}`);
  await submit('bytesum@1.0.0', 'abc');
  await page.waitForFunction(() => document.querySelector('#job-state')?.textContent === 'done', null, { timeout: 60_000 });
  await page.waitForSelector('#results tbody tr td.output[title]');
  assert.equal(await page.getAttribute('#results tbody tr td.output', 'title'), Buffer.from(bytesumReference(Buffer.from('abc'))).toString('hex'));
});

test('a 240-task job is paged: 50 rows a page, next page, and a page of reasonable height', opts, async () => {
  await submit('sha256', Array.from({ length: 240 }, (_, i) => `line ${i}`).join('\n'));
  await page.waitForFunction(() => document.querySelector('#job-state')?.textContent === 'done', null, { timeout: 120_000 });
  await page.waitForFunction(() => document.querySelector('.page-info')?.textContent === '1–50 of 240');
  assert.equal(await page.$$eval('#results tbody tr', (r) => r.length), 50);
  await page.click('button[data-page=next]');
  await page.waitForFunction(() => document.querySelector('.page-info')?.textContent === '51–100 of 240');
  assert.equal(await page.textContent('#results tbody tr:first-child td:first-child'), '50');
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  assert.ok(height < 4000, `page height ${height} px`);
  await page.fill('.toolbar input[type=search]', '239');
  await page.waitForFunction(() => document.querySelector('.page-info')?.textContent === '1–1 of 1');
  await page.fill('.toolbar input[type=search]', '');
});

test('a receipt proof verifies in the browser against the pinned gateway key, and not against another key', opts, async () => {
  const jobId = await submit('sha256', 'proof me');
  await page.waitForFunction(() => document.querySelector('#job-state')?.textContent === 'done', null, { timeout: 60_000 });
  await page.waitForSelector('#results button[data-verify]');
  mesh.gateway.flushBatches();
  const verdict = async () => {
    for (let i = 0; i < 50; i++) {
      await page.click('#results tbody tr:first-child button[data-verify]');
      await page.waitForSelector('#proof-verdict');
      const text = (await page.textContent('#proof-verdict')) ?? '';
      if (!/no proof yet/.test(text)) return text;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error('no proof became available');
  };
  assert.match(await verdict(), /signed by the gateway key you pinned; verified in this browser/);
  assert.equal(await page.$$eval('#proof li.fail', (e) => e.length), 0);
  await shot('proof');
  // Another key pinned (as if the operator trusted another gateway): the same proof fails.
  await go('#/settings', '#pin-form');
  await page.fill('#pin-key', 'ab'.repeat(32));
  await page.click('#pin-form button[type=submit]');
  await page.waitForFunction(() => /pinned abab/.test(document.querySelector('#pin-msg')?.textContent ?? ''));
  await page.goto(`${mesh.url}/#/jobs/${jobId}`);
  await page.waitForSelector('#results button[data-verify]');
  assert.match(await verdict(), /does NOT verify against the gateway key you pinned/);
  assert.match((await page.textContent('#proof li.fail')) ?? '', /signed by the gateway key you pinned/);
  await go('#/settings', '#pin-form');
  await page.fill('#pin-key', Buffer.from(mesh.gatewayIdentity.publicKey).toString('hex'));
  await page.click('#pin-form button[type=submit]');
});

test('a running job is cancelled from the list', opts, async () => {
  const big = Buffer.from(new Uint32Array([0, 16_000_000]).buffer).toString('base64');
  const r = await authedFetch(mesh.token)(`${mesh.url}/api/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ task: 'primes', inputs: Array(16).fill(big), spotCheck: 0 }) });
  const { id } = (await r.json()) as { id: string };
  await go('#/jobs', `#jobs tbody tr[data-key="${id}"]`);
  await page.click(`button[data-cancel="${id}"]`);
  await page.waitForFunction((jid) => document.querySelector(`#jobs tbody tr[data-key="${jid}"] td:nth-child(3)`)?.textContent === 'cancelled', id, { timeout: 10_000 });
  assert.equal(mesh.gateway.getJob(id)?.state, 'cancelled');
});

test('revoke from the drill-down cuts the device off at the broker; readmit lets it back and it comes online', opts, async () => {
  const d = mesh.fleet!.devices[1]!;
  const atBroker = () => Object.values((mesh.broker.aedes as unknown as { clients: Record<string, { id: string }> }).clients).some((c) => c.id.startsWith(d.nodeId));
  assert.ok(atBroker());
  await page.goto(`${mesh.url}/#/devices/${d.nodeId}`);
  await page.waitForSelector('#dev-actions button[data-action=revoke]');
  await page.click('#dev-actions button[data-action=revoke]');
  await page.waitForFunction(() => document.querySelector('#dev-status')?.textContent === 'revoked', null, { timeout: 10_000 });
  await waitFor('the broker cut it off', () => !atBroker(), 10_000);
  assert.equal(mesh.enrollment.has(d.nodeId), false);
  await shot('device-revoked');
  await page.click('#dev-actions button[data-action=readmit]');
  await waitFor('it is back on the broker', () => atBroker(), 15_000);
  await page.waitForFunction(() => document.querySelector('#dev-status')?.textContent === 'online', null, { timeout: 15_000 });
});

test('a device with an unenrolled key waits under Enrollment; approving it there lets it in', opts, async () => {
  const extra = await startFleet({
    brokers: [mesh.brokerUrl], devices: 1, dataDir: join(dir.path, 'newcomer'), trustedPublishers: [Buffer.from(mesh.gatewayIdentity.publicKey).toString('hex')],
    profiles: 'pi5-bare', advertIntervalMs: 400, agent: { reconnect: { minMs: 50, maxMs: 300 } }, threads: 0,
  });
  try {
    const id = extra.devices[0]!.nodeId;
    await waitFor('a join request', () => mesh.enrollment.pending.get(id), 15_000);
    await page.waitForFunction(() => document.querySelector('#badge-pending')?.textContent === '1', null, { timeout: 10_000 });
    await go('#/enrollment', '#enrollment');
    await page.selectOption('select[data-filter=status]', 'pending');
    await page.waitForSelector(`#enrollment button[data-approve="${id}"]`, { timeout: 10_000 });
    await shot('enrollment-pending');
    await page.fill(`#enrollment tr[data-key="pending:${id}"] input.name-input`, 'shed-pi');
    await page.click(`#enrollment button[data-approve="${id}"]`);
    await page.waitForFunction(() => /approve .*: done/.test(document.querySelector('#enroll-msg')?.textContent ?? ''));
    await waitFor('the newcomer is online', () => mesh.gateway.console.node(id)?.online, 20_000);
    assert.equal(mesh.enrollment.get(id)?.name, 'shed-pi');
    await go('#/devices', '#nodes tbody tr');
    await page.waitForFunction((nid) => document.querySelector(`#nodes tr[data-key="${nid}"] td.status`)?.textContent === 'online', id, { timeout: 15_000 });
    assert.equal(await page.textContent(`#nodes tr[data-key="${id}"] td:first-child`), 'shed-pi');
  } finally {
    await extra.stop();
  }
  await page.selectOption('select[data-filter=status]', '').catch(() => undefined);
});

test('a device that dies raises an offline alert, shown in Alerts and on the map', opts, async () => {
  const dead = mesh.fleet!.devices[3]!;
  mesh.fleet!.kill(3);
  await go('#/alerts', '#alerts-active');
  await page.waitForSelector(`#alerts-active tr[data-key^="node-offline:${dead.nodeId}@"]`, { timeout: 20_000 });
  await shot('alerts-offline');
  await go('#/overview', '#tiles');
  await page.waitForSelector(`#tiles .tile.offline[data-node="${dead.nodeId}"]`);
  await page.waitForSelector('[data-chart="fleet-tasks"] canvas');
  await shot('overview-after-work');
  assert.match((await page.textContent('#nav a[data-view=alerts] .count')) ?? '', /^[1-9]/);
});

test('a 390 px phone screen: every view fits without sideways scrolling', opts, async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  try {
    const id = mesh.fleet!.devices[0]!.nodeId;
    for (const hash of ['#/overview', '#/devices', `#/devices/${id}`, '#/jobs', '#/batches', '#/modules', '#/enrollment', '#/alerts', '#/settings']) {
      await page.goto(`${mesh.url}/${hash}`);
      await page.waitForSelector('#view > *');
      await new Promise((r) => setTimeout(r, 300));
      const w = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(w <= 390, `${hash} renders ${w} px wide on a 390 px screen`);
    }
    await page.goto(`${mesh.url}/#/overview`);
    await page.waitForSelector('#tiles .tile');
    await shot('phone-overview');
    await page.goto(`${mesh.url}/#/devices`);
    await page.waitForSelector('#nodes tbody tr');
    await shot('phone-devices');
  } finally {
    await page.setViewportSize({ width: 1280, height: 860 });
  }
});

test('no CSP refusals, no page errors, no 404 (favicon included)', opts, () => {
  assert.deepEqual(problems, []);
  assert.deepEqual(missing, []);
});

test('when the gateway stops, the console says so and no device row stays "online"', opts, async () => {
  await go('#/devices', '#nodes tbody tr');
  assert.ok((await statuses()).includes('online'));
  await mesh.gateway.stop();
  await page.waitForFunction(() => /unreachable/.test(document.querySelector('#conn')?.textContent ?? ''), null, { timeout: 20_000 });
  await page.waitForFunction(() => !Array.from(document.querySelectorAll('#nodes tbody td.status')).some((t) => t.textContent === 'online'), null, { timeout: 5000 });
  const s = await statuses();
  assert.ok(s.length >= 3 && !s.includes('online'), `statuses after the gateway stopped: ${s}`);
  await shot('gateway-down');
});
