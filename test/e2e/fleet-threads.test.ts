/**
 * A simulated fleet split across worker threads: the devices work like in-thread ones
 * (a job comes back equal to the reference, from devices of both threads), a device
 * killed in a worker goes offline at the gateway (its last will), and stop is clean.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authedFetch } from '../helpers/operator.js';
import { splitDevices } from '../../sim/fleet-threads.js';
import { defaultFleetThreads } from '../../sim/fleet.js';
import { assertAllMatchReference, inputs, withMesh } from './helpers.js';

async function nodeOnline(mesh: { url: string; token: string }, id: string): Promise<boolean | undefined> {
  const { nodes } = await (await authedFetch(mesh.token)(`${mesh.url}/api/nodes`)).json() as { nodes: Array<{ id: string; online: boolean }> };
  return nodes.find((n) => n.id === id)?.online;
}

async function until(what: string, f: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('fleet in worker threads: devices split evenly; small fleets stay in-thread by default', () => {
  assert.deepEqual(splitDevices(5, 2), [[0, 1], [2, 3, 4]]);
  assert.deepEqual(splitDevices(2, 4), [[0], [1]]);
  assert.equal(splitDevices(50, 3).flat().length, 50);
  assert.equal(defaultFleetThreads(6, false), 0);
  assert.equal(defaultFleetThreads(50, false), 1);
  assert.equal(defaultFleetThreads(50, true), 0, 'a shared runner object cannot cross threads');
});

test('fleet in worker threads runs real tasks; a device killed in a worker goes offline', async () => {
  await withMesh({ devices: 4, fleet: { profiles: 'pi5-active', threads: 2, advertIntervalMs: 500 }, gateway: { spotCheck: 0 } }, async (mesh) => {
    assert.equal(mesh.fleet!.devices.length, 4);
    assert.ok(mesh.fleet!.devices.every((d) => d.handle === null), 'agents live in the worker threads');
    const ins = inputs('sha256', 60);
    const { id } = await mesh.gateway.submitJob({ task: 'sha256', inputs: ins, spotCheck: 0 });
    const job = await mesh.gateway.waitForJob(id, 60_000);
    assertAllMatchReference(job, 'sha256', ins);
    const byNode = new Set(job.results!.map((r) => r.nodeId ?? ''));
    const first = new Set(mesh.fleet!.devices.slice(0, 2).map((d) => d.nodeId));
    assert.ok([...byNode].some((n) => first.has(n)) && [...byNode].some((n) => !first.has(n)), 'devices of both threads worked');

    const victim = mesh.fleet!.devices[3]!.nodeId;
    await until('victim online', async () => (await nodeOnline(mesh, victim)) === true);
    mesh.fleet!.kill(3);
    await until('victim offline (last will)', async () => (await nodeOnline(mesh, victim)) === false);
  });
});

test('fleet in worker threads: skipped devices (revoked keys) are not started', async () => {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { startBroker } = await import('../../broker/index.js');
  const { Enrollment } = await import('../../protocol/enrollment.js');
  const { fleetIdentities, startFleet } = await import('../../sim/fleet.js');
  const dir = mkdtempSync(join(tmpdir(), 'swarmlet-skip-'));
  const e = new Enrollment();
  for (const id of fleetIdentities(dir, 3)) e.add(id.publicKey, 'node');
  const broker = await startBroker({ port: 0, enrollment: e });
  const fleet = await startFleet({ brokers: [broker.url], devices: 3, dataDir: dir, trustedPublishers: ['11'.repeat(32)], threads: 2, skip: [1], poolSize: 1 });
  const clients = () => (broker.aedes as unknown as { clients: Record<string, unknown> }).clients;
  try {
    const want = [0, 2].map((i) => fleet.devices[i]!.nodeId).sort();
    await until('devices 0 and 2 connected', async () => Object.keys(clients()).sort().join() === want.join());
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(!(fleet.devices[1]!.nodeId in clients()), 'the skipped device never connects');
  } finally {
    await fleet.stop();
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
