/**
 * The real CLI (`swarmlet agent` from the compiled folder) in a child process: SIGKILLed
 * with unacknowledged results, it re-sends them after a restart and continues its receipt
 * chain without a fork, even when it restarts with no broker reachable; SIGTERM drains and
 * exits 0, publishing offline.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bytesEqual, sha256, toHex } from '../../protocol/hash.js';
import { checkChain } from '../../protocol/receipt.js';
import { FakeGateway, startAedes, tempDir, waitFor, type TestBroker } from './harness.js';
import { taskWasm } from './runner.js';

const CLI = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

interface Child { proc: ChildProcess; lines: Record<string, unknown>[]; exit: Promise<number | null> }

function spawnAgent(configFile: string): Child {
  const proc = spawn(process.execPath, [CLI, 'agent', '--config', configFile], {
    env: { ...process.env, SWARMLET_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  let buf = '';
  proc.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try { lines.push(JSON.parse(line)); } catch { lines.push({ raw: line }); }
    }
  });
  proc.stderr!.on('data', (d: Buffer) => lines.push({ stderr: d.toString() }));
  const exit = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return { proc, lines, exit };
}

describe('agent process: SIGKILL and restart, SIGTERM drain', () => {
  let broker: TestBroker;
  let gw: FakeGateway;
  const dir = tempDir();
  let child: Child | null = null;

  before(async () => {
    broker = await startAedes();
    gw = new FakeGateway(broker.url);
    await gw.connect();
  });

  after(async () => {
    child?.proc.kill('SIGKILL');
    await gw?.close();
    await broker?.close();
    dir.cleanup();
  });

  it('re-sends its outbox after a SIGKILL and continues the chain', async () => {
    const configFile = join(dir.path, 'agent.json');
    writeFileSync(configFile, JSON.stringify({
      brokers: [broker.url], region: 'test', dataDir: join(dir.path, 'data'), profile: 'pi5-active', slots: 2,
      fuelRate: 100_000_000, trustedPublishers: [gw.publicKeyHex], sampleIntervalMs: 200,
      reconnect: { minMs: 100, maxMs: 1000 },
    }));
    const moduleHash = await gw.publishModule(taskWasm('sha256'), 'sha256');
    gw.autoAck = null; // the gateway "crashes" too: nothing acknowledged yet

    child = spawnAgent(configFile);
    const started = await waitFor('agent started', () => child!.lines.find((l) => l.msg === 'agent started'), 30_000);
    const nodeId = started.nodeId as string;
    await waitFor('online', () => gw.statuses.find((s) => s.nodeId === nodeId && s.online));

    const inputs = [1, 2, 3].map((i) => new Uint8Array(1000).fill(i));
    for (const input of inputs) await gw.assign(gw.makeAssignment(nodeId, moduleHash, input));
    await waitFor('3 results before the crash', () => gw.resultsFor(nodeId).length >= 3, 30_000);
    const beforeIds = new Set(gw.resultsFor(nodeId).map((r) => toHex(r.receipt.id)));

    child.proc.kill('SIGKILL');
    assert.equal(await child.exit, null, 'killed by a signal');
    await waitFor('last will: offline', () => gw.statuses.find((s) => s.nodeId === nodeId && !s.online), 10_000);

    // Restart with no broker reachable: it must come up anyway and send once the broker is back.
    await broker.close();
    const seenBefore = gw.results.length;
    child = spawnAgent(configFile);
    await waitFor('agent started without a broker', () => child!.lines.find((l) => l.msg === 'agent started'), 30_000);
    await new Promise((res) => setTimeout(res, 500));
    await broker.restart(); // an empty broker: retained messages (the module too) are gone
    await waitFor('restarted agent re-sends all 3', () => {
      const resent = gw.results.slice(seenBefore).filter((r) => r.opened.message.nodeId === nodeId);
      return beforeIds.size === 3 && [...beforeIds].every((id) => resent.some((r) => toHex(r.receipt.id) === id));
    }, 60_000); // generous: reconnect backoff plus a loaded CI machine

    // A new task continues the chain from the last receipt before the crash (module from the disk cache).
    gw.autoAck = 'stored';
    const next = gw.makeAssignment(nodeId, moduleHash, new Uint8Array([42]));
    await gw.assign(next);
    const r = await waitFor('result after restart', () => gw.resultsFor(nodeId).find((g) => g.opened.message.taskId === next.taskId), 30_000);
    assert.ok(bytesEqual(r.opened.message.output, sha256(next.input)));
    const unique = new Map(gw.resultsFor(nodeId).map((g) => [toHex(g.receipt.id), g] as const));
    const chain = [...unique.values()].map((g) => ({ receipt: g.receipt.message, id: g.receipt.id })).sort((a, b) => a.receipt.seq - b.receipt.seq);
    assert.deepEqual(chain.map((c) => c.receipt.seq), [1, 2, 3, 4]);
    assert.deepEqual(checkChain(chain), []);

    // Ack the old ones too, then SIGTERM: drains, publishes offline, exits 0.
    await gw.ack(nodeId, [...unique.values()].map((g) => ({ receiptId: g.receipt.id, taskId: g.opened.message.taskId, status: 'stored' as const })));
    const offlineBefore = gw.statuses.filter((s) => s.nodeId === nodeId && !s.online).length;
    await new Promise((res) => setTimeout(res, 300));
    child.proc.kill('SIGTERM');
    assert.equal(await child.exit, 0);
    assert.ok(child.lines.some((l) => l.msg === 'drained'));
    await waitFor('offline status on drain', () => gw.statuses.filter((s) => s.nodeId === nodeId && !s.online).length > offlineBefore, 10_000);
    child = null;
  });
});
