/**
 * The gateway's ledger prover around the circuit, with a real gateway, broker, devices and
 * prover process, the circuit run with proofs disabled (dummy proofs; the real proof is
 * ledger-proof-real.test.ts): every sealed batch is folded in order and the API reports
 * height, lag and the proven totals (equal to the billed ledger, exactly); a receipt's
 * ledger inclusion checks out; a restart resumes at the proven height under the same
 * Pallas key; without o1js the gateway runs on with proofs disabled and says so.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { generateIdentity } from '../../protocol/identity.js';
import { priceToMicro, type LedgerInclusion, type LedgerStatus } from '../../protocol/ledger-proof.js';
import { startGateway, type GatewayHandle, type GatewayOptions } from '../../gateway/index.js';
import { loadO1js } from '../../gateway/prover/o1js.js';
import { checkLedgerInclusion } from '../../gateway/prover/check.js';
import { closeRuntime, devices, enrollmentFor, gatewayRuntime, startBroker, tempDir, waitFor, type Device } from './harness.js';
import { closeAll } from '../helpers/common.js';
import { authedFetch, operatorToken } from '../helpers/operator.js';

const inputs = (n: number, tag: string) => Array.from({ length: n }, (_, i) => new TextEncoder().encode(`${tag}-${i}`));
const gwId = generateIdentity();
const ids = [generateIdentity(), generateIdentity()];
const enrollment = enrollmentFor(gwId, ids);
let broker: Awaited<ReturnType<typeof startBroker>>;
let devs: Device[] = [];
const dir = tempDir('swarmlet-prover-');

const start = (dataDir: string, extra: Partial<GatewayOptions> = {}) => startGateway({
  brokerUrl: broker.url, identity: gwId, enrollment, dataDir, runtime: gatewayRuntime(false), spotCheck: 0,
  batch: { maxReceipts: 8, maxDelayMs: 50 }, bidWindowMs: 60, durability: 'normal',
  proofs: { enabled: true, proofsEnabled: false, cacheDir: join(dir.path, 'zk-cache'), retryMs: 200 }, ...extra,
});
/** GET as a viewer (the ledger routes need that role). */
const get = (gw: GatewayHandle, path: string) => authedFetch(operatorToken(gw, 'viewer'))(`${gw.url}${path}`);
const status = async (gw: GatewayHandle): Promise<LedgerStatus> => (await get(gw, '/api/proofs/latest')).json() as Promise<LedgerStatus>;
const caughtUp = (gw: GatewayHandle, what: string) => waitFor(what, () => {
  const s = gw.prover.status();
  return s.enabled && s.latest && s.sealed > 0 && s.height === s.sealed && s.lag === 0 ? s : null;
}, 240_000, 200);

before(async () => {
  broker = await startBroker();
  devs = await devices(broker.url, gwId.publicKey, ids.map((identity, i) => ({ identity, slots: 2, priceFloor: 1.25 + i })));
});
after(async () => {
  await closeAll(devs, broker);
  await closeRuntime();
  dir.cleanup();
});

