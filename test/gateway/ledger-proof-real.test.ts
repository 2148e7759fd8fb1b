/// <reference lib="dom" />
/**
 * ONE real recursive proof, end to end (minutes: a cold circuit compile in CI, a genesis
 * and two fold steps): a gateway with proofs on folds two batches in its prover process;
 * the latest proof verifies against the verification key committed with the source (so a
 * changed circuit without a regenerated gateway/prover/ledger-vk.json fails here); a
 * receipt's ledger inclusion passes `swarmlet proof check` offline with the pinned Pallas
 * key, and fails when its price, the pinned key or the proof is tampered with; the
 * dashboard shows the height and lag and verifies the proof in Chromium.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateIdentity } from '../../protocol/identity.js';
import type { LedgerInclusion, LedgerProof, LedgerStatus } from '../../protocol/ledger-proof.js';
import { startGateway, type GatewayHandle } from '../../gateway/index.js';
import { checkLedgerProof } from '../../gateway/prover/check.js';
import { loadO1js } from '../../gateway/prover/o1js.js';
import { readLedgerVk } from '../../gateway/prover/vk.js';
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

const cli = (...args: string[]) => spawnSync(process.execPath, [join(projectRoot(), 'bin', 'swarmlet.js'), 'proof', ...args], { encoding: 'utf8', timeout: 5 * MINUTES });

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
  process.stdout.write(`# compile + genesis + 2 folds: ${Math.round((Date.now() - t0) / 1000)} s; last fold ${Math.round((gw.prover.lastFold?.ms ?? 0) / 1000)} s at ${gw.prover.lastFold?.rssMb} MB\n`);
  assert.deepEqual([s.height, s.sealed, s.lag], [2, 2, 0]);
  const latest = s.latest as LedgerProof;
  assert.equal(latest.state.receipts, '5');
  const key = s.gatewayKey!;
  // Fetched now: the checks below block this process (the gateway's too) for a while.
  const rid = jobA.results![1]!.receiptId!;
  const inc = await (await get(`${gw.url}/api/receipts/${rid}/ledger-proof`)).json() as LedgerInclusion;

  // The proof against the committed key (vkHash differs when the circuit changed: regenerate ledger-vk.json).
  const o = await loadO1js();
  assert.equal(latest.vkHash, readLedgerVk().hash, 'the circuit changed: run `node dist/gateway/prover/vk.js --write` and commit gateway/prover/ledger-vk.json');
  const v = await checkLedgerProof(o, latest, { gatewayKey: key });
  assert.ok(v.ok, JSON.stringify(v.steps));
  const forged = { ...latest, state: { ...latest.state, fuel: String(BigInt(latest.state.fuel) + 1n) }, proof: { ...latest.proof, publicOutput: latest.proof.publicOutput.map((x, i) => (i === 5 ? String(BigInt(x) + 1n) : x)) } };
  const vf = await checkLedgerProof(o, forged, { gatewayKey: key });
  assert.equal(vf.ok, false);
  assert.match(vf.reason ?? '', /recursive proof verifies/);

  // A receipt of batch 1, through the CLI, offline.
  assert.equal(inc.batch.batchNo, 1);
  const file = join(dir.path, 'inc.json');
  writeFileSync(file, JSON.stringify(inc));
  const ok = cli('check', file, '--pallas-key', key, '--json');
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  assert.equal(JSON.parse(ok.stdout).valid, true);
  writeFileSync(file, JSON.stringify({ ...inc, price: String(BigInt(inc.price) * 2n + 1n) }));
  const cheaper = cli('check', file, '--pallas-key', key);
  assert.equal(cheaper.status, 1);
  assert.match(cheaper.stdout, /invalid: receipt leaf/);
  writeFileSync(file, JSON.stringify(inc));
  const otherKey = cli('check', file, '--pallas-key', o.PrivateKey.random().toPublicKey().toBase58());
  assert.equal(otherKey.status, 1);
  assert.match(otherKey.stdout, /invalid: rooted in the pinned gateway key/);

  // The dashboard: height and lag, and the proof verified by o1js in Chromium.
  if (skipBrowser) return;
  const chrome = await launchChromium();
  try {
    const page = await chrome.context.newPage();
    // The one-time login link `swarmlet up` prints: the page trades it for a session cookie.
    await page.goto(`${gw.url}/#login=${gw.access.loginCode(viewer.info.id)}`);
    await page.waitForFunction(() => document.querySelector('#l-height')?.textContent === '2', null, { timeout: MINUTES });
    assert.equal(await page.textContent('#l-lag'), '0 batches');
    assert.equal(await page.evaluate(() => crossOriginIsolated), true);
    await page.click('#ledger-verify');
    await page.waitForSelector('#ledger-verdict', { timeout: 5 * MINUTES });
    const verdict = (await page.textContent('#ledger-verdict')) ?? '';
    const steps = await page.$$eval('#ledger-check li', (els) => els.map((e) => `${e.className === 'fail' ? 'FAIL ' : ''}${e.textContent}`));
    assert.match(verdict, /verified in this browser/, steps.join('\n'));
    assert.equal(steps.filter((x) => x.startsWith('FAIL')).length, 0);
    if (process.env.SWARMLET_SCREENSHOT) await page.screenshot({ path: process.env.SWARMLET_SCREENSHOT, fullPage: true });
  } finally {
    await chrome.close();
  }
});
