/**
 * bench/console: the console with 500 devices, in real Chromium, against `swarmlet up`
 * started the documented way (defaults: 5 s history buckets, 250 ms live push).
 *
 * 500 devices are enrolled in the mesh's enrollment file and each connects to the broker
 * with its own key (a real MQTT session and connect proof each) and publishes a signed
 * capacity advert once a second (500 adverts/s in all, the worst case the issue names).
 * Measured in the page:
 *   - initial render: the SSE snapshot of 500 devices arriving -> the device list painted,
 *     and navigation start -> painted (JS, login check, stream, snapshot, render);
 *   - the overview's map of 500 device tiles, and the list at its largest page (200 rows);
 *   - update: each pushed `nodes` event -> the frame that painted it (p50/p95/max), under
 *     the full advert load;
 *   - end to end: a probe advert published -> its value painted on screen (includes the
 *     gateway's verification and the push interval);
 *   - main-thread time the page spends per second of wall time (CDP Performance metrics).
 * Baseline, side by side in the same run: the dashboard before this console (the polling
 * page of git ref SWARMLET_BASELINE_REF, default 32f4cff: main's last polling page, with
 * its Modules table), served through a small proxy
 * on another port so it talks to the same gateway: it re-reads every list every 2 s.
 * "Painted" = a requestAnimationFrame callback after the change, then a task queued from it.
 * Run: npm run build && npm run bench -- console
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import type { Page } from 'playwright-core';
import { credentialsFor } from '../broker/auth.js';
import { seal } from '../protocol/envelope.js';
import { Enrollment } from '../protocol/enrollment.js';
import { generateIdentity, type Identity } from '../protocol/identity.js';
import type { CapacityAdvert } from '../protocol/messages.js';
import { topics } from '../protocol/topics.js';
import { launchChromium, CHROMIUM } from '../test/helpers/external.js';
import { fmt, json, percentile, table } from './lib.js';
import { cpu } from './lib-procs.js';
import { existsSync } from 'node:fs';

const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DEVICES = Number(process.env.SWARMLET_BENCH_DEVICES ?? 500);
const BASELINE_REF = process.env.SWARMLET_BASELINE_REF ?? '32f4cff';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const step = (what: string) => process.stderr.write(`# ${new Date().toISOString().slice(11, 19)} ${what}\n`);
const stats = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return { n: s.length, p50: percentile(s, 50), p95: percentile(s, 95), max: s[s.length - 1] ?? NaN }; };

async function up(dir: string): Promise<{ child: ChildProcess; url: string; login: string; broker: string; token: string }> {
  const child = spawn(process.execPath, [CLI, 'up', '--data', dir, '--port', '0', '--mqtt-port', '0', '--devices', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  for (let i = 0; i < 300 && !/MQTT broker\s+(\S+)/.test(out); i++) await sleep(100);
  const url = /dashboard \+ API\s+(\S+)\//.exec(out)?.[1];
  const login = /log in\s+(\S+)/.exec(out)?.[1];
  const broker = /MQTT broker\s+(\S+)/.exec(out)?.[1];
  if (!url || !login || !broker) throw new Error(`swarmlet up did not start:\n${out}`);
  return { child, url, login, broker, token: readFileSync(join(dir, 'operator.token'), 'utf8').trim() };
}

function advert(id: Identity, seq: number, tempC: number): CapacityAdvert {
  return {
    nodeId: id.nodeId, region: 'local', seq, at: Date.now(), state: 'cool', tempC, throttled: { now: 0, sinceBoot: 0 }, load: 0.2, memFreeMb: 3200,
    power: { source: 'ac', batteryPct: null }, slots: 4, freeSlots: 4, fuelRate: 2e7, headroom: 0.6, priceFloor: 1, location: null, profile: 'pi4-heatsink', sources: ['bench'], version: 'bench',
  };
}

/** 500 devices, each its own MQTT session, each advertising once a second (round robin); one device is the probe. */
async function fleet(broker: string, ids: Identity[]) {
  const clients: MqttClient[] = [];
  const seq = new Map<string, number>();
  const publish = (i: number, tempC: number) => {
    const id = ids[i]!;
    const s = (seq.get(id.nodeId) ?? 0) + 1;
    seq.set(id.nodeId, s);
    clients[i]!.publish(topics.cap('local', id.nodeId), Buffer.from(seal('cap', advert(id, s, tempC), id).bytes), { qos: 0, retain: true });
  };
  for (let k = 0; k < ids.length; k += 50) {
    await Promise.all(ids.slice(k, k + 50).map((id, j) => new Promise<void>((resolve, reject) => {
      const c = mqtt.connect(broker, { clientId: id.nodeId, protocolVersion: 4, reconnectPeriod: 0, ...credentialsFor(id, 'swarmlet', id.nodeId) });
      clients[k + j] = c;
      c.once('connect', () => resolve());
      c.once('error', reject);
    })));
  }
  for (let i = 0; i < ids.length; i++) publish(i, 40 + (i % 20));
  let running = true;
  let n = 0;
  // Every device but the probe (index 0): one advert a second each, spread evenly.
  const gap = 1000 / (ids.length - 1);
  void (async () => {
    let next = performance.now();
    while (running) {
      const i = 1 + (n % (ids.length - 1));
      publish(i, 40 + (i % 20) + Math.round(Math.random() * 30) / 10);
      n++;
      next += gap;
      const wait = next - performance.now();
      if (wait > 1) await sleep(wait);
      else if (n % 20 === 0) await new Promise((r) => setImmediate(r));
    }
  })();
  return {
    publish,
    get sent() { return n; },
    async stop() { running = false; await Promise.all(clients.map((c) => c.endAsync(true))); },
  };
}

