/**
 * A region on more than one broker process: two swarmlet brokers sharing a real
 * redis-server (broker/cluster.ts), the gateway on the first, devices spread over both.
 * Adverts retained on one broker reach the gateway through the other, assignments and
 * results cross between them, and the job's outputs are all right.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { startBroker } from '../../broker/index.js';
import { startFleet, fleetIdentities } from '../../sim/fleet.js';
import { toHex } from '../../protocol/hash.js';
import { assertAllMatchReference, inputs, waitFor, withMesh } from './helpers.js';
import { freePort, needBinary, startDaemon, stopDaemon, tempDir } from '../broker/helpers.js';

const REDIS = '/usr/bin/redis-server';
const skip = needBinary(REDIS);

test('devices spread over two brokers of one Redis-backed region all get work, and the job is right', { skip }, async () => {
  const tmp = tempDir('swarmlet-spread-redis-');
  const port = await freePort();
  let redis: ChildProcess | undefined;
  try {
    redis = await startDaemon(REDIS, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tmp.dir], port);
    const redisOpts = { host: '127.0.0.1', port };
    await withMesh({ devices: 3, broker: { redis: redisOpts, brokerId: 'b1' }, fleet: { profiles: 'pi5-active' } }, async (mesh, dir) => {
      const b2 = await startBroker({ port: 0, enrollment: mesh.enrollment, redis: redisOpts, brokerId: 'b2' });
      const fleetDir = join(dir, 'fleet-b2');
      for (const id of fleetIdentities(fleetDir, 3)) mesh.enrollment.add(id.publicKey, 'node', `b2-${id.nodeId.slice(0, 6)}`);
      const second = await startFleet({ brokers: [b2.url], devices: 3, dataDir: fleetDir, trustedPublishers: [toHex(mesh.gatewayIdentity.publicKey)], profiles: 'pi5-active', threads: 0 });
      try {
        const onB2 = new Set(second.devices.map((d) => d.nodeId));
        // The gateway (on broker 1) sees the adverts of the devices on broker 2.
        await waitFor('devices of broker 2 online at the gateway', () => mesh.gateway.store.listNodes().filter((n) => onB2.has(n.node_id)).length === 3 || undefined, 30_000);
        const ins = inputs('sha256', 90);
        const { id } = await mesh.gateway.submitJob({ task: 'sha256', inputs: ins });
        const job = await mesh.gateway.waitForJob(id, 120_000);
        assertAllMatchReference(job, 'sha256', ins);
        const byB2 = job.results!.filter((r) => r.nodeId !== null && onB2.has(r.nodeId)).length;
        const byB1 = job.results!.length - byB2;
        assert.ok(byB2 > 0 && byB1 > 0, `work done through both brokers (broker 1: ${byB1}, broker 2: ${byB2})`);
      } finally {
        await second.stop();
        await b2.close();
      }
    });
  } finally {
    await stopDaemon(redis);
    tmp.cleanup();
  }
});
