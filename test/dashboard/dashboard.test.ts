/// <reference lib="dom" />
/**
 * The dashboard in real headless Chromium against a real local mesh (broker, gateway,
 * simulated agents), logged in through the one-time link: devices show up, a job submitted
 * from the form completes with the right digests, a receipt's inclusion proof verifies in
 * the browser, a job whose task traps shows as failed with the task's reason, the module
 * registry is listed beside the catalogue, revoking a device from the table takes it
 * offline, and nothing the page does is refused by its Content Security Policy.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHROMIUM, launchChromium, needProgram } from '../helpers/external.js';
import { startLocalMesh, type LocalMesh } from '../../sim/mesh.js';
import type { BrowserContext, Page } from 'playwright-core';
import { BYTESUM_LAYOUT, BYTESUM_WAT, publishModule } from '../helpers/modules.js';

const skip = needProgram(CHROMIUM, 'chromium');
const dir = mkdtempSync(join(tmpdir(), 'swarmlet-dash-'));
let mesh: LocalMesh;
let chrome: { context: BrowserContext; close: () => Promise<void> };
let page: Page;
const cspViolations: string[] = [];

before(async () => {
  if (skip) return;
  mesh = await startLocalMesh({ dataDir: dir, devices: 3, fleet: { profiles: 'pi5-active,pi4-heatsink,router', advertIntervalMs: 500 }, gateway: { batch: { maxDelayMs: 200 } } });
  chrome = await launchChromium();
  page = await chrome.context.newPage();
  page.on('dialog', (d) => void d.accept());
  page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text()); });
  // The one-time login link `swarmlet up` prints: the page trades it for a session cookie.
  await page.goto(mesh.loginUrl());
  await page.waitForSelector('#app:not([hidden])', { timeout: 10_000 });
});

after(async () => {
  await chrome?.close();
  await mesh?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('devices appear online with their thermal state', { skip: skip ?? false }, async () => {
  await page.waitForFunction(() => document.querySelectorAll('#nodes tbody tr td.online').length >= 3, null, { timeout: 30_000 });
  const states = await page.$$eval('#nodes tbody tr .badge', (els) => els.map((e) => e.textContent));
  assert.equal(states.length, 3);
  for (const s of states) assert.match(s ?? '', /^(cool|warm|hot|critical)$/);
  assert.match((await page.textContent('#health')) ?? '', /MQTT connected/);
});

test('a job submitted from the form completes with the right digests', { skip: skip ?? false }, async () => {
  await page.fill('input[name=task]', 'sha256');
  await page.fill('textarea[name=inputs]', 'alpha\nbeta\ngamma');
  await page.click('#submit button[type=submit]');
  await page.waitForFunction(() => /submitted job/.test(document.querySelector('#submit-msg')?.textContent ?? ''), null, { timeout: 10_000 });
  await page.waitForFunction(() => document.querySelectorAll('#results tbody tr button[data-verify]').length === 3, null, { timeout: 60_000 });
  const digests = await page.$$eval('#results tbody tr td.output', (els) => els.map((e) => e.getAttribute('title')));
  const want = ['alpha', 'beta', 'gamma'].map((s) => createHash('sha256').update(s).digest('hex'));
  assert.deepEqual(digests, want);
});

test('a receipt inclusion proof verifies in the browser', { skip: skip ?? false }, async () => {
  mesh.gateway.flushBatches();
  // The batch is sealed asynchronously; retry the check until the proof exists.
  for (let i = 0; i < 50; i++) {
    await page.click('#results tbody tr:first-child button[data-verify]');
    await page.waitForSelector('#proof-verdict', { timeout: 10_000 });
    const text = (await page.textContent('#proof-verdict')) ?? '';
    if (/verified in this browser/.test(text)) {
      const fails = await page.$$eval('#proof li.fail', (els) => els.length);
      assert.equal(fails, 0);
      const steps = await page.$$eval('#proof li', (els) => els.length);
      assert.ok(steps >= 6, `expected every check listed, got ${steps}`);
      if (process.env.SWARMLET_SCREENSHOT) await page.screenshot({ path: process.env.SWARMLET_SCREENSHOT, fullPage: true });
      return;
    }
    assert.doesNotMatch(text, /does NOT verify/);
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail('no inclusion proof became available');
});

test('a job whose task traps is shown failed, with the task\'s reason', { skip: skip ?? false }, async () => {
  await page.fill('input[name=task]', 'primes');
  await page.fill('textarea[name=inputs]', 'not eight bytes');
  await page.click('#submit button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#jobs tbody tr td.failed') !== null, null, { timeout: 60_000 });
  await page.waitForFunction(() => /trap: abort: primes: input must be 8 bytes/.test(document.querySelector('#results tbody td.no')?.textContent ?? ''), null, { timeout: 30_000 });
  assert.match((await page.textContent('#jd-id')) ?? '', /primes · failed/);
});

test('published modules are listed beside the catalogue, with their layouts', { skip: skip ?? false }, async () => {
  const r = await publishModule(mesh.url, mesh.token, { name: 'bytesum', version: '1.0.0', wasm: BYTESUM_WAT, layout: BYTESUM_LAYOUT });
  assert.equal(r.status, 201);
  await page.waitForSelector('#modules tbody tr[data-module="bytesum@1.0.0"]', { timeout: 10_000 });
  const row = await page.$$eval('#modules tbody tr[data-module="bytesum@1.0.0"] td', (tds) => tds.map((t) => t.textContent));
  assert.equal(row[1], 'registry');
  assert.equal(row[4], 'data bytes[]');
  assert.equal(row[5], 'sum u32, length u32');
  assert.match(row[6] ?? '', /by swarmlet-up/);
  const sha = await page.$$eval('#modules tbody tr[data-module="sha256"] td', (tds) => tds.map((t) => t.textContent));
  assert.deepEqual([sha[1], sha[4], sha[5]], ['catalogue', 'data bytes[]', 'digest bytes[32]']);
  const offered = await page.$$eval('#tasks option', (els) => els.map((e) => e.textContent));
  assert.ok(offered.includes('bytesum@1.0.0') && offered.includes('mandelbrot'), `the form offers every module: ${offered.join(', ')}`);
});

test('revoking a device from the table takes it offline', { skip: skip ?? false }, async () => {
  const id = await page.getAttribute('#nodes tbody tr:last-child', 'data-node');
  assert.ok(id);
  await page.click(`#nodes tbody tr[data-node="${id}"] button`);
  await page.waitForFunction((nid) => {
    const row = document.querySelector(`#nodes tbody tr[data-node="${nid}"]`);
    return !row || row.querySelector('td.offline, td.quarantined') !== null;
  }, id, { timeout: 30_000 });
  assert.equal(mesh.enrollment.has(id!), false);
});

test('the dashboard runs under its CSP (no inline script or style refused)', { skip: skip ?? false }, () => {
  assert.deepEqual(cspViolations, []);
});