test('every sealed batch is folded; proven totals equal the billed ledger; inclusion checks out; a restart resumes', async () => {
  const data = join(dir.path, 'gw');
  let gw = await start(data);
  try {
    const { id } = await gw.submitJob({ task: 'sha256', inputs: inputs(12, 'a') });
    const job = await gw.waitForJob(id, 60_000);
    gw.flushBatches();
    await caughtUp(gw, 'proof caught up');
    let s = await status(gw);
    assert.ok(s.enabled && s.latest);
    assert.ok(s.sealed >= 2, `12 receipts in batches of 8: ${s.sealed} batches`);
    assert.match(s.gatewayKey ?? '', /^B62/);
    assert.equal(s.latest.state.gatewayKey, s.gatewayKey);
    assert.equal(statSync(join(data, 'gateway-pallas.key')).mode & 0o777, 0o600);
    const rows = gw.store.db.prepare('SELECT r.fuel, l.price FROM receipts r LEFT JOIN ledger l ON l.receipt_id = r.id WHERE r.status = \'accepted\'').all() as Array<{ fuel: number; price: number | null }>;
    assert.equal(s.latest.state.receipts, String(rows.length));
    assert.equal(s.latest.state.fuel, String(rows.reduce((a, r) => a + BigInt(r.fuel), 0n)));
    assert.equal(s.latest.state.credits, String(rows.reduce((a, r) => a + BigInt(r.fuel) * priceToMicro(r.price ?? 0), 0n)));
    const health = await (await fetch(`${gw.url}/healthz`)).json() as { proofs: { enabled: boolean; height: number } };
    assert.deepEqual([health.proofs.enabled, health.proofs.height], [true, s.height]);

    // A receipt's inclusion: everything up to the (dummy) proof checks.
    const rid = job.results![7]!.receiptId!;
    const res = await get(gw, `/api/receipts/${rid}/ledger-proof`);
    assert.equal(res.status, 200);
    const inc = await res.json() as LedgerInclusion;
    const v = await checkLedgerInclusion(await loadO1js(), inc);
    const fail = v.steps.find((x) => !x.ok);
    assert.equal(fail?.step, 'made for the committed circuit', JSON.stringify(v.steps));
    assert.ok(v.steps.some((x) => x.ok && /batches tree/.test(x.step)));
    assert.equal((await get(gw, '/api/receipts/xyz/ledger-proof')).status, 400);
    assert.equal((await get(gw, `/api/receipts/${'0'.repeat(64)}/ledger-proof`)).status, 404);
    // Viewer routes: nothing without a token.
    assert.equal((await fetch(`${gw.url}/api/proofs/latest`)).status, 401);
    assert.equal((await fetch(`${gw.url}/api/receipts/${rid}/ledger-proof`)).status, 401);

    // Restart: same key, no new genesis, the height goes on from where it was.
    const before = s;
    await gw.stop();
    gw = await start(data);
    const again = await waitFor('prover ready again', () => { const x = gw.prover.status(); return x.enabled && x.latest ? x : null; }, 240_000, 200);
    assert.ok(again.enabled && again.latest);
    assert.equal(again.gatewayKey, before.gatewayKey);
    assert.equal(again.height, before.height);
    assert.equal(again.latest.provedAt, before.latest!.provedAt);
    const { id: id2 } = await gw.submitJob({ task: 'sha256', inputs: inputs(5, 'b') });
    await gw.waitForJob(id2, 60_000);
    gw.flushBatches();
    s = await waitFor('next batch folded', () => { const x = gw.prover.status(); return x.enabled && x.height > before.height && x.lag === 0 ? x : null; }, 240_000, 200);
    assert.ok(s.enabled && s.latest);
    assert.equal(s.latest.state.receipts, String(Number(before.latest!.state.receipts) + 5));
  } finally {
    await gw.stop();
  }
});

test('without o1js (or with proofs off) the gateway runs on and the API says why', async () => {
  // Off by default when embedded (the CLI turns proofs on).
  const off = await start(join(dir.path, 'off'), { proofs: undefined });
  try {
    const o = await status(off);
    assert.equal(o.enabled, false);
    assert.match((o as { reason: string }).reason, /off/);
  } finally {
    await off.stop();
  }
  // The devices' receipt chains live in the first test's store: keep it (proofs now unavailable).
  const gw = await start(join(dir.path, 'gw'), { proofs: { enabled: true, unavailable: () => 'o1js is not installed (an optional dependency): ledger proofs are disabled' } });
  try {
    const { id } = await gw.submitJob({ task: 'sha256', inputs: inputs(3, 'c') });
    assert.equal((await gw.waitForJob(id, 60_000)).state, 'done');
    gw.flushBatches();
    await waitFor('batch sealed', () => gw.store.lastBatch());
    const s = await status(gw);
    assert.deepEqual(s, { enabled: false, reason: 'o1js is not installed (an optional dependency): ledger proofs are disabled' });
    const job = gw.getJob(id)!;
    const r = await get(gw, `/api/receipts/${job.results![0]!.receiptId}/ledger-proof`);
    assert.equal(r.status, 503);
    assert.match((await r.json() as { error: string }).error, /not installed/);
  } finally {
    await gw.stop();
  }
});
