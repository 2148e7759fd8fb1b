/// <reference lib="dom" />
/**
 * ONE real recursive proof, end to end (minutes: a genesis and one or two fold steps, and a circuit
 * compile unless the key cache is warm; scripts/run-tests.mjs warms it in the background while
 * the other tests run; it prints wall and CPU seconds per phase): a gateway with proofs on folds two batches in its prover process;
 * the latest proof verifies against the verification key committed with the source (so a
 * changed circuit without a regenerated gateway/prover/ledger-vk.json fails here); a
 * receipt's ledger inclusion passes `swarmlet proof check` offline with the pinned Pallas
 * key, and fails when its price, the pinned key or the proof is tampered with; the
 * console's Ledger proof view shows the height and lag and verifies the proof in Chromium.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateIdentity } from '../../protocol/identity.js';
import type { LedgerInclusion, LedgerProof, LedgerStatus } from '../../protocol/ledger-proof.js';
import { startGateway, type GatewayHandle } from '../../gateway/index.js';
import { checkLedgerProof } from '../../gateway/prover/check.js';
import { loadO1js } from '../../gateway/prover/o1js.js';
import { readLedgerVk } from '../../gateway/prover/vk.js';
import { cpuMs } from '../../util/cpu.js';
import { projectRoot } from '../../util/paths.js';
import { CHROMIUM, launchChromium, needProgram } from '../helpers/external.js';
import { closeRuntime, devices, enrollmentFor, gatewayRuntime, startBroker, tempDir, waitFor, type Device } from './harness.js';
import { closeAll } from '../helpers/common.js';
import { authedFetch } from '../helpers/operator.js';

const MINUTES = 60_000;
const skipBrowser = needProgram(CHROMIUM, 'chromium');
const gwId = generateIdentity();
const ids = [generateIdentity(), generateIdentity()];
const dir = tempDir('swarmlet-zk-real-');
let broker: Awaited<ReturnType<typeof startBroker>>;
let devs: Device[] = [];
let gw: GatewayHandle;

before(async () => {
  broker = await startBroker();
  devs = await devices(broker.url, gwId.publicKey, ids.map((identity, i) => ({ identity, slots: 2, priceFloor: 0.5 + i })));
  gw = await startGateway({
    brokerUrl: broker.url, identity: gwId, enrollment: enrollmentFor(gwId, ids), dataDir: join(dir.path, 'gw'), runtime: gatewayRuntime(false),
    spotCheck: 0, batch: { maxReceipts: 64, maxDelayMs: 3_600_000 }, bidWindowMs: 60, durability: 'normal',
    // The shared key cache (~/.cache/swarmlet/zk or $SWARMLET_ZK_CACHE): cold in CI, warm on a developer's machine.
    proofs: { enabled: true },
  });
});
after(async () => {
  await closeAll(devs, gw, broker);
  await closeRuntime();
  dir.cleanup();
});

const report: string[] = [];
after(() => { process.stdout.write(`# ledger-proof-real: ${report.join('; ')}\n`); });
/** `swarmlet proof ARGS` in its own process (not waited for here: it runs beside this one). */
const cli = (...args: string[]) => new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve, reject) => {
  const c = spawn(process.execPath, [join(projectRoot(), 'bin', 'swarmlet.js'), 'proof', ...args], { timeout: 10 * MINUTES });
  let stdout = '';
  let stderr = '';
  c.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
  c.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  c.on('error', reject);
  c.on('close', (status) => resolve({ status, stdout, stderr }));
});

