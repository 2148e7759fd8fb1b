/**
 * A restarted gateway does not take its own downtime for a device's silence: leases restored
 * from the store are watched for stalling from the restart, not from their grant, so tasks
 * whose results wait in the broker are not run a second time elsewhere.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateIdentity } from '../../protocol/identity.js';
import { startGateway, type GatewayOptions } from '../../gateway/index.js';
import { closeRuntime, devices, enc, enrollmentFor, gatewayRuntime, startBroker, tempDir, waitFor } from './harness.js';

after(closeRuntime);

test('leases restored after a restart longer than the stall period are not re-offered while their results are on the way', async () => {
  const broker = await startBroker();
  const dir = tempDir();
  const gwId = generateIdentity();
  // Three devices, two tasks: a stalled lease would find the idle third device at once.
  const ids = [generateIdentity(), generateIdentity(), generateIdentity()];
  // Half a lease (the stall period before any result) is 6 s; the gateway is down for
  // longer than that, and each device answers 7.5 s after its assignment, well before the
  // lease (12 s) runs out even on a loaded machine. A new node has earned
  // one slot (grants.ts): one task each.
  const opts: GatewayOptions = {
    brokerUrl: broker.url, identity: gwId, enrollment: enrollmentFor(gwId, ids), dataDir: dir.path, runtime: gatewayRuntime(false),
    spotCheck: 0, leaseMs: 12_000, bidWindowMs: 80, durability: 'normal',
  };
  let gw = await startGateway(opts);
  const ds = await devices(broker.url, gwId.publicKey, ids.map((identity) => ({ identity, slots: 2, holdMs: 7500 })));
  try {
    await waitFor('adverts', () => gw.store.listNodes().filter((n) => n.online === 1).length === 3);
    const ins = Array.from({ length: 2 }, (_, i) => enc(`stall-${i}`));
    const { id } = await gw.submitJob({ task: 'sha256', inputs: ins });
    await waitFor('all assigned', () => ds.reduce((s, d) => s + d.assignments.length, 0) === 2, 10_000);
    await gw.stop();
    await new Promise((r) => setTimeout(r, 6500));
    gw = await startGateway(opts);
    const view = await gw.waitForJob(id, 30_000);
    assert.equal(view.state, 'done');
    assert.equal(ds.reduce((s, d) => s + d.assignments.length, 0), 2, 'no task assigned a second time');
  } finally {
    for (const d of ds) await d.stop().catch(() => {});
    await gw.stop();
    await broker.close();
    dir.cleanup();
  }
});
