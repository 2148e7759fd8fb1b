/**
 * Result checking that delivers no wrong output (issue 11), through a real broker and
 * gateway: trust is earned from verified results only (a new device is checked on every
 * result, then on half, then at the job's floor); a device that earned trust and then lies
 * gets wrong outputs into a FINISHED job; once it is caught, that job is revised: its
 * unverified results are voided (credits reversed), re-run elsewhere, and the job shows
 * which indexes changed. A 'verified' job never releases an unchecked result; a readmitted
 * device starts its record again.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { authedFetch, operatorToken } from '../helpers/operator.js';
import { closeRuntime, Device, earnTrust, revisionMesh, waitFor } from './harness.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const enc = (s: string) => new TextEncoder().encode(s);

after(closeRuntime);

test('a trusted device caught lying later: the finished job it lied in is revised, its credits reversed, every output right', async () => {
  const { broker, gw, gwId, aId, bId, devs, close } = await revisionMesh();
  const fetch = authedFetch(operatorToken(gw, 'admin'));
  try {
    // 1. Device A alone earns trust: every result checked at first, then half of them.
    const a = await Device.start(broker.url, gwId.publicKey, { identity: aId, slots: 2 });
    devs.push(a);
    await waitFor('A online', () => gw.store.getNode(a.nodeId)?.online === 1);
    await earnTrust(gw, a.nodeId); // trust is earned within a few hundred results
    const checksBefore = Number(/swarmlet_reexecutions_total (\d+)/.exec(await (await fetch(`${gw.url}/metrics`)).text())?.[1]);
    // 2. Trusted now, it lies on every task but the first of the next job (the first result
    //    of a job is re-executed to calibrate its fuel).
    let sent = 0;
    a.cheatIf = () => sent++ > 0;
    const ins = Array.from({ length: 12 }, (_, i) => enc(`lie-${i}`));
    const { id: victim } = await gw.submitJob({ task: 'sha256', inputs: ins });
    const before = await gw.waitForJob(victim, 60_000);
    assert.equal(before.state, 'done');
    const wrong = before.results!.filter((r, i) => r.outputHex !== sha(ins[i]!)).map((r) => r.index);
    assert.ok(wrong.length >= 10, `the lie went through unchecked (${wrong.length} wrong)`);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    const checks = Number(/swarmlet_reexecutions_total (\d+)/.exec(metrics)?.[1]) - checksBefore;
    assert.ok(checks <= 2, `a trusted device is barely checked (${checks} checks, good=${gw.store.getNode(a.nodeId)!.good})`);
    const aBilledBefore = gw.store.ledgerRows(victim).filter((r) => r.node_id === a.nodeId && r.voided === 0).length;
    assert.equal(aBilledBefore, 12);
    // 3. B joins; a 'verified' job checks every result: A is caught, the finished job is revised.
    const b = await Device.start(broker.url, gwId.publicKey, { identity: bId, slots: 2 });
    devs.push(b);
    await waitFor('B online', () => gw.store.getNode(b.nodeId)?.online === 1);
    const post = await fetch(`${gw.url}/api/jobs`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ task: 'sha256', inputs: Array.from({ length: 16 }, (_, i) => Buffer.from(`catch-${i}`).toString('base64')), delivery: 'verified' }),
    });
    assert.equal(post.status, 201);
    const created = (await post.json()) as { id: string; delivery: string; cost: string };
    assert.equal(created.delivery, 'verified');
    assert.match(created.cost, /every task is re-executed/);
    const catcher = await gw.waitForJob(created.id, 60_000);
    assert.ok(catcher.results!.every((r) => r.verified), 'a verified job releases only checked results');
    await waitFor('A quarantined', () => gw.store.getNode(a.nodeId)?.quarantined === 1, 30_000);
    // The victim job was finished; it is revised and comes back done with every output right.
    const revised = await waitFor('victim revised', () => {
      const v = gw.getJob(victim);
      return v && v.state === 'done' && v.revisions.length > 0 && v.revisions.every((r) => r.state === 'done') ? v : null;
    }, 60_000);
    assert.equal(revised.revised, true);
    assert.deepEqual(revised.results!.map((r) => r.outputHex), ins.map(sha), 'every output right after the revision');
    const rev = revised.revisions[0]!;
    assert.equal(rev.nodeId, a.nodeId);
    assert.deepEqual([...rev.changed!].sort((x, y) => x - y), wrong, 'the revision names exactly the indexes that were wrong');
    assert.ok(rev.indexes.length >= wrong.length);
    // Ledger: A's credits for the voided results reversed, each task billed exactly once.
    const rows = gw.store.ledgerRows(victim).filter((r) => r.voided === 0);
    assert.equal(new Set(rows.map((r) => r.task_id)).size, 12);
    assert.equal(rows.length, 12, 'each task billed exactly once');
    for (const r of rows.filter((x) => x.node_id === a.nodeId)) {
      assert.ok(!rev.indexes.includes(Number(r.task_id.split('.').pop())), 'A is paid only for results that were verified');
    }
    // Through the API too.
    const api = (await (await fetch(`${gw.url}/api/jobs/${victim}`)).json()) as { revised: boolean; revisions: Array<{ changed: number[] }> };
    assert.equal(api.revised, true);
    // 4. Readmitted, A starts from zero: every result checked again, so the next lie is caught at once.
    const re = await fetch(`${gw.url}/api/nodes/${a.nodeId}/readmit`, { method: 'POST' });
    assert.equal(re.status, 200);
    assert.equal(gw.store.getNode(a.nodeId)!.quarantined, 0);
    assert.equal(gw.store.getNode(a.nodeId)!.good, 0, 'its record starts again');
    assert.equal((await fetch(`${gw.url}/api/nodes/${a.nodeId}/readmit`, { method: 'POST' })).status, 409, 'not quarantined any more');
  } finally {
    await close();
  }
});
