/**
 * A gateway killed mid-job (SIGKILL, the real CLI as a child process) and restarted on the
 * same data folder finishes the job: no task lost, none run or billed twice, and every
 * receipt the devices signed is billed exactly once. Results published while the gateway
 * was down wait in the broker for its persistent session.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateIdentity, saveIdentity } from '../../protocol/identity.js';
import { closeRuntime, devices, enrollmentFor, startBroker, tempDir, waitFor } from './harness.js';
import { authedFetch } from '../helpers/operator.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const CLI = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

after(closeRuntime);

function startCli(args: string[]): Promise<{ child: ChildProcess; url: string; log: () => string }> {
  // No ledger proofs: a first start would compile the circuit (minutes of CPU) for nothing here.
  const child = spawn(process.execPath, [CLI, 'gateway', ...args, '--no-proofs'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SWARMLET_LOG_LEVEL: 'warn' } });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`gateway did not start:\n${out}`)), 30_000);
    const check = () => {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) { clearTimeout(t); child.stdout!.off('data', check); resolve({ child, url: m[1]!, log: () => out }); }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => { clearTimeout(t); reject(new Error(`gateway exited ${code}:\n${out}`)); });
  });
}

const killed = (c: ChildProcess) => new Promise<void>((r) => { if (c.exitCode !== null || c.signalCode !== null) r(); else c.once('exit', () => r()); });

test('a gateway killed mid-job and restarted finishes it with nothing lost or billed twice', async () => {
  const broker = await startBroker();
  const dir = tempDir();
  const gwId = generateIdentity();
  const ids = [generateIdentity(), generateIdentity()];
  const keyFile = join(dir.path, 'gw.key');
  const enrollFile = join(dir.path, 'enrollment.json');
  saveIdentity(keyFile, gwId);
  writeFileSync(enrollFile, JSON.stringify(enrollmentFor(gwId, ids).toJSON()));
  // Leases comfortably longer than a restart on a loaded machine: a lease that expires
  // while the gateway is down re-offers a task whose result is already queued for it.
  const args = ['--broker', broker.url, '--key', keyFile, '--enrollment', enrollFile, '--data', join(dir.path, 'data'), '--port', '0',
    '--lease-ms', '20000', '--spot-check', '0', '--batch-delay-ms', '50'];
  // An operator token, made the way an operator makes one, before the gateway's first start.
  mkdirSync(join(dir.path, 'data'));
  const made = spawnSync(process.execPath, [CLI, 'token', 'create', '--data', join(dir.path, 'data'), '--name', 'restart', '--role', 'operator'], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  const fetch = authedFetch(made.stdout.trim());
  let gw = await startCli(args);
  const devs = await devices(broker.url, gwId.publicKey, ids.map((identity) => ({ identity, slots: 2, holdMs: 120 })));
  try {
    const ins = Array.from({ length: 24 }, (_, i) => new TextEncoder().encode(`restart-${i}`));
    const res = await fetch(`${gw.url}/api/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ task: 'sha256', inputs: ins.map((b) => Buffer.from(b).toString('base64')) }) });
    assert.equal(res.status, 201);
    const { id } = (await res.json()) as { id: string };
    await waitFor('stored acks', () => devs.reduce((s, d) => s + d.acks.length, 0) >= 5, 30_000);
    gw.child.kill('SIGKILL');
    await killed(gw.child);
    const doneBefore = devs.reduce((s, d) => s + d.acks.length, 0);
    assert.ok(doneBefore < 24, 'killed mid-job');
    gw = await startCli(args);
    const until = Date.now() + 60_000;
    let view: { state: string; results?: Array<{ outputHex: string; receiptId: string; nodeId: string }>; totals: { receipts: number } };
    for (;;) {
      view = (await (await fetch(`${gw.url}/api/jobs/${id}`)).json()) as typeof view;
      if (view.state !== 'running' || Date.now() > until) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(view.state, 'done', gw.log());
    assert.deepEqual(view.results!.map((r) => r.outputHex), ins.map(sha));
    const assigned = devs.reduce((s, d) => s + d.assignments.length, 0);
    assert.equal(assigned, 24, 'every task ran exactly once');
    // every receipt the devices signed is billed exactly once
    const signed = devs.flatMap((d) => d.receiptIds).sort();
    const ledger = (await (await fetch(`${gw.url}/api/ledger`)).json()) as { jobs: Array<{ jobId: string; receipts: number }> };
    assert.equal(ledger.jobs.find((j) => j.jobId === id)?.receipts, signed.length);
    assert.equal(view.totals.receipts, 24);
    assert.deepEqual(view.results!.map((r) => r.receiptId).sort(), signed);
    // Acks the killed gateway committed but never sent are recovered the way agents do it:
    // the device re-sends what is unacknowledged and the new gateway answers 'duplicate'.
    const acked = () => new Set(devs.flatMap((d) => d.acks.filter((a) => a.status === 'stored' || a.status === 'duplicate').map((a) => a.receiptId))).size;
    for (let i = 0; i < 20 && acked() < 24; i++) {
      for (const d of devs) d.resendUnacked();
      await waitFor('acks', () => acked() >= 24, 1000).catch(() => undefined);
    }
    assert.equal(acked(), 24, 'every receipt acknowledged as stored or duplicate');
    // A gateway SIGKILLed after taking a result off the wire but before storing it leaves a
    // chain gap: the receipts behind it get 'retry' (never 'rejected') until the device
    // re-sends, and each of them is then settled as stored or duplicate.
    for (const d of devs) {
      const odd = d.acks.filter((a) => a.status !== 'stored' && a.status !== 'duplicate');
      assert.ok(odd.every((a) => a.status === 'retry' && /^gap:/.test(a.reason ?? '')), JSON.stringify(odd));
      const settled = new Set(d.acks.filter((a) => a.status === 'stored' || a.status === 'duplicate').map((a) => a.receiptId));
      assert.ok(odd.every((a) => settled.has(a.receiptId)), 'every retried receipt was settled later');
    }
  } finally {
    for (const d of devs) await d.stop().catch(() => {});
    gw.child.kill('SIGTERM');
    await killed(gw.child);
    await broker.close();
    dir.cleanup();
  }
});
