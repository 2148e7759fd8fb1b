/// <reference lib="dom" />
/**
 * What the console shows when result checking catches a device, in real Chromium against a
 * real broker and gateway: a device earns trust, then lies in a job that finishes with its
 * wrong outputs; a verified-delivery job catches it; the finished job's page, open all the
 * while, turns "revised" by server push and lists the revision (whose results were re-run,
 * which came out different); the device's drill-down says it is quarantined, and the
 * operator lifts the quarantine from there (the gateway then checks it from scratch).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CHROMIUM, launchChromium, needProgram } from '../helpers/external.js';
import { closeRuntime, Device, earnTrust, revisionMesh, waitFor } from '../gateway/harness.js';

const skip = needProgram(CHROMIUM, 'chromium');
const shots = process.env.SWARMLET_SHOTS ? resolve(process.env.SWARMLET_SHOTS) : mkdtempSync(join(tmpdir(), 'swarmlet-revision-shots-'));
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const enc = (s: string) => new TextEncoder().encode(s);

after(closeRuntime);

test('a revised job and a quarantined device in the console', { skip: skip ?? false }, async () => {
  const { broker, gw, gwId, aId, bId, devs, close } = await revisionMesh();
  const chrome = await launchChromium();
  const problems: string[] = [];
  try {
    const page = await chrome.context.newPage();
    await page.setViewportSize({ width: 1280, height: 900 });
    page.on('dialog', (d) => void d.accept());
    page.on('pageerror', (e) => problems.push(e.stack ?? String(e)));
    // Device A earns trust alone, then lies on every task of the victim job but its first.
    const a = await Device.start(broker.url, gwId.publicKey, { identity: aId, slots: 2 });
    devs.push(a);
    await waitFor('A online', () => gw.store.getNode(a.nodeId)?.online === 1);
    await earnTrust(gw, a.nodeId);
    let sent = 0;
    a.cheatIf = () => sent++ > 0;
    const ins = Array.from({ length: 12 }, (_, i) => enc(`lie-${i}`));
    const { id: victim } = await gw.submitJob({ task: 'sha256', inputs: ins });
    const before = await gw.waitForJob(victim, 60_000);
    const wrong = before.results!.filter((r, i) => r.outputHex !== sha(ins[i]!)).map((r) => r.index);
    assert.ok(wrong.length >= 10, `the lie went through unchecked (${wrong.length} wrong)`);

    // The operator has the finished job open.
    const admin = gw.access.tokens.create('console-admin', 'admin');
    await page.goto(`${gw.url}/#login=${gw.access.loginCode(admin.info.id)}&gw=${Buffer.from(gwId.publicKey).toString('hex')}`);
    await page.waitForSelector('#view:not([hidden])');
    await page.goto(`${gw.url}/#/jobs/${victim}`);
    await page.waitForFunction(() => document.querySelector('#job-state')?.textContent === 'done', null, { timeout: 15_000 });
    assert.equal(await page.$('#revisions'), null, 'no revision yet');

    // B joins; a verified job checks every result: A is caught, the victim job revised.
    const b = await Device.start(broker.url, gwId.publicKey, { identity: bId, slots: 2 });
    devs.push(b);
    await waitFor('B online', () => gw.store.getNode(b.nodeId)?.online === 1);
    const { id: catcher } = await gw.submitJob({ task: 'sha256', inputs: Array.from({ length: 16 }, (_, i) => enc(`catch-${i}`)), delivery: 'verified' });
    await gw.waitForJob(catcher, 60_000);
    await waitFor('A quarantined', () => gw.store.getNode(a.nodeId)?.quarantined === 1, 30_000);
    const revised = await waitFor('victim revised', () => {
      const v = gw.getJob(victim);
      return v && v.state === 'done' && v.revisions.length > 0 && v.revisions.every((r) => r.state === 'done') ? v : null;
    }, 60_000);

    // Pushed to the open page: no reload, no click.
    await page.waitForFunction(() => document.querySelector('#job-state')?.textContent === 'done, revised', null, { timeout: 20_000 });
    await page.waitForFunction(() => /came out different/.test(document.querySelector('#revisions li')?.textContent ?? ''), null, { timeout: 10_000 });
    const line = (await page.textContent('#revisions li')) ?? '';
    const changed = [...revised.revisions[0]!.changed!].sort((x, y) => x - y);
    assert.match(line, new RegExp(`${revised.revisions[0]!.indexes.length} results of ${a.nodeId.slice(0, 10)} re-run; ${changed.length} came out different`));
    assert.equal(await page.getAttribute('#revisions li a', 'href'), `#/devices/${a.nodeId}`);
    // Every output on the page is right now.
    await page.waitForFunction((n) => document.querySelectorAll('#results tbody tr td.output[title]').length === n, ins.length);
    const outs = await page.$$eval('#results tbody tr td.output', (tds) => tds.map((t) => t.getAttribute('title')));
    assert.deepEqual(outs, ins.map(sha));
    await page.screenshot({ path: join(shots, 'job-revised.png'), fullPage: true });
    await page.goto(`${gw.url}/#/jobs`);
    await page.waitForFunction((id) => document.querySelector(`#jobs tr[data-key="${id}"] td:nth-child(3)`)?.textContent === 'done, revised', victim, { timeout: 10_000 });

    // The device: quarantined, and the operator lifts it from the drill-down.
    await page.click('#nav a[href="#/devices"]');
    await page.waitForFunction((id) => document.querySelector(`#nodes tr[data-key="${id}"] td.status`)?.textContent === 'quarantined', a.nodeId, { timeout: 10_000 });
    await page.goto(`${gw.url}/#/devices/${a.nodeId}`);
    await page.waitForSelector('#dev-actions button[data-action=readmit]');
    assert.equal(await page.textContent('#dev-status'), 'quarantined');
    assert.match((await page.textContent('#dev-facts')) ?? '', /quarantined: caught with a wrong result/);
    await page.screenshot({ path: join(shots, 'device-quarantined.png'), fullPage: true });
    await page.click('#dev-actions button[data-action=readmit]');
    await page.waitForFunction(() => /readmit: done \(quarantine lifted/.test(document.body.textContent ?? ''), null, { timeout: 10_000 });
    assert.equal(gw.store.getNode(a.nodeId)!.quarantined, 0);
    assert.equal(gw.store.getNode(a.nodeId)!.good, 0, 'its record starts again');
    await page.waitForFunction(() => document.querySelector('#dev-status')?.textContent !== 'quarantined', null, { timeout: 10_000 });
    assert.equal(await page.$('#dev-actions button[data-action=readmit]'), null, 'nothing left to lift');
    assert.deepEqual(problems, []);
  } finally {
    await chrome.close();
    await close();
  }
});