test('two batches fold into a real recursive proof that checks offline and in the browser', { timeout: 25 * MINUTES }, async () => {
  // Two batches: 3 receipts, then 2.
  const jobA = await gw.waitForJob((await gw.submitJob({ task: 'sha256', inputs: ['a', 'b', 'c'].map((s) => new TextEncoder().encode(s)) })).id, MINUTES);
  gw.flushBatches();
  await gw.waitForJob((await gw.submitJob({ task: 'sha256', inputs: ['d', 'e'].map((s) => new TextEncoder().encode(s)) })).id, MINUTES);
  gw.flushBatches();
  const viewer = gw.access.tokens.create('ledger-viewer', 'viewer');
  const get = authedFetch(viewer.token);
  const t0 = Date.now();
  await waitFor('two batches proven', () => { const s = gw.prover.status(); if (s.enabled && s.error) throw new Error(s.error); return s.enabled && s.height >= 2; }, 20 * MINUTES, 500);
  const s = await (await get(`${gw.url}/api/proofs/latest`)).json() as Extract<LedgerStatus, { enabled: true }>;
  // Wall and CPU seconds per phase (CPU: all threads; comparable across machine loads; CI's budget is wall time).
  const { startup, folds, lastFold } = gw.prover;
  const sec = (ms: number) => (ms / 1000).toFixed(1);
  report.push(`height 2 after ${sec(Date.now() - t0)} s wall (prover compile ${sec(startup?.compileMs ?? 0)} s, ${sec(startup?.compileCpuMs ?? 0)} s CPU; genesis ${sec(startup?.genesisCpuMs ?? 0)} s CPU)`,
    `${folds.count} folds ${sec(folds.ms)} s wall, ${sec(folds.cpuMs)} s CPU, ${lastFold?.rssMb} MB`);
  assert.deepEqual([s.height, s.sealed, s.lag], [2, 2, 0]);
  const latest = s.latest as LedgerProof;
  assert.equal(latest.state.receipts, '5');
  const key = s.gatewayKey!;
  // Fetched now: the checks below block this process (the gateway's too) for a while.
  const rid = jobA.results![1]!.receiptId!;
  const inc = await (await get(`${gw.url}/api/receipts/${rid}/ledger-proof`)).json() as LedgerInclusion;

  // Three verifiers, each setting itself up (the costly part), run side by side on the
  // machine's cores: the dashboard's in Chromium, the CLI's in its own process, and this one's.
  assert.equal(inc.batch.batchNo, 1);
  const w0 = Date.now();
  const dash = skipBrowser ? null : await openDashboard(viewer.info.id);
  const file = (name: string, x: unknown) => { const f = join(dir.path, name); writeFileSync(f, JSON.stringify(x)); return f; };
  const o = await loadO1js();
  const clis = [
    cli('check', file('inc.json', inc), '--pallas-key', key, '--json'),
    cli('check', file('cheaper.json', { ...inc, price: String(BigInt(inc.price) * 2n + 1n) }), '--pallas-key', key),
    cli('check', file('inc.json', inc), '--pallas-key', o.PrivateKey.random().toPublicKey().toBase58()),
  ];

  // Here: the proof against the committed key (vkHash differs when the circuit changed: regenerate ledger-vk.json).
  const c0 = cpuMs();
  assert.equal(latest.vkHash, readLedgerVk().hash, 'the circuit changed: run `node dist/gateway/prover/vk.js --write` and commit gateway/prover/ledger-vk.json');
  const v = await checkLedgerProof(o, latest, { gatewayKey: key });
  assert.ok(v.ok, JSON.stringify(v.steps));
  const forged = { ...latest, state: { ...latest.state, fuel: String(BigInt(latest.state.fuel) + 1n) }, proof: { ...latest.proof, publicOutput: latest.proof.publicOutput.map((x, i) => (i === 5 ? String(BigInt(x) + 1n) : x)) } };
  const vf = await checkLedgerProof(o, forged, { gatewayKey: key });
  assert.equal(vf.ok, false);
  assert.match(vf.reason ?? '', /recursive proof verifies/);
  report.push(`verify here (verifier setup, 2 checks) ${sec(cpuMs() - c0)} s CPU`);

  // The CLI, offline: a receipt of batch 1 is in the proven ledger; a changed price or another pinned key is not.
  const [ok, cheaper, otherKey] = await Promise.all(clis);
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  assert.equal(JSON.parse(ok.stdout).valid, true);
  assert.equal(cheaper.status, 1);
  assert.match(cheaper.stdout, /invalid: receipt slot/);
  assert.equal(otherKey.status, 1);
  assert.match(otherKey.stdout, /invalid: rooted in the pinned gateway key/);

  // The dashboard: the proof verified by o1js in Chromium.
  if (dash) {
    try {
      await dash.page.waitForSelector('#ledger-verdict', { timeout: 10 * MINUTES });
      const verdict = (await dash.page.textContent('#ledger-verdict')) ?? '';
      const steps = await dash.page.$$eval('#ledger-check li', (els) => els.map((e) => `${e.className === 'fail' ? 'FAIL ' : ''}${e.textContent}`));
      assert.match(verdict, /verified in this browser/, steps.join('\n'));
      assert.equal(steps.filter((x) => x.startsWith('FAIL')).length, 0);
      if (process.env.SWARMLET_SCREENSHOT) await dash.page.screenshot({ path: process.env.SWARMLET_SCREENSHOT, fullPage: true });
    } finally {
      await dash.close();
    }
  }
  report.push(`${dash ? 'browser, CLI and in-process' : 'CLI and in-process'} verification side by side ${sec(Date.now() - w0)} s wall`);
});

/**
 * The console logged in with the one-time link `swarmlet up` prints: its Ledger proof view
 * shows height 2 and no lag, is cross-origin isolated, and has started its check (o1js loaded from the gateway,
 * so this process may now block in its own verification while the browser computes).
 */
async function openDashboard(tokenId: string) {
  const chrome = await launchChromium();
  try {
    const page = await chrome.context.newPage();
    await page.goto(`${gw.url}/#login=${gw.access.loginCode(tokenId)}`);
    // The console's Ledger proof view, reached from its navigation.
    await page.click('#nav a[href="#/ledger"]', { timeout: MINUTES });
    await page.waitForFunction(() => document.querySelector('#view[data-view="ledger"] #l-height')?.textContent === '2', null, { timeout: MINUTES });
    assert.equal(await page.textContent('#l-lag'), '0 batches');
    assert.equal(await page.evaluate(() => crossOriginIsolated), true);
    const o1js = page.waitForResponse((r) => r.url().endsWith('/vendor/o1js/index.js'), { timeout: 5 * MINUTES });
    await page.click('#ledger-verify');
    await (await o1js).finished();
    return { page, close: chrome.close };
  } catch (e) {
    await chrome.close();
    throw e;
  }
}
