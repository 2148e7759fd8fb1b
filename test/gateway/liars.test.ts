/**
 * Enrolled devices that lie, through a real broker and a real gateway (issue 10): fuel
 * claims past any limit (the old crash loop), inflated fuel within the limit, receipts for
 * tasks never assigned to the sender, a device that claims 1,024 slots and never answers,
 * and a poison row already in the store. Each is refused or caught; the gateway stays
 * healthy and the ledger exact: every task billed once, at the fuel our own runtime measures.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { generateIdentity } from '../../protocol/identity.js';
import { sha256, toHex } from '../../protocol/hash.js';
import { startGateway, type GatewayOptions } from '../../gateway/index.js';
import { Store } from '../../gateway/store.js';
import { authedFetch, operatorToken } from '../helpers/operator.js';
import { closeRuntime, devices, enrollmentFor, gatewayRuntime, runtime, startBroker, tempDir, waitFor, type DeviceOptions } from './harness.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const enc = (s: string) => new TextEncoder().encode(s);

after(closeRuntime);

async function mesh(devs: DeviceOptions[], o: Partial<GatewayOptions> = {}, dataDir?: string) {
  const broker = await startBroker();
  const dir = tempDir();
  const gwId = generateIdentity();
  const ids = devs.map(() => generateIdentity());
  const gw = await startGateway({
    brokerUrl: broker.url, identity: gwId, enrollment: enrollmentFor(gwId, ids), dataDir: dataDir ?? dir.path,
    runtime: gatewayRuntime(true), bidWindowMs: 80, durability: 'normal', batch: { maxDelayMs: 50 }, ...o,
  });
  const ds = await devices(broker.url, gwId.publicKey, devs.map((d, i) => ({ ...d, identity: ids[i]! })));
  await waitFor('adverts', () => gw.store.listNodes().filter((n) => n.online === 1).length === devs.length);
  const fetch = authedFetch(operatorToken(gw, 'viewer'));
  return {
    gw, ds, fetch,
    health: async () => (await (await fetch(`${gw.url}/healthz`)).json()) as { ok: boolean; mqtt: boolean },
    async close() {
      for (const d of ds) await d.stop().catch(() => {});
      await gw.stop();
      await broker.close();
      dir.cleanup();
    },
  };
}

/** What our own runtime measures for sha256 of `input`: the only fuel figure that may be billed. */
async function realFuel(input: Uint8Array): Promise<number> {
  const { catalogue, runner } = runtime();
  const out = await runner.run(catalogue.byName('sha256')!.wasm, input);
  assert.ok(out.ok);
  return out.fuel;
}

/** Every billed ledger row of a job: one per task, not voided, at the fuel our runtime measures. */
async function assertBilledExactlyOnce(store: Store, jobId: string, ins: Uint8Array[]): Promise<void> {
  const rows = store.ledgerRows(jobId).filter((r) => r.voided === 0);
  const perTask = new Map<string, number>();
  for (const r of rows) perTask.set(r.task_id, (perTask.get(r.task_id) ?? 0) + 1);
  assert.equal(perTask.size, ins.length, 'every task billed');
  assert.ok([...perTask.values()].every((n) => n === 1), 'no task billed twice');
  const tasks = store.jobTasks(jobId);
  for (const r of rows) {
    const t = tasks.find((x) => x.id === r.task_id)!;
    assert.equal(r.receipt_id, t.receipt_id, 'the bill is for the result the job delivered');
    assert.equal(r.fuel, await realFuel(ins[t.idx]!), `task ${t.idx}: billed fuel is what the task really costs`);
  }
}