/** Install a watcher in the page for `text` in `sel`; await `done()` for the wall time it was painted. */
async function watch(page: Page, sel: string, text: string): Promise<{ done: () => Promise<number> }> {
  await page.evaluate(([s, t]) => {
    const w = window as unknown as { __probe: Promise<number> };
    w.__probe = new Promise<number>((resolve) => {
      const painted = () => requestAnimationFrame(() => { const c = new MessageChannel(); c.port1.onmessage = () => resolve(Date.now()); c.port2.postMessage(0); });
      const hit = () => document.querySelector(s!)?.textContent === t;
      if (hit()) { painted(); return; }
      const obs = new MutationObserver(() => { if (hit()) { obs.disconnect(); painted(); } });
      obs.observe(document.body, { subtree: true, childList: true, characterData: true });
    });
  }, [sel, text]);
  return { done: () => page.evaluate(() => (window as unknown as { __probe: Promise<number> }).__probe) };
}

/** Wait (in the page) until `selector` matches at least `n` elements, then return performance.now() at the paint after it (ms since navigation start). */
const paintedWhen = (page: Page, selector: string, n: number) => timeout(30_000, `painted: ${n} x ${selector}`, page.evaluate(([sel, count]) => new Promise<number>((resolve) => {
  const ok = () => document.querySelectorAll(sel as string).length >= (count as number);
  const painted = () => requestAnimationFrame(() => { const c = new MessageChannel(); c.port1.onmessage = () => resolve(performance.now()); c.port2.postMessage(0); });
  if (ok()) return painted();
  const obs = new MutationObserver(() => { if (ok()) { obs.disconnect(); painted(); } });
  obs.observe(document.documentElement, { subtree: true, childList: true, characterData: true, attributes: true });
}), [selector, n] as const));

function timeout<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  return Promise.race([p, sleep(ms).then(() => { throw new Error(`bench/console: timed out: ${what}`); })]);
}

/** Main-thread milliseconds per wall-clock second while `ms` pass. */
async function busy(page: Page, ms: number): Promise<number> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  const task = async () => ((await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === 'TaskDuration')?.value ?? 0);
  const a = await task();
  const t0 = Date.now();
  await sleep(ms);
  const b = await task();
  await cdp.detach();
  return ((b - a) * 1000) / ((Date.now() - t0) / 1000);
}

async function probes(page: Page, f: { publish: (i: number, t: number) => void }, sel: string, count: number, base: number): Promise<number[]> {
  const out: number[] = [];
  for (let k = 0; k < count; k++) {
    const t = Math.round((base + k * 0.1) * 10) / 10;
    // The page formats temperatures with Intl (30.0 shows as "30"): expect what it shows.
    const w = await watch(page, sel, `${new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 }).format(t)} °C`);
    const sent = Date.now();
    f.publish(0, t);
    out.push((await Promise.race([w.done(), sleep(10_000).then(() => NaN)])) - sent);
    await sleep(150 + Math.random() * 300);
  }
  return out.filter((x) => Number.isFinite(x));
}

