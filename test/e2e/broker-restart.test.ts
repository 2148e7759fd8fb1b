/**
 * A broker restarted without persistence loses every retained message, the gateway's
 * signed modules among them. The gateway publishes them again on every reconnect, the
 * catalogue's and the registry's alike, so a device that never had a module can still
 * fetch it and run the task.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startBroker } from '../../broker/index.js';
import { loadIdentity } from '../../protocol/identity.js';
import { toHex } from '../../protocol/hash.js';
import { assertAllMatchReference, inputs, waitFor, withMesh } from './helpers.js';
import { BYTESUM_WAT, bytesumReference, publishModule } from '../helpers/modules.js';

const CLI = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

test('after a broker restart (same port, nothing persisted) a fresh device fetches the module and runs the job', async () => {
  await withMesh({ devices: 1, fleet: { profiles: 'pi5-active', advertIntervalMs: 300 } }, async (mesh, dir) => {
    const before = inputs('stats', 4);
    const j1 = await mesh.gateway.submitJob({ task: 'stats', inputs: before, spotCheck: 0 });
    assertAllMatchReference(await mesh.gateway.waitForJob(j1.id, 60_000), 'stats', before);
    const published = await publishModule(mesh.url, mesh.token, { name: 'bytesum', version: '1', wasm: BYTESUM_WAT });
    assert.equal(published.status, 201, JSON.stringify(published.body));

    const port = mesh.broker.port;
    await mesh.broker.close();
    const broker = await startBroker({ port, enrollment: mesh.enrollment });
    const health = async () => (await (await fetch(`${mesh.url}/healthz`)).json()) as { mqtt: boolean };
    try {
      let linked = false;
      for (let i = 0; i < 200 && !linked; i++) {
        await new Promise((r) => setTimeout(r, 100));
        linked = (await health()).mqtt;
      }
      assert.ok(linked, 'the gateway reconnected to the restarted broker');
      // Only a device that has never seen the module may take the work: a new process (the
      // agents of one process share a module cache), enrolled through the mesh's file.
      mesh.fleet!.kill(0);
      const sim = spawn(process.execPath, [CLI, 'sim', '--broker', mesh.brokerUrl, '--devices', '1', '--profiles', 'pi5-active', '--pool-size', '1',
        '--trust', toHex(mesh.gatewayIdentity.publicKey), '--data', join(dir, 'fresh'), '--enroll', join(dir, 'enrollment.json')],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SWARMLET_LOG_LEVEL: 'warn' } });
      let out = '';
      sim.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
      sim.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
      const exited = new Promise<number | null>((r) => sim.once('exit', (c) => r(c)));
      try {
        const freshId = await waitFor('the fresh device enrolled', () => {
          try { return loadIdentity(join(dir, 'fresh', 'dev-000', 'node.key')); } catch { return undefined; }
        }, 30_000);
        await waitFor('the fresh device enrolled in the running mesh', () => mesh.enrollment.has(freshId.nodeId, 'node'), 30_000);
        const after = inputs('stats', 6, 99);
        const { id } = await mesh.gateway.submitJob({ task: 'stats', inputs: after, spotCheck: 0 });
        const job = await mesh.gateway.waitForJob(id, 90_000).catch((e) => { throw new Error(`${(e as Error).message}\n${out}`); });
        assertAllMatchReference(job, 'stats', after);
        assert.ok(job.results!.every((r) => r.nodeId === freshId.nodeId), 'run by the fresh device');
        // ...and a module published to the registry before the restart
        const bytes = [Uint8Array.of(1, 2, 3), Uint8Array.of(250, 250)];
        const j3 = await mesh.gateway.submitJob({ task: 'bytesum@1', inputs: bytes, spotCheck: 0 });
        const registry = await mesh.gateway.waitForJob(j3.id, 90_000).catch((e) => { throw new Error(`${(e as Error).message}\n${out}`); });
        assert.equal(registry.state, 'done', registry.error ?? '');
        assert.deepEqual(registry.results!.map((r) => r.outputHex), bytes.map((b) => Buffer.from(bytesumReference(b)).toString('hex')));
        assert.ok(registry.results!.every((r) => r.nodeId === freshId.nodeId), 'run by the fresh device');
      } finally {
        sim.kill('SIGTERM');
        assert.equal(await exited, 0, out);
      }
    } finally {
      await broker.close();
    }
  });
});
