/**
 * The gateway end to end on loopback with harness devices: a job comes back in input
 * order with the real outputs, through the fast path and through the auction; receipts
 * are stored, acked, billed and batched; the HTTP API answers its routes and refuses bad
 * requests with a 4xx and a reason.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../util/paths.js';
import { generateIdentity } from '../../protocol/identity.js';
import { open } from '../../protocol/envelope.js';
import { fromHex } from '../../protocol/hash.js';
import { startGateway, type GatewayHandle } from '../../gateway/index.js';
import { verifyInclusionProof } from '../../gateway/proof.js';
import { closeRuntime, devices, enrollmentFor, gatewayRuntime, startBroker, tempDir, waitFor, type Device } from './harness.js';
import { closeAll } from '../helpers/common.js';
import { authedFetch, operatorToken } from '../helpers/operator.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const inputs = (n: number, tag = 'in') => Array.from({ length: n }, (_, i) => new TextEncoder().encode(`${tag}-${i}-${'x'.repeat(i % 7)}`));

let broker: Awaited<ReturnType<typeof startBroker>>;
let dir: ReturnType<typeof tempDir>;
let gw: GatewayHandle;
let devs: Device[];
let api: typeof fetch; // as an admin operator
const gwId = generateIdentity();
const ids = [generateIdentity(), generateIdentity(), generateIdentity()];

before(async () => {
  broker = await startBroker();
  dir = tempDir();
  const enrollment = enrollmentFor(gwId, ids);
  gw = await startGateway({
    brokerUrl: broker.url, identity: gwId, enrollment, dataDir: dir.path, runtime: gatewayRuntime(true),
    spotCheck: 0, batch: { maxReceipts: 8, maxDelayMs: 50 }, bidWindowMs: 60, durability: 'normal',
  });
  api = authedFetch(operatorToken(gw, 'admin'));
  devs = await devices(broker.url, gwId.publicKey, ids.map((identity, i) => ({ identity, slots: 2, priceFloor: 1 + i })));
  await waitFor('nodes online', () => {
    const n = gw.store.listNodes();
    return n.length === 3 && n.every((x) => x.online === 1);
  });
});

after(async () => {
  await closeAll(devs, gw, broker);
  await closeRuntime();
  dir?.cleanup();
});

test('a job is split, run on the devices and gathered in input order', async () => {
  const ins = inputs(20);
  const { id } = await gw.submitJob({ task: 'sha256', inputs: ins });
  const view = await gw.waitForJob(id, 30_000);
  assert.equal(view.state, 'done');
  assert.equal(view.results!.length, 20);
  view.results!.forEach((r, i) => {
    assert.equal(r.index, i);
    assert.equal(r.outputHex, sha(ins[i]!), `output ${i}`);
    assert.equal(r.outputSha256, sha(Buffer.from(r.outputHex!, 'hex')));
    assert.ok(ids.some((x) => x.nodeId === r.nodeId));
    assert.match(r.receiptId!, /^[0-9a-f]{64}$/);
  });
  assert.equal(view.totals.done, 20);
  assert.equal(view.totals.receipts, 20, 'every task billed once');
  assert.ok(view.totals.fuel > 0 && view.totals.credits > 0);
  // every device got acks "stored" for what it sent
  await waitFor('acks', () => devs.reduce((s, d) => s + d.acks.filter((a) => a.status === 'stored').length, 0) === 20);
  // no offers needed: the fast path used the standing adverts
  assert.equal(devs.reduce((s, d) => s + d.offers.length, 0), 0);
});

test('the HTTP API serves jobs, nodes, ledger, batches, proofs and metrics', async () => {
  const ins = inputs(5, 'http');
  const post = await api(`${gw.url}/api/jobs`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ task: 'sha256', inputs: ins.map((b) => Buffer.from(b).toString('base64')), redundancy: 2 }),
  });
  assert.equal(post.status, 201);
  const { id } = (await post.json()) as { id: string };
  await gw.waitForJob(id, 30_000);
  const job = (await (await api(`${gw.url}/api/jobs/${id}`)).json()) as { state: string; redundancy: number; results: Array<{ outputHex: string; receiptId: string }>; totals: { receipts: number } };
  assert.equal(job.state, 'done');
  assert.equal(job.redundancy, 2);
  assert.deepEqual(job.results.map((r) => r.outputHex), ins.map(sha));
  assert.equal(job.totals.receipts, 10, 'redundancy 2: two billed receipts per task');

  const health = (await (await api(`${gw.url}/healthz`)).json()) as { ok: boolean; mqtt: boolean };
  assert.equal(health.ok, true);
  assert.equal(health.mqtt, true);
  const nodes = (await (await api(`${gw.url}/api/nodes`)).json()) as { nodes: Array<{ id: string; online: boolean; thermalState: string; slots: number; reputation: number }> };
  assert.equal(nodes.nodes.length, 3);
  for (const n of nodes.nodes) {
    assert.equal(n.online, true);
    assert.equal(n.thermalState, 'cool');
    assert.equal(n.slots, 2);
    assert.ok(n.reputation > 0, 'results the gateway re-executed and confirmed earned trust (a new node is checked on every result)');
  }
  const jobs = (await (await api(`${gw.url}/api/jobs`)).json()) as { jobs: Array<{ id: string }> };
  assert.ok(jobs.jobs.some((j) => j.id === id));
  const ledger = (await (await api(`${gw.url}/api/ledger`)).json()) as { nodes: Array<{ receipts: number }>; jobs: Array<{ jobId: string; receipts: number }> };
  assert.equal(ledger.jobs.find((j) => j.jobId === id)?.receipts, 10);
  assert.ok(ledger.nodes.reduce((s, n) => s + n.receipts, 0) >= 10);

  // proofs: once batched, each verifies offline
  gw.flushBatches();
  const proofRes = await api(`${gw.url}/api/receipts/${job.results[0]!.receiptId}/proof`);
  assert.equal(proofRes.status, 200);
  const proof = await proofRes.json();
  const v = verifyInclusionProof(proof, { gatewayPublicKey: gw.publicKey });
  assert.ok(v.ok, v.ok ? '' : v.reason);
  const batches = (await (await api(`${gw.url}/api/batches`)).json()) as { batches: Array<{ batchNo: number; header: string; count: number }> };
  assert.ok(batches.batches.length >= 1);
  // batch headers chain: each names the previous header's id
  const sorted = [...batches.batches].sort((a, b) => a.batchNo - b.batchNo);
  for (let i = 1; i < sorted.length; i++) {
    const prev = open(fromHex(sorted[i - 1]!.header), { kind: 'batch-header' });
    const cur = open(fromHex(sorted[i]!.header), { kind: 'batch-header', signer: gw.publicKey });
    assert.deepEqual(cur.message.prevBatchHash, prev.id);
  }

  const metrics = await (await api(`${gw.url}/metrics`)).text();
  assert.match(metrics, /swarmlet_receipts_total\{status="stored"\} \d+/);
  assert.match(metrics, /swarmlet_jobs_total\{event="done"\}/);
  // Batching is visible: messages never outnumber what they carry.
  const num = (name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(metrics)?.[1] ?? NaN);
  assert.ok(num('swarmlet_assign_messages_total') >= 1 && num('swarmlet_assign_messages_total') <= num('swarmlet_assigned_tasks_total'));
  assert.ok(num('swarmlet_assigned_tasks_total') >= 10);
  assert.ok(num('swarmlet_result_messages_total') >= 1);
});

test('bad requests get a 4xx with a reason', async () => {
  const postJob = (body: string) => api(`${gw.url}/api/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const cases: Array<[Promise<Response>, number, RegExp]> = [
    [postJob('{not json'), 400, /json/i],
    [postJob(JSON.stringify({ inputs: ['AA=='] })), 400, /task/],
    [postJob(JSON.stringify({ task: 'sha256', inputs: [] })), 400, /inputs/],
    [postJob(JSON.stringify({ task: 'sha256', inputs: ['not base64!'] })), 400, /base64/],
    [postJob(JSON.stringify({ task: 'no-such-task', inputs: ['AA=='] })), 400, /unknown task/],
    [postJob(JSON.stringify({ task: 'sha256', inputs: ['AA=='], redundancy: 0 })), 400, /redundancy/],
    [postJob(JSON.stringify({ task: 'sha256', inputs: ['AA=='], region: 'elsewhere' })), 400, /region/],
    [postJob(JSON.stringify({ task: 'sha256', inputs: ['AA=='], extra: 1 })), 400, /extra|unrecognized/i],
    [api(`${gw.url}/api/jobs/nope`), 404, /no job/],
    [api(`${gw.url}/api/jobs/bad id!`), 400, /job id/],
    [api(`${gw.url}/api/receipts/xyz/proof`), 400, /64/],
    [api(`${gw.url}/api/receipts/${'0'.repeat(64)}/proof`), 404, /no receipt/],
    [api(`${gw.url}/api/nodes/zz/revoke`, { method: 'POST' }), 400, /node id/],
    [api(`${gw.url}/api/nodes/${'0'.repeat(32)}/revoke`, { method: 'POST' }), 404, /not enrolled/],
    [api(`${gw.url}/api/jobs?limit=0`), 400, /limit/],
    [api(`${gw.url}/nowhere`), 404, /no route/],
    [api(`${gw.url}/dashboard/../../package.json`), 404, /.*/],
  ];
  for (const [p, code, re] of cases) {
    const r = await p;
    const body = (await r.json()) as { error: string };
    assert.equal(r.status, code, `${r.url}: ${body.error}`);
    assert.match(body.error, re);
  }
  // an oversized body is refused, and the server keeps serving
  const big = await api(`${gw.url}/api/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(70 * 1024 * 1024) }).catch(() => null);
  if (big) assert.equal(big.status, 413);
  assert.equal((await api(`${gw.url}/healthz`)).status, 200);
});

test('the dashboard is served from gateway/dashboard/public (404 with a reason when absent)', async () => {
  const index = join(projectRoot(), 'gateway', 'dashboard', 'public', 'index.html');
  const r = await api(`${gw.url}/`);
  if (existsSync(index)) {
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /text\/html/);
    assert.equal(await r.text(), readFileSync(index, 'utf8'));
  } else {
    assert.equal(r.status, 404);
    assert.match(((await r.json()) as { error: string }).error, /dashboard not installed/);
  }
  assert.equal((await api(`${gw.url}/dashboard/no-such-file.js`)).status, 404);
});

test('hot nodes get no new work', async () => {
  // hot nodes get no new work: make device 0 hot
  devs[0]!.advertise({ state: 'hot', headroom: 0 });
  await waitFor('hot advert', () => gw.store.getNode(devs[0]!.nodeId)?.state === 'hot');
  const before = devs[0]!.assignments.length;
  const ins = inputs(4, 'auction');
  const { id } = await gw.submitJob({ task: 'sha256', inputs: ins });
  const view = await gw.waitForJob(id, 30_000);
  assert.deepEqual(view.results!.map((r) => r.outputHex), ins.map(sha));
  assert.equal(devs[0]!.assignments.length, before, 'the hot node got nothing');
  devs[0]!.advertise({ state: 'cool' });
});