/** The dashboard as it was before this console, on its own port, talking to the same gateway through a proxy. */
function oldPage(gateway: string): { server: Server; url: Promise<string>; dir: string } | null {
  const dir = mkdtempSync(join(tmpdir(), 'swarmlet-old-dash-'));
  try {
    for (const f of ['index.html', 'app.js', 'session.js', 'style.css', 'cbor-lite.js', 'verify.js']) {
      writeFileSync(join(dir, f), execFileSync('git', ['-C', ROOT, 'show', `${BASELINE_REF}:gateway/dashboard/public/${f}`]));
    }
  } catch (e) {
    console.log(`(no baseline: cannot read the old dashboard from git ref ${BASELINE_REF}: ${(e as Error).message.split('\n')[0]})`);
    rmSync(dir, { recursive: true, force: true });
    return null;
  }
  const g = new URL(gateway);
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === '/' || path.startsWith('/dashboard/')) {
      const file = join(dir, path === '/' ? 'index.html' : path.slice('/dashboard/'.length));
      if (!file.startsWith(dir) || !existsSync(file)) { res.writeHead(404).end(); return; }
      res.writeHead(200, { 'content-type': file.endsWith('.js') ? 'text/javascript' : file.endsWith('.css') ? 'text/css' : 'text/html' }).end(readFileSync(file));
      return;
    }
    const headers = { ...req.headers, host: g.host, ...(req.headers.origin ? { origin: g.origin } : {}) };
    const up = request({ host: g.hostname, port: g.port, method: req.method, path: req.url, headers }, (r) => { res.writeHead(r.statusCode ?? 502, r.headers); r.pipe(res); });
    up.on('error', () => res.writeHead(502).end());
    req.pipe(up);
  });
  const url = new Promise<string>((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as { port: number }).port}`)));
  return { server, url, dir };
}

async function main(): Promise<void> {
  if (!existsSync(CHROMIUM)) { console.log(`bench/console needs ${CHROMIUM} (apt-get install -y chromium)`); process.exit(1); }
  const dir = mkdtempSync(join(tmpdir(), 'swarmlet-bench-console-'));
  const g = await up(dir);
  let f: Awaited<ReturnType<typeof fleet>> | null = null;
  const chrome = await launchChromium();
  const rows: Array<(string | number)[]> = [];
  const out: Record<string, unknown> = { devices: DEVICES };
  try {
    // Enroll the devices in the file the mesh follows, then bring them up.
    const ids = Array.from({ length: DEVICES }, () => generateIdentity());
    const file = join(dir, 'enrollment.json');
    const e = Enrollment.fromFile(file);
    ids.forEach((id, i) => e.add(id.publicKey, 'node', `bench-${String(i).padStart(3, '0')}`));
    e.saveTo(file);
    await sleep(2500);
    step('devices connecting');
    f = await fleet(g.broker, ids);
    step('devices advertising');
    const probeId = ids[0]!.nodeId;
    const auth = { authorization: `Bearer ${g.token}` };
    for (let i = 0; i < 100; i++) {
      const r = (await (await fetch(`${g.url}/api/summary`, { headers: auth })).json()) as { nodes: { online: number } };
      if (r.nodes.online >= DEVICES) break;
      await sleep(200);
    }
    await sleep(2000);

    step('all online; console');
    // ---- the console -------------------------------------------------------------------
    const page = await chrome.context.newPage();
    await page.setViewportSize({ width: 1400, height: 900 });
    await page.goto(g.login);
    await page.waitForSelector('#view:not([hidden])');
    const readPerf = () => page.evaluate(() => { const w = window as unknown as { __console: { perf: { updates: number[]; firstRender: number | null; events: number } } }; return { ...w.__console.perf, updates: [...w.__console.perf.updates] }; });
    // (a) the device list, 50 a page (the default), from a fresh load
    await page.goto(`${g.url}/?fresh=1#/devices`);
    const navList = await paintedWhen(page, '#nodes tbody tr', Math.min(50, DEVICES)).catch(async (e) => {
      await page.screenshot({ path: join(tmpdir(), 'bench-console-fail.png') });
      throw e;
    });
    await page.waitForFunction(() => (window as unknown as { __console: { perf: { firstRender: number | null } } }).__console.perf.firstRender !== null);
    const first = (await readPerf()).firstRender!;
    // updates under load: pushed events -> painted
    const u0 = (await readPerf()).updates.length;
    const c0 = cpu(g.child.pid) * 1000;
    const w0 = Date.now();
    const cpuList = await busy(page, 10_000);
    out.meshCpuMsPerS = (cpu(g.child.pid) * 1000 - c0) / ((Date.now() - w0) / 1000);
    out.loadAverage = (await import('node:os')).loadavg()[0];
    const upd50 = stats((await readPerf()).updates.slice(u0));
    const e2e50 = stats(await probes(page, f, `#nodes tbody tr[data-key="${probeId}"] td:nth-child(4)`, 15, 30));
    rows.push(['console, devices (50/page)', fmt(first, 1), fmt(navList, 0), `${fmt(upd50.p50, 1)} / ${fmt(upd50.p95, 1)} / ${fmt(upd50.max, 1)}`, `${fmt(e2e50.p50, 0)} / ${fmt(e2e50.p95, 0)}`, fmt(cpuList, 0)]);
    out.list50 = { snapshotToPaintMs: first, navToPaintMs: navList, updateMs: upd50, advertToPaintMs: e2e50, mainThreadMsPerS: cpuList };
    step('list 50/page measured');
    // (b) the largest page the list offers: 200 rows
    const t200 = await page.evaluate((n) => new Promise<number>((resolve) => {
      const sel = document.querySelector('select.page-size') as HTMLSelectElement;
      const t0 = performance.now();
      sel.value = '200';
      sel.dispatchEvent(new Event('change'));
      const check = () => (document.querySelectorAll('#nodes tbody tr').length >= Math.min(200, n) ? requestAnimationFrame(() => { const c = new MessageChannel(); c.port1.onmessage = () => resolve(performance.now() - t0); c.port2.postMessage(0); }) : requestAnimationFrame(check));
      check();
    }), DEVICES);
    const u1 = (await readPerf()).updates.length;
    const cpu200 = await busy(page, 10_000);
    const upd200 = stats((await readPerf()).updates.slice(u1));
    const e2e200 = stats(await probes(page, f, `#nodes tbody tr[data-key="${probeId}"] td:nth-child(4)`, 15, 40));
    rows.push(['console, devices (200/page)', fmt(t200, 1), '–', `${fmt(upd200.p50, 1)} / ${fmt(upd200.p95, 1)} / ${fmt(upd200.max, 1)}`, `${fmt(e2e200.p50, 0)} / ${fmt(e2e200.p95, 0)}`, fmt(cpu200, 0)]);
    out.list200 = { renderMs: t200, updateMs: upd200, advertToPaintMs: e2e200, mainThreadMsPerS: cpu200 };
    step('list 200/page measured');
    // (c) the overview: 500 tiles, charts
    await page.goto(`${g.url}/?fresh=2#/overview`);
    const navMap = await paintedWhen(page, '#tiles .tile', DEVICES);
    const u2 = (await readPerf()).updates.length;
    const cpuMap = await busy(page, 10_000);
    const updMap = stats((await readPerf()).updates.slice(u2));
    rows.push(['console, overview (500 tiles)', fmt((await readPerf()).firstRender ?? NaN, 1), fmt(navMap, 0), `${fmt(updMap.p50, 1)} / ${fmt(updMap.p95, 1)} / ${fmt(updMap.max, 1)}`, '–', fmt(cpuMap, 0)]);
    out.overview = { navToPaintMs: navMap, updateMs: updMap, mainThreadMsPerS: cpuMap };
    await page.close();

    step('overview measured');
    // ---- baseline: the polling page ------------------------------------------------------
    const old = oldPage(g.url);
    if (old) {
      const url = await old.url;
      const p = await chrome.context.newPage();
      await p.setViewportSize({ width: 1400, height: 900 });
      await p.goto(`${url}/`);
      // The console's session cookie (same host) may already let it in; else log in with the token.
      await p.waitForSelector('#app:not([hidden]), #login:not([hidden])');
      if (await p.isVisible('#login')) {
        await p.fill('#login-form input[name=token]', g.token);
        await p.click('#login-form button[type=submit]');
        await p.waitForSelector('#app:not([hidden])');
      }
      await p.goto(`${url}/?fresh=1`);
      const navOld = await paintedWhen(p, '#nodes tbody tr', DEVICES);
      const cpuOld = await busy(p, 10_000);
      const e2eOld = stats(await probes(p, f, `#nodes tbody tr[data-node="${probeId}"] td:nth-child(6)`, 15, 50));
      rows.push([`before: polling page (${BASELINE_REF}, all rows)`, '–', fmt(navOld, 0), 'whole page every 2 s', `${fmt(e2eOld.p50, 0)} / ${fmt(e2eOld.p95, 0)}`, fmt(cpuOld, 0)]);
      out.baseline = { ref: BASELINE_REF, navToPaintMs: navOld, advertToPaintMs: e2eOld, mainThreadMsPerS: cpuOld };
      out.ratios = { advertToPaintP50: e2e50.p50 / e2eOld.p50, navToPaint: navList / navOld, mainThread50: cpuList / cpuOld, mainThread200: cpu200 / cpuOld };
      await p.close();
      old.server.close();
      rmSync(old.dir, { recursive: true, force: true });
    }

    step('baseline measured');
    // ---- the gateway's side: history memory and rollup cost (after a minute boundary) -----
    const metric = async () => (await (await fetch(`${g.url}/metrics`, { headers: auth })).text());
    let m = await metric();
    for (let i = 0; i < 70 && !/swarmlet_history_rollup\{what="rows"\} [1-9]/.test(m); i++) { await sleep(1000); m = await metric(); }
    const num = (re: RegExp) => Number(re.exec(m)?.[1] ?? NaN);
    out.gateway = {
      advertsSent: f.sent, historyRingBytes: num(/^swarmlet_history_ring_bytes (\S+)/m), rollupRows: num(/swarmlet_history_rollup\{what="rows"\} (\S+)/), rollupMs: num(/swarmlet_history_rollup\{what="ms"\} (\S+)/),
      rssMb: num(/^swarmlet_gateway_process_resident_memory_bytes (\S+)/m) / 1e6, // prom-client default metric
    };
  } finally {
    await f?.stop();
    await chrome.close();
    g.child.kill('SIGTERM');
    await new Promise((r) => g.child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
  table(`console with ${DEVICES} devices, each advertising once a second (ms; Chromium headless, this machine)`,
    ['page', 'initial render', 'navigation -> painted', 'update p50 / p95 / max', 'advert -> painted p50 / p95', 'main thread ms/s'], rows);
  const gw = out.gateway as Record<string, number>;
  table('gateway under the same load', ['what', 'value'], [
    ['swarmlet up process CPU (broker + gateway)', `${fmt(out.meshCpuMsPerS as number, 0)} ms per s`], ['machine load average (1 min; 2 cores, shared)', fmt(out.loadAverage as number, 1)],
    ['history ring (memory)', `${fmt(gw.historyRingBytes! / 1e6, 2)} MB`], ['minute rollup (one transaction)', `${gw.rollupRows} rows in ${fmt(gw.rollupMs!, 1)} ms`], ['gateway RSS', `${fmt(gw.rssMb!, 0)} MB`],
  ]);
  if (out.ratios) {
    const r = out.ratios as Record<string, number>;
    console.log(`\nratios console / polling page: advert->painted p50 ${fmt(r.advertToPaintP50!, 2)}x, navigation->painted ${fmt(r.navToPaint!, 2)}x, main thread ${fmt(r.mainThread50!, 2)}x (50/page) ${fmt(r.mainThread200!, 2)}x (200/page)`);
  }
  json('console', out);
  mkdirSync(join(tmpdir(), 'swarmlet-bench'), { recursive: true });
}

main().then(() => process.exit(0), (e: unknown) => { console.error(e); process.exit(1); });
