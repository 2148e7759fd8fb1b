/**
 * Placement over a real broker: the auction picks the best bid; an expired lease and a
 * node's last will both put the task back on offer (to another node); a task never goes
 * to more devices than its redundancy asks.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { authedFetch, operatorToken } from '../helpers/operator.js';
import { createHash } from 'node:crypto';
import type { GatewayHandle } from '../../gateway/index.js';
import { closeRuntime, smallMesh, waitFor } from './harness.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const enc = (s: string) => new TextEncoder().encode(s);

after(closeRuntime);


function attemptStates(gw: GatewayHandle, jobId: string): string[] {
  return gw.store.jobAttempts(jobId).map((a) => `${a.node_id.slice(0, 6)}:${a.state}`);
}

test('auction: every device sees the offer, the best bid wins, the result comes back', async () => {
  // a generous bid window: on a loaded machine every bid must be in before it closes
  const m = await smallMesh([{ priceFloor: 9 }, { priceFloor: 1 }, { priceFloor: 5 }, { priceFloor: 0.5, state: 'hot' }], { fastPath: false, bidWindowMs: 1500 });
  try {
    const { id } = await m.gw.submitJob({ task: 'sha256', inputs: [enc('auction')] });
    const v = await m.gw.waitForJob(id, 20_000);
    assert.equal(v.state, 'done');
    assert.equal(v.results![0]!.outputHex, sha(enc('auction')));
    for (const d of m.ds) assert.equal(d.offers.length, 1, 'each device saw the offer');
    assert.equal(v.results![0]!.nodeId, m.ds[1]!.nodeId, 'the cheapest cool bidder won');
    assert.equal(m.ds[3]!.assignments.length, 0, 'the hot device got nothing');
    const att = m.gw.store.jobAttempts(id);
    assert.equal(att.length, 1);
    assert.equal(att[0]!.price, 1, 'billed at the winning bid');
  } finally { await m.close(); }
});

test('an expired lease puts the task back on offer and another node finishes it', async () => {
  const m = await smallMesh([{ priceFloor: 1, behavior: 'silent' }, { priceFloor: 5 }], { fastPath: false, leaseMs: 400, bidWindowMs: 1000 });
  try {
    const { id } = await m.gw.submitJob({ task: 'sha256', inputs: [enc('lease')] });
    const v = await m.gw.waitForJob(id, 20_000);
    assert.equal(v.results![0]!.outputHex, sha(enc('lease')));
    assert.equal(v.results![0]!.nodeId, m.ds[1]!.nodeId);
    assert.equal(m.ds[0]!.assignments.length, 1, 'the silent node was asked once and never again');
    const states = m.gw.store.jobAttempts(id).map((a) => [a.node_id, a.state]);
    assert.deepEqual(states, [[m.ds[0]!.nodeId, 'expired'], [m.ds[1]!.nodeId, 'reported']]);
    assert.ok(m.ds[1]!.offers.length >= 2, 'the task was offered again');
  } finally { await m.close(); }
});

test('a node whose last will says it is gone loses its lease at once (long before expiry)', async () => {
  const m = await smallMesh([{ priceFloor: 1, behavior: 'silent' }, { priceFloor: 5 }], { fastPath: false, leaseMs: 120_000, bidWindowMs: 1000 });
  try {
    const { id } = await m.gw.submitJob({ task: 'sha256', inputs: [enc('will')] });
    await waitFor('silent node assigned', () => m.ds[0]!.assignments.length === 1);
    const t0 = Date.now();
    m.ds[0]!.crash();
    const v = await m.gw.waitForJob(id, 20_000);
    assert.ok(Date.now() - t0 < 120_000);
    assert.equal(v.results![0]!.nodeId, m.ds[1]!.nodeId);
    assert.equal(v.results![0]!.outputHex, sha(enc('will')));
    assert.deepEqual(attemptStates(m.gw, id), [`${m.ds[0]!.nodeId.slice(0, 6)}:lost`, `${m.ds[1]!.nodeId.slice(0, 6)}:reported`]);
    const nodes = (await (await authedFetch(operatorToken(m.gw, 'viewer'))(`${m.gw.url}/api/nodes`)).json()) as { nodes: Array<{ id: string; online: boolean }> };
    assert.equal(nodes.nodes.find((n) => n.id === m.ds[0]!.nodeId)?.online, false);
  } finally { await m.close(); }
});

test('redundancy: each task runs on exactly as many devices as asked, outputs agree', async () => {
  const m = await smallMesh([{ slots: 4 }, { slots: 4 }, { slots: 4 }, { slots: 4 }], { fastPath: true });
  try {
    const ins = Array.from({ length: 12 }, (_, i) => enc(`r-${i}`));
    const { id } = await m.gw.submitJob({ task: 'sha256', inputs: ins, redundancy: 3 });
    const v = await m.gw.waitForJob(id, 30_000);
    assert.deepEqual(v.results!.map((r) => r.outputHex), ins.map(sha));
    const per = new Map<string, Set<string>>();
    for (const d of m.ds) for (const a of d.assignments) {
      const s = per.get(a.taskId) ?? new Set();
      assert.ok(!s.has(d.nodeId), 'never twice to one device');
      s.add(d.nodeId);
      per.set(a.taskId, s);
    }
    assert.equal(per.size, 12);
    for (const [t, s] of per) assert.equal(s.size, 3, `task ${t}`);
    assert.equal(v.totals.receipts, 36);
  } finally { await m.close(); }
});

test('revoking a node over HTTP returns its leases to the queue and refuses its receipts', async () => {
  const m = await smallMesh([{ priceFloor: 1, behavior: 'silent' }, { priceFloor: 5 }], { fastPath: false, leaseMs: 120_000, bidWindowMs: 1000 });
  try {
    const { id } = await m.gw.submitJob({ task: 'sha256', inputs: [enc('revoke')] });
    await waitFor('silent node assigned', () => m.ds[0]!.assignments.length === 1);
    const r = await authedFetch(operatorToken(m.gw, 'admin'))(`${m.gw.url}/api/nodes/${m.ds[0]!.nodeId}/revoke`, { method: 'POST' });
    assert.equal(r.status, 200);
    const v = await m.gw.waitForJob(id, 20_000);
    assert.equal(v.results![0]!.nodeId, m.ds[1]!.nodeId);
    // the revoked node's late result is refused (not enrolled)
    const a = m.ds[0]!.assignments[0]!;
    m.ds[0]!.publishResult(m.ds[0]!.makeResult(a, createHash('sha256').update(a.input).digest()));
    await waitFor('rejected ack', () => m.ds[0]!.acks.find((x) => x.status === 'rejected'));
    assert.match(m.ds[0]!.acks[0]!.reason!, /not enrolled/);
  } finally { await m.close(); }
});

test('a job past its deadline fails what is left, with a reason', async () => {
  const m = await smallMesh([{ behavior: 'silent' }], { fastPath: true, leaseMs: 60_000 });
  try {
    const { id } = await m.gw.submitJob({ task: 'sha256', inputs: [enc('d1'), enc('d2'), enc('d3')], deadlineMs: 300 });
    const v = await m.gw.waitForJob(id, 20_000);
    assert.equal(v.state, 'failed');
    assert.match(v.error!, /deadline passed/);
    assert.equal(v.totals.failed, 3);
    assert.ok(v.results!.every((r) => !r.ok && /deadline/.test(r.error!)));
    assert.ok(m.gw.store.jobAttempts(id).every((a) => a.state === 'cancelled'), 'its leases were withdrawn');
  } finally { await m.close(); }
});
