/**
 * The agent unchanged against a broker nobody here wrote: Mosquitto with its own
 * username/password auth (the agent sends the configured credentials instead of a
 * swarmlet connect proof). Skipped outside CI when the mosquitto binary is missing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startAgent, type AgentHandle } from '../../agent/index.js';
import { bytesEqual, sha256 } from '../../protocol/hash.js';
import type { TaskRunner } from '../../agent/runtime/types.js';
import { FakeGateway, tempDir, waitFor } from './harness.js';
import { freePort } from '../helpers/common.js';
import { needProgram } from '../helpers/external.js';
import { taskWasm, testRunner } from './runner.js';

const MOSQUITTO = '/usr/sbin/mosquitto';
const PASSWD = '/usr/bin/mosquitto_passwd';
const skip = needProgram(MOSQUITTO, 'mosquitto') || needProgram(PASSWD, 'mosquitto');


describe('agent on Mosquitto', { skip }, () => {
  const dir = tempDir();
  let mosq: ChildProcess;
  let port = 0;
  let gw: FakeGateway;
  let agent: AgentHandle;
  let runner: TaskRunner;

  before(async () => {
    port = await freePort();
    const pw = join(dir.path, 'passwd');
    writeFileSync(pw, '');
    for (const [u, p] of [['device1', 'devpass'], ['gateway', 'gwpass']]) {
      const r = spawnSync(PASSWD, ['-b', pw, u!, p!]);
      assert.equal(r.status, 0, String(r.stderr));
    }
    // Mosquitto started as root drops to its own user, which must be able to read these.
    chmodSync(dir.path, 0o755);
    chmodSync(pw, 0o644);
    const conf = join(dir.path, 'mosquitto.conf');
    writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous false\npassword_file ${pw}\npersistence false\n`);
    mosq = spawn(MOSQUITTO, ['-c', conf], { stdio: 'ignore' });
    gw = new FakeGateway(`mqtt://gateway:gwpass@127.0.0.1:${port}`);
    for (let i = 0; ; i++) {
      try { await gw.connect(); break; } catch (e) { if (i > 50) throw e; await new Promise((r) => setTimeout(r, 100)); }
    }
    runner = await testRunner(1);
  });

  after(async () => {
    await agent?.stop();
    await gw?.close();
    await runner?.close();
    mosq?.kill('SIGTERM');
    dir.cleanup();
  });

  it('connects with plain credentials, advertises and returns a signed receipt', async () => {
    agent = await startAgent({
      brokers: [`mqtt://device1:devpass@127.0.0.1:${port}`], region: 'test', dataDir: join(dir.path, 'agent'), profile: 'pi5-active', slots: 1,
      fuelRate: 100_000_000, trustedPublishers: [gw.publicKeyHex],
    }, { runner });
    await waitFor('advert via mosquitto', () => gw.adverts.find((a) => a.nodeId === agent.nodeId));
    const moduleHash = await gw.publishModule(taskWasm('sha256'), 'sha256');
    const a = gw.makeAssignment(agent.nodeId, moduleHash, new Uint8Array([4, 2]));
    await gw.assign(a);
    const r = await waitFor('result via mosquitto', () => gw.resultsFor(agent.nodeId)[0]);
    assert.ok(bytesEqual(r.opened.message.output, sha256(a.input)));
    await waitFor('acked', () => agent.stats().outbox.entries === 0);
  });

  it('a wrong password is refused and the agent keeps retrying', async () => {
    const bad = await startAgent({
      brokers: [`mqtt://device1:wrong@127.0.0.1:${port}`], region: 'test', dataDir: join(dir.path, 'bad'), profile: 'router', slots: 1,
      fuelRate: 100_000_000, trustedPublishers: [gw.publicKeyHex], reconnect: { minMs: 100, maxMs: 300 },
    }, { runner });
    try {
      await waitFor('refused twice', () => bad.stats().link.failures >= 2, 15_000);
      assert.equal(bad.stats().connected, false);
    } finally {
      await bad.stop();
    }
  });
});
