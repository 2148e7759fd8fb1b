/// <reference lib="dom" />
/**
 * A chart that fills as a simulated device heats, in real Chromium: one bare Raspberry Pi 4
 * (sim profile pi4-bare, thermal time 5x real), idle at ~45 °C; the device's drill-down is
 * open; a job keeps its four slots busy; the gateway pushes each closed history bucket and
 * the temperature chart grows point by point while the reported temperature climbs and the
 * thermal badge leaves "cool". What the chart holds matches the gateway's history API.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CHROMIUM, launchChromium, needProgram } from '../helpers/external.js';
import { tempDir } from '../helpers/common.js';
import { authedFetch } from '../helpers/operator.js';
import { startLocalMesh, type LocalMesh } from '../../sim/mesh.js';
import type { BrowserContext, Page } from 'playwright-core';

const skip = needProgram(CHROMIUM, 'chromium');
const dir = tempDir('swarmlet-heat-');
const shots = process.env.SWARMLET_SHOTS ? resolve(process.env.SWARMLET_SHOTS) : mkdtempSync(join(tmpdir(), 'swarmlet-heat-shots-'));
let mesh: LocalMesh;
let chrome: { context: BrowserContext; close: () => Promise<void> };
let page: Page;

before(async () => {
  if (skip) return;
  mesh = await startLocalMesh({
    dataDir: dir.path, devices: 1,
    fleet: { profiles: 'pi4-bare', advertIntervalMs: 250, timeScale: 5 },
    gateway: { console: { history: { stepMs: 500, points: 1800 } } },
  });
  chrome = await launchChromium();
  page = await chrome.context.newPage();
  await page.setViewportSize({ width: 1280, height: 900 });
});

after(async () => {
  await chrome?.close();
  await mesh?.stop();
  dir.cleanup();
});

/** What the temperature chart holds: point count and the last temperature (from its legend-free data attribute and the series). */
const chartPoints = () => page.evaluate(() => Number(document.querySelector('[data-chart="temp"]')?.getAttribute('data-points') ?? 0));

test('the temperature chart fills as the device heats under load', { skip: skip ?? false }, async () => {
  const id = mesh.fleet!.devices[0]!.nodeId;
  await page.goto(mesh.loginUrl());
  await page.waitForSelector('#view:not([hidden])');
  await page.goto(`${mesh.url}/#/devices/${id}`);
  await page.waitForSelector('[data-chart="temp"] canvas', { timeout: 15_000 });
  const startPoints = await chartPoints();
  const api = authedFetch(mesh.token);
  const before = (await (await api(`${mesh.url}/api/nodes/${id}`)).json()) as { node: { temperatureC: number; thermalState: string } };
  assert.equal(before.node.thermalState, 'cool');
  // Enough prime counting to keep all four slots busy for about a minute (primes sieves in
  // windows now: a 16 Mi range takes ~1 s a task here).
  const input = Buffer.from(new Uint32Array([0, 16_000_000]).buffer).toString('base64');
  const r = await api(`${mesh.url}/api/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ task: 'primes', inputs: Array(256).fill(input), spotCheck: 0 }) });
  assert.equal(r.status, 201);
  // The badge leaves "cool" as it heats (warm from 60 °C on a Pi).
  await page.waitForFunction(() => /warm|hot|critical/.test(document.querySelector('.dev-head .badge')?.textContent ?? ''), null, { timeout: 90_000 });
  const hot = (await (await api(`${mesh.url}/api/nodes/${id}`)).json()) as { node: { temperatureC: number } };
  assert.ok(hot.node.temperatureC >= before.node.temperatureC + 10, `heated from ${before.node.temperatureC} to ${hot.node.temperatureC} °C`);
  // The chart grows with the pushed buckets, without reloading the page (how many buckets
  // the climb took depends on the machine's speed: wait for a few more, not a count).
  await page.waitForFunction((n) => Number(document.querySelector('[data-chart="temp"]')?.getAttribute('data-points') ?? 0) >= n, startPoints + 5, { timeout: 60_000 })
    .catch(() => undefined);
  const points = await chartPoints();
  assert.ok(points >= startPoints + 5, `chart points ${startPoints} -> ${points}`);
  const series = (await (await api(`${mesh.url}/api/nodes/${id}/history?range=15m`)).json()) as { t: number[]; tempMax: Array<number | null>; tasksPerMin: number[] };
  const temps = series.tempMax.filter((t): t is number => t !== null);
  assert.ok(Math.max(...temps) - Math.min(...temps) >= 10, `history holds the climb: ${Math.min(...temps)} -> ${Math.max(...temps)} °C`);
  assert.ok(series.tasksPerMin.some((x) => x > 0), 'tasks per minute recorded');
  assert.ok(Math.abs(points - series.t.length) <= 3, `the chart holds what the API has (${points} vs ${series.t.length})`);
  await page.setViewportSize({ width: 1280, height: 1250 });
  await page.screenshot({ path: join(shots, 'device-heating.png') });
  process.stdout.write(`# heating screenshot: ${join(shots, 'device-heating.png')}\n`);
});