test('fuel past any limit is refused without stopping anything (the old crash loop); inflated fuel within the limit is caught by re-execution', async () => {
  const m = await mesh([
    { slots: 2 },
    { slots: 2, fuelClaim: () => 5e15 }, // past the protocol's bound: the batch total once overflowed
    { slots: 2, fuelClaim: () => 900_000 }, // past this job's limit
    { slots: 2, fuelClaim: (f) => f * 20 }, // within the limit, twenty times too much
  ], { spotCheck: 0 });
  try {
    const ins = Array.from({ length: 40 }, (_, i) => enc(`fuel-${i}`));
    const { id } = await m.gw.submitJob({ task: 'sha256', inputs: ins, fuelLimit: 800_000 });
    const v = await m.gw.waitForJob(id, 60_000);
    assert.equal(v.state, 'done');
    assert.deepEqual(v.results!.map((r) => r.outputHex), ins.map(sha), 'every output right');
    const [honest, huge, over, inflated] = m.ds;
    // Over the protocol bound: not even a valid receipt (no ack names it). Over the job's
    // limit: refused with the reason. Neither is ever billed.
    assert.ok(huge!.assignments.length > 0 && over!.assignments.length > 0, 'every liar was given work');
    assert.equal(huge!.acks.filter((a) => a.status === 'stored').length, 0);
    await waitFor('acks for the over-limit claims', () => over!.acks.length > 0);
    assert.ok(over!.acks.every((a) => a.status === 'rejected' && /exceeds the task's fuel limit 800000/.test(a.reason!)), JSON.stringify(over!.acks[0]));
    // The inflater is caught: its claims disagree with the gateway's own re-execution.
    await waitFor('inflater quarantined', () => m.gw.store.getNode(inflated!.nodeId)?.quarantined === 1, 30_000);
    for (const d of [huge!, over!, inflated!]) {
      assert.equal(m.gw.store.ledgerRows(id).filter((r) => r.node_id === d.nodeId && r.voided === 0).length, 0, 'a liar is never paid');
    }
    assert.ok(honest!.assignments.length > 0);
    await assertBilledExactlyOnce(m.gw.store, id, ins);
    // Batches seal with exact totals: every accepted receipt in one, totals summing its receipts.
    m.gw.flushBatches();
    const batches = m.gw.store.listBatches(100);
    assert.ok(batches.length >= 1);
    for (const b of batches) {
      const ids = m.gw.store.batchReceiptIds(b.batch_no);
      const sum = ids.reduce((s, rid) => s + m.gw.store.getReceipt(rid)!.fuel, 0);
      assert.equal(b.fuel_total, sum);
      assert.ok(Number.isSafeInteger(b.fuel_total));
    }
    const h = await m.health();
    assert.equal(h.ok, true);
    assert.equal(h.mqtt, true);
    // and the gateway still takes work
    const { id: id2 } = await m.gw.submitJob({ task: 'sha256', inputs: [enc('after')] });
    assert.equal((await m.gw.waitForJob(id2, 30_000)).state, 'done');
  } finally { await m.close(); }
});

test('receipts for tasks never assigned to the sender are rejected: not stored as accepted, not batched, no proof, not billed', async () => {
  // The thief advertises hot, so only the worker is given tasks.
  const m = await mesh([{ slots: 2, holdMs: 200 }, { slots: 2, behavior: 'silent', state: 'hot' }], { spotCheck: 0 });
  try {
    const ins = Array.from({ length: 6 }, (_, i) => enc(`theft-${i}`));
    const [worker, thief] = m.ds;
    const { id } = await m.gw.submitJob({ task: 'sha256', inputs: ins });
    await waitFor('assignments', () => worker!.assignments.length >= 1);
    // The thief signs (correct!) results for the worker's tasks and sends them first.
    const stolen = [...worker!.assignments];
    for (const a of stolen) thief!.publishResult(thief!.makeResult(a, sha256(a.input)));
    await waitFor('acks to the thief', () => thief!.acks.length >= stolen.length, 20_000);
    assert.ok(thief!.acks.every((a) => a.status === 'rejected' && /never assigned to this node/.test(a.reason!)));
    const v = await m.gw.waitForJob(id, 30_000);
    assert.deepEqual(v.results!.map((r) => r.nodeId), ins.map(() => worker!.nodeId));
    m.gw.flushBatches();
    for (const rid of thief!.receiptIds) {
      assert.equal(m.gw.store.getReceipt(rid)?.status, 'rejected');
      assert.equal(m.gw.store.getReceipt(rid)?.batch_no, null);
      const res = await m.fetch(`${m.gw.url}/api/receipts/${rid}/proof`);
      assert.equal(res.status, 409, 'no inclusion proof for a refused receipt');
    }
    assert.equal(m.gw.store.ledgerRows(id).filter((r) => r.node_id === thief!.nodeId).length, 0);
    await assertBilledExactlyOnce(m.gw.store, id, ins);
  } finally { await m.close(); }
});

test('a device claiming 1,024 slots that never answers holds only what it has earned, stalls nothing, loses standing and is benched', async () => {
  const leaseMs = 3000;
  const m = await mesh([{ slots: 1024, behavior: 'silent', bid: false }, { slots: 2 }, { slots: 2 }, { slots: 2 }], { spotCheck: 0, leaseMs });
  try {
    const [hoarder] = m.ds;
    const ins = Array.from({ length: 500 }, (_, i) => enc(`hoard-${i}`));
    const { id } = await m.gw.submitJob({ task: 'sha256', inputs: ins });
    const v = await m.gw.waitForJob(id, 60_000);
    assert.equal(v.state, 'done');
    assert.deepEqual(v.results!.map((r) => r.outputHex), ins.map(sha));
    // A claim alone buys one slot (x the fast path's depth 3): it held 3 of 500, not 495.
    assert.ok(hoarder!.assignments.length <= 3, `the hoarder took ${hoarder!.assignments.length} tasks`);
    assert.ok(v.results!.every((r) => r.nodeId !== hoarder!.nodeId));
    await assertBilledExactlyOnce(m.gw.store, id, ins);
    // Its leases expire: each costs it standing and capacity; three in a row bench it. Thermal
    // placement (the default) gives an unproven node one task at a time, so its expiries come one
    // lease after another: while it is not yet benched, keep work coming (a few small jobs at most).
    type NodeRow = { id: string; reputation: number; grantedSlots: number; benchedUntil: number | null; slots: number };
    const hoarderRow = async () => ((await (await m.fetch(`${m.gw.url}/api/nodes`)).json()) as { nodes: NodeRow[] }).nodes.find((n) => n.id === hoarder!.nodeId)!;
    const expiredAll = (job: string) => m.gw.store.jobAttempts(job).filter((a) => a.node_id === hoarder!.nodeId && a.state !== 'expired').length === 0;
    await waitFor('hoarder leases expired', () => expiredAll(id), 20_000);
    for (let round = 0; round < 4 && (await hoarderRow()).benchedUntil === null; round++) {
      const more = await m.gw.submitJob({ task: 'sha256', inputs: Array.from({ length: 200 }, (_, i) => enc(`more-${round}-${i}`)) });
      assert.equal((await m.gw.waitForJob(more.id, 60_000)).state, 'done', 'a silent node stalls nothing');
      await waitFor('hoarder leases expired', () => expiredAll(more.id), 20_000);
    }
    const h = await hoarderRow();
    assert.equal(h.slots, 1024, 'what it claims');
    assert.ok(h.reputation < 0.5, `reputation ${h.reputation}`);
    assert.equal(h.grantedSlots, 0, 'benched: granted nothing');
    assert.ok(h.benchedUntil !== null && h.benchedUntil > Date.now());
    const before = hoarder!.assignments.length;
    const { id: id2 } = await m.gw.submitJob({ task: 'sha256', inputs: ins.slice(0, 100) });
    assert.equal((await m.gw.waitForJob(id2, 60_000)).state, 'done');
    assert.equal(hoarder!.assignments.length, before, 'a benched node gets no new work');
    assert.equal((await m.health()).ok, true);
  } finally { await m.close(); }
});

test('a poison row in the store (fuel past any bound, from an older gateway) never stops start-up or batching', async () => {
  const dir = tempDir();
  try {
    // An older gateway accepted a receipt with an absurd fuel figure and died before batching it.
    const old = new Store(dir.path);
    old.db.prepare(`INSERT INTO receipts (id, node_id, seq, task_id, job_id, envelope, fuel, status, reason, accepted_at)
      VALUES (?, ?, 1, 'j0.0', 'j0', x'00', ?, 'accepted', NULL, 1)`).run(toHex(sha256(enc('poison'))), 'a'.repeat(32), 5e15);
    old.db.prepare(`INSERT INTO ledger (receipt_id, job_id, task_id, node_id, fuel, price, credits, at) VALUES (?, 'j0', 'j0.0', ?, ?, 1, 5e9, 1)`)
      .run(toHex(sha256(enc('poison'))), 'a'.repeat(32), 5e15);
    await old.closeAsync();
    const m = await mesh([{ slots: 2 }], { spotCheck: 0 }, dir.path);
    try {
      await waitFor('poison set aside', () => m.gw.store.getReceipt(toHex(sha256(enc('poison'))))?.status === 'rejected', 10_000);
      assert.match(m.gw.store.getReceipt(toHex(sha256(enc('poison'))))!.reason!, /fuel out of range/);
      assert.equal(m.gw.store.ledgerRows('j0')[0]!.voided, 1, 'and unbilled');
      const ins = [enc('p1'), enc('p2')];
      const { id } = await m.gw.submitJob({ task: 'sha256', inputs: ins });
      assert.equal((await m.gw.waitForJob(id, 30_000)).state, 'done');
      m.gw.flushBatches();
      assert.ok(m.gw.store.listBatches(10).length >= 1, 'batching goes on');
      assert.equal((await m.health()).ok, true);
      const ledger = (await (await m.fetch(`${m.gw.url}/api/ledger`)).json()) as { nodes: unknown[] };
      assert.ok(Array.isArray(ledger.nodes), 'the ledger still answers');
    } finally { await m.close(); }
  } finally { dir.cleanup(); }
});
