/**
 * Checking results: a device that signs wrong outputs is caught by a spot check (the
 * gateway re-executes with the real runtime) or by redundancy, loses its reputation, is
 * quarantined, and its other results in the open job are re-done elsewhere, so every
 * output of the job is still correct.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { authedFetch, operatorToken } from '../helpers/operator.js';
import { createHash } from 'node:crypto';
import { generateIdentity } from '../../protocol/identity.js';
import { startGateway, type GatewayOptions } from '../../gateway/index.js';
import { closeRuntime, devices, Device, enrollmentFor, gatewayRuntime, startBroker, tempDir, waitFor, type DeviceOptions } from './harness.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const enc = (s: string) => new TextEncoder().encode(s);

after(closeRuntime);

async function mesh(devs: DeviceOptions[], o: Partial<GatewayOptions>, extra: DeviceOptions[] = []) {
  const broker = await startBroker();
  const dir = tempDir();
  const gwId = generateIdentity();
  const ids = devs.map(() => generateIdentity());
  const extraIds = extra.map(() => generateIdentity());
  const gw = await startGateway({
    brokerUrl: broker.url, identity: gwId, enrollment: enrollmentFor(gwId, [...ids, ...extraIds]), dataDir: dir.path,
    runtime: gatewayRuntime(true), bidWindowMs: 80, durability: 'normal', ...o,
  });
  const ds = await devices(broker.url, gwId.publicKey, devs.map((d, i) => ({ ...d, identity: ids[i]! })));
  await waitFor('adverts', () => gw.store.listNodes().filter((n) => n.online === 1).length === devs.length);
  return {
    gw, ds,
    startExtra: () => devices(broker.url, gwId.publicKey, extra.map((d, i) => ({ ...d, identity: extraIds[i]! }))).then((x) => { ds.push(...x); return x; }),
    async close() {
      for (const d of ds) await d.stop().catch(() => {});
      await gw.stop();
      await broker.close();
      dir.cleanup();
    },
  };
}

test('spot checks catch a cheater; it is quarantined, its other results are re-done, every output is right', async () => {
  // At first the cheater is the only device: it takes the tasks and lies on all of them.
  const m = await mesh([{ behavior: 'cheat', slots: 10 }], { spotCheck: 0.2 }, [{ slots: 4 }]);
  try {
    const ins = Array.from({ length: 10 }, (_, i) => enc(`cheat-${i}`));
    const { id } = await m.gw.submitJob({ task: 'sha256', inputs: ins });
    const cheater = m.ds[0]!;
    await waitFor('cheater quarantined', () => m.gw.store.getNode(cheater.nodeId)?.quarantined === 1, 30_000);
    // Only now an honest device joins; the reopened tasks go to it.
    const [honest] = await m.startExtra();
    const v = await m.gw.waitForJob(id, 30_000);
    assert.equal(v.state, 'done');
    assert.deepEqual(v.results!.map((r) => r.outputHex), ins.map(sha), 'no wrong output reached the job');
    assert.ok(v.results!.every((r) => r.nodeId === honest!.nodeId));
    // The cheater may be caught before it was given all ten (that depends on how fast the
    // spot check runs); whatever it had is re-done, so the honest device runs all ten.
    const caughtWith = cheater.assignments.length;
    assert.ok(caughtWith >= 1 && caughtWith <= 10, `cheater ran ${caughtWith}`);
    assert.equal(honest!.assignments.length, 10, 'every task the cheater touched re-done, the rest run honestly');
    const node = m.gw.store.getNode(cheater.nodeId)!;
    assert.equal(node.reputation, 0);
    assert.ok(node.bad >= 1);
    const bill = m.gw.store.ledgerRows(id).filter((r) => r.node_id === cheater.nodeId);
    // Results that arrive after the catch are not billed at all; those before it are voided.
    assert.ok(bill.length <= caughtWith, `${bill.length} bills for ${caughtWith} tasks`);
    assert.ok(bill.every((r) => r.voided === 1), 'none of the cheater\'s thrown-away work is billed');
    assert.equal(v.totals.receipts, 10, 'the job pays for the ten honest results only');
    const viewer = authedFetch(operatorToken(m.gw, 'viewer'));
    const nodes = (await (await viewer(`${m.gw.url}/api/nodes`)).json()) as { nodes: Array<{ id: string; quarantined: boolean; reputation: number }> };
    assert.equal(nodes.nodes.find((n) => n.id === cheater.nodeId)?.quarantined, true);
    const metrics = await (await viewer(`${m.gw.url}/metrics`)).text();
    assert.match(metrics, /swarmlet_cheats_caught_total 1/);
    assert.match(metrics, /^swarmlet_check_rate_established 0.09$/m, 'what the check budget (default 9%) leaves for established devices is shown');
    // a quarantined device gets no new work
    const { id: id2 } = await m.gw.submitJob({ task: 'sha256', inputs: [enc('after')] });
    await m.gw.waitForJob(id2, 20_000);
    assert.equal(cheater.assignments.length, caughtWith);
  } finally { await m.close(); }
});

test('redundancy without re-execution: the majority wins, the dissenter is quarantined, outputs stay right', async () => {
  const m = await mesh([{ slots: 2 }, { slots: 2 }, { behavior: 'cheat', slots: 2 }], { spotCheck: 0, runtime: gatewayRuntime(false) });
  try {
    const ins = Array.from({ length: 6 }, (_, i) => enc(`red-${i}`));
    const { id } = await m.gw.submitJob({ task: 'sha256', inputs: ins, redundancy: 2 });
    const v = await m.gw.waitForJob(id, 30_000);
    assert.equal(v.state, 'done');
    assert.deepEqual(v.results!.map((r) => r.outputHex), ins.map(sha));
    const cheater = m.ds[2]!;
    assert.ok(cheater.assignments.length >= 1, 'the cheater took part');
    assert.equal(m.gw.store.getNode(cheater.nodeId)?.quarantined, 1);
    assert.ok(v.results!.every((r) => r.nodeId !== cheater.nodeId));
  } finally { await m.close(); }
});

test('an honest result that matches the re-execution raises reputation and marks the result verified', async () => {
  const m = await mesh([{ slots: 2 }], { spotCheck: 1 });
  try {
    const ins = [enc('v1'), enc('v2')];
    const { id } = await m.gw.submitJob({ task: 'sha256', inputs: ins });
    const v = await m.gw.waitForJob(id, 30_000);
    assert.deepEqual(v.results!.map((r) => r.verified), [true, true]);
    const node = m.gw.store.getNode(m.ds[0]!.nodeId)!;
    assert.equal(node.good, 2, 'two verified results on its record');
    assert.ok(node.reputation > 0, 'trust earned from verified work only');
  } finally { await m.close(); }
});

void Device;
