/**
 * End to end on loopback with the real parts: authenticating broker, gateway with its
 * SQLite store, simulated devices running real agents and real compiled tasks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authedFetch } from '../helpers/operator.js';
import { join } from 'node:path';
import { startAgent } from '../../agent/index.js';
import { createSimSensors } from '../../sim/sensors.js';
import { generateIdentity } from '../../protocol/identity.js';
import { toHex } from '../../protocol/hash.js';
import { assertAllMatchReference, inputs, waitFor, withMesh } from './helpers.js';

test('a 200-task job comes back with every output equal to the reference', async () => {
  await withMesh({ devices: 6, fleet: { profiles: 'pi5-active,pi4-heatsink,appliance-hub' } }, async (mesh) => {
    const ins = inputs('stats', 200);
    const { id } = await mesh.gateway.submitJob({ task: 'stats', inputs: ins, spotCheck: 0.1 });
    const job = await mesh.gateway.waitForJob(id, 120_000);
    assertAllMatchReference(job, 'stats', ins);
    assert.ok(job.totals.receipts >= 200, `every task has a receipt (${job.totals.receipts})`);
    assert.ok(job.totals.fuel > 0 && job.totals.credits > 0, 'the job is billed');
    const nodes = new Set(job.results!.map((r) => r.nodeId));
    assert.ok(nodes.size >= 2, `work spread over several devices (${nodes.size})`);
  });
});

test('devices killed mid-job and a device running hot do not stop the job', async () => {
  await withMesh({ devices: 5, fleet: { profiles: 'pi5-active,pi4-heatsink' }, gateway: { leaseMs: 3000 } }, async (mesh, dir) => {
    // One more device whose enclosure is hot: idle it already sits above its critical point.
    const hotId = generateIdentity();
    mesh.enrollment.add(hotId.publicKey, 'node', 'hot-hub');
    const hot = await startAgent({
      brokers: [mesh.brokerUrl], region: 'local', dataDir: join(dir, 'hot'), profile: 'pi4-bare', advertIntervalMs: 300,
      trustedPublishers: [toHex(mesh.gatewayIdentity.publicKey)],
    }, { identity: hotId, sensors: createSimSensors('pi4-bare', { timeScale: 50, ambientC: 72, startTempC: 86 }) });
    try {
      const ins = inputs('primes', 120);
      const { id } = await mesh.gateway.submitJob({ task: 'primes', inputs: ins });
      await waitFor('first results', () => (mesh.gateway.getJob(id)?.totals.done ?? 0) >= 15, 60_000);
      mesh.fleet!.kill(0);
      mesh.fleet!.kill(1);
      const job = await mesh.gateway.waitForJob(id, 120_000);
      assertAllMatchReference(job, 'primes', ins);
      const killed = new Set([mesh.fleet!.devices[0]!.nodeId, mesh.fleet!.devices[1]!.nodeId]);
      const res = await authedFetch(mesh.token)(`${mesh.url}/api/nodes`).then((r) => r.json()) as { nodes: { id: string; online: boolean; thermalState: string }[] };
      for (const n of res.nodes) if (killed.has(n.id)) assert.equal(n.online, false, 'a killed device is marked offline by its last will');
      const hotView = res.nodes.find((n) => n.id === hotId.nodeId);
      assert.ok(hotView && ['hot', 'critical'].includes(hotView.thermalState), `hot device reports ${hotView?.thermalState}`);
      assert.equal(job.results!.filter((r) => r.nodeId === hotId.nodeId).length, 0, 'a critical device gets no work');
    } finally {
      await hot.stop();
    }
  });
});

test('a cheating device is caught and the job\'s outputs are all correct', async () => {
  await withMesh({ devices: 4, fleet: { profiles: 'pi5-active', cheaters: 1, cheatRate: 1 } }, async (mesh) => {
    const cheater = mesh.fleet!.devices.find((d) => d.cheater)!;
    const ins = inputs('sha256', 80);
    const { id } = await mesh.gateway.submitJob({ task: 'sha256', inputs: ins, spotCheck: 0.5 });
    const job = await mesh.gateway.waitForJob(id, 120_000);
    assertAllMatchReference(job, 'sha256', ins);
    assert.equal(job.results!.filter((r) => r.nodeId === cheater.nodeId).length, 0, 'no result from the cheater survives');
    const res = await authedFetch(mesh.token)(`${mesh.url}/api/nodes`).then((r) => r.json()) as { nodes: { id: string; quarantined: boolean; reputation: number }[] };
    const view = res.nodes.find((n) => n.id === cheater.nodeId)!;
    assert.equal(view.quarantined, true, 'the cheater is quarantined');
    const honest = res.nodes.filter((n) => n.id !== cheater.nodeId);
    for (const h of honest) assert.ok(h.reputation > view.reputation, 'honest devices keep a better reputation');
  });
});

test('a gateway restarted mid-job finishes it with no task lost and none billed twice', async () => {
  const { startGateway } = await import('../../gateway/index.js');
  // Devices re-send unacknowledged results after 2 s, well inside the 30 s lease.
  await withMesh({ devices: 4, fleet: { profiles: 'pi5-active,pi4-heatsink', agent: { outbox: { resendAfterMs: 2000 } } } }, async (mesh, dir) => {
    const ins = inputs('matmul', 150);
    const { id } = await mesh.gateway.submitJob({ task: 'matmul', inputs: ins, spotCheck: 0 });
    await waitFor('first results', () => (mesh.gateway.getJob(id)?.totals.done ?? 0) >= 20, 60_000);
    await mesh.gateway.stop(); // devices keep unacknowledged results in their outboxes
    const again = await startGateway({
      brokerUrl: mesh.brokerUrl, identity: mesh.gatewayIdentity, enrollment: mesh.enrollment,
      dataDir: join(dir, 'gateway'), regions: ['local'],
    });
    try {
      const job = await again.waitForJob(id, 120_000);
      assertAllMatchReference(job, 'matmul', ins);
      // One accepted receipt per task bills it; a re-sent receipt is a duplicate, not a second bill.
      const billed = again.store.db.prepare('SELECT task_id, COUNT(*) AS n FROM ledger WHERE job_id = ? AND voided = 0 GROUP BY task_id HAVING n > 1').all(id) as unknown[];
      assert.deepEqual(billed, [], 'no task billed twice');
      assert.equal(job.totals.receipts, ins.length);
    } finally {
      await again.stop();
    }
  });
});

test('devices drain and stop even when the broker vanished just before (no publish waits forever)', async () => {
  await withMesh({ devices: 3 }, async (mesh) => {
    await waitFor('devices online', () => mesh.fleet!.devices.every((d) => d.handle?.stats().connected), 30_000);
    await mesh.broker.close(); // sockets close after this resolves: drains start while "connected"
    const stopped = await Promise.race([
      mesh.fleet!.stop().then(() => 'stopped'),
      new Promise((r) => setTimeout(() => r('hung'), 30_000)),
    ]);
    assert.equal(stopped, 'stopped');
  });
});
