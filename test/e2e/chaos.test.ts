/**
 * Chaos: a 500-task job on a mesh of real processes (`swarmlet broker`, `swarmlet gateway`,
 * two `swarmlet sim` fleets of real agents), with devices, the gateway and the broker each
 * SIGKILLed mid-job and started again on the same data. The job must end with every output
 * right and every task billed exactly once (read from the gateway's SQLite file after the
 * run): journaled results re-sent by restarted devices, results queued while the gateway was
 * down, results lost with the broker and re-sent by the agents — none billed twice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Enrollment } from '../../protocol/enrollment.js';
import { toHex } from '../../protocol/hash.js';
import { generateIdentity, saveIdentity } from '../../protocol/identity.js';
import { fleetIdentities } from '../../sim/fleet.js';
import { freePort, tempDir } from '../helpers/common.js';
import { authedFetch } from '../helpers/operator.js';
import { REFERENCES } from '../runtime/references.js';
import { sampleInput } from '../runtime/inputs.js';

const CLI = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
const TASKS = 500;

interface Proc { child: ChildProcess; out: () => string }

/** Start `swarmlet ARGS` and wait for a line matching `ready`. */
function start(args: string[], ready: RegExp): Promise<Proc & { match: RegExpExecArray }> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SWARMLET_LOG_LEVEL: 'info' } });
  let out = '';
  const onData = (d: Buffer) => { out += d.toString(); };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`swarmlet ${args[0]} did not start:\n${out.slice(-3000)}`)), 60_000);
    const check = () => {
      const m = ready.exec(out);
      if (m) { clearTimeout(t); child.stdout!.off('data', check); child.stderr!.off('data', check); resolve({ child, out: () => out, match: m }); }
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    child.once('exit', (code, sig) => { clearTimeout(t); reject(new Error(`swarmlet ${args[0]} exited ${code ?? sig}:\n${out.slice(-3000)}`)); });
  });
}

/** Poll an async check until it gives something (returned), or fail naming `what`. */
async function until<T>(what: string, f: () => Promise<T | null>, timeoutMs: number, stepMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

const exited = (c: ChildProcess) => new Promise<void>((r) => { if (c.exitCode !== null || c.signalCode !== null) r(); else c.once('exit', () => r()); });
async function kill(p: Proc, sig: NodeJS.Signals): Promise<void> {
  p.child.kill(sig);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((r) => { timer = setTimeout(() => r('late'), 30_000); });
  const r = await Promise.race([exited(p.child), late]);
  clearTimeout(timer);
  if (r === 'late') {
    p.child.kill('SIGKILL');
    assert.fail(`still running 30 s after ${sig}:\n${p.out().slice(-3000)}`);
  }
}

test('SIGKILL devices, gateway and broker during a 500-task job: every output right, every task billed exactly once', { timeout: 240_000 }, async () => {
  const dir = tempDir('swarmlet-chaos-');
  const procs: Proc[] = [];
  try {
    const gwId = generateIdentity();
    const keyFile = join(dir.path, 'gw.key');
    saveIdentity(keyFile, gwId);
    const fleets = [join(dir.path, 'fleet-a'), join(dir.path, 'fleet-b')];
    const enrollment = new Enrollment();
    enrollment.add(gwId.publicKey, 'gateway', 'gw');
    for (const f of fleets) for (const id of fleetIdentities(f, 3)) enrollment.add(id.publicKey, 'node');
    const enrollFile = join(dir.path, 'enrollment.json');
    writeFileSync(enrollFile, JSON.stringify(enrollment.toJSON()));
    const port = await freePort();
    const brokerUrl = `mqtt://127.0.0.1:${port}`;
    const dataDir = join(dir.path, 'gateway');
    // An operator token, made the way an operator makes one, before the gateway's first start.
    mkdirSync(dataDir);
    const made = spawnSync(process.execPath, [CLI, 'token', 'create', '--data', dataDir, '--name', 'chaos', '--role', 'operator'], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    const fetch = authedFetch(made.stdout.trim());

    const startBroker = () => start(['broker', '--port', String(port), '--enrollment', enrollFile], /broker listening/);
    const startGw = () => start(['gateway', '--broker', brokerUrl, '--key', keyFile, '--enrollment', enrollFile, '--data', dataDir, '--port', '0',
      // No ledger proofs: a first start would compile the circuit (minutes of CPU) for nothing here.
      '--lease-ms', '15000', '--batch-delay-ms', '100', '--no-proofs'], /listening on (http:\/\/\S+)/);
    const startSim = (f: string) => start(['sim', '--broker', brokerUrl, '--devices', '3', '--trust', toHex(gwId.publicKey), '--data', f, '--pool-size', '1'], /devices connected/);

    let broker = await startBroker();
    let gw = await startGw();
    const sims = [await startSim(fleets[0]!), await startSim(fleets[1]!)];
    procs.push(broker, gw, ...sims);
    let url = gw.match[1]!;

    // mandelbrot tiles of ~10 ms each: long enough a job to kill things in the middle of it.
    const ins = Array.from({ length: TASKS }, (_, i) => sampleInput('mandelbrot', { seed: 100 + i, size: 'bench' }));
    const post = await fetch(`${url}/api/jobs`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ task: 'mandelbrot', inputs: ins.map((b) => Buffer.from(b).toString('base64')) }),
    });
    assert.equal(post.status, 201, await post.clone().text());
    const { id } = (await post.json()) as { id: string };

    type View = { state: string; totals: { done: number }; results?: Array<{ index: number; ok: boolean; outputHex: string | null }> };
    const view = async (): Promise<View | null> => {
      try { return (await (await fetch(`${url}/api/jobs/${id}`, { signal: AbortSignal.timeout(5000) })).json()) as View; } catch { return null; }
    };
    const doneAtLeast = (n: number) => until(`${n} tasks done`, async () => {
      const v = await view();
      return v && (v.totals.done >= n || v.state !== 'running') ? v : null;
    }, 120_000, 100);
    const killedWhile: string[] = [];
    const stillRunning = async (what: string) => { const v = await view(); if (v?.state === 'running') killedWhile.push(what); };

    // Each kill waits for the job to make progress since the last restart, so every part
    // dies while work is in flight (under load a restart can take a while).
    const progressed = async (by: number) => doneAtLeast(((await view())?.totals.done ?? 0) + by);
    // 1. A fleet of devices dies hard (journals on disk, leases held) and comes back.
    await doneAtLeast(25);
    await stillRunning('devices');
    await kill(sims[0]!, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 500));
    sims[0] = await startSim(fleets[0]!);
    procs.push(sims[0]);
    // 2. The broker dies hard: sessions, retained messages and queued results are gone.
    await progressed(20);
    await stillRunning('broker');
    await kill(broker, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    broker = await startBroker();
    procs.push(broker);
    // 3. The gateway dies hard mid-intake and restarts on its SQLite file.
    await progressed(20);
    await stillRunning('gateway');
    await kill(gw, 'SIGKILL');
    gw = await startGw();
    procs.push(gw);
    url = gw.match[1]!;

    const final = await until('job finished', async () => {
      const v = await view();
      return v && v.state !== 'running' ? v : null;
    }, 150_000, 200).catch(async (e: Error) => {
      const v = await view();
      throw new Error(`${e.message} (${JSON.stringify(v?.totals)})\n--- gateway:\n${gw.out().slice(-4000)}\n--- broker:\n${broker.out().slice(-3000)}\n--- sims:\n${sims.map((p) => p.out().slice(-3000)).join('\n')}`);
    });
    assert.deepEqual(killedWhile, ['devices', 'broker', 'gateway'], 'each kill landed while the job was running');
    assert.equal(final.state, 'done');
    const ref = REFERENCES.mandelbrot!;
    final.results!.forEach((r, i) => {
      assert.equal(r.ok, true, `task ${i}`);
      assert.equal(r.outputHex, Buffer.from(ref(ins[i]!)).toString('hex'), `task ${i} output`);
    });

    // Stop everything, then read the ledger straight from the gateway's SQLite file.
    for (const p of [...sims, gw]) await kill(p, 'SIGTERM');
    await kill(broker, 'SIGTERM');
    const Database = createRequire(import.meta.url)('better-sqlite3') as new (f: string, o: { readonly: boolean }) => { prepare(s: string): { all(...a: unknown[]): unknown[] }; close(): void };
    const db = new Database(join(dataDir, 'gateway.sqlite'), { readonly: true });
    try {
      const perTask = db.prepare('SELECT task_id, COUNT(*) AS n FROM ledger WHERE job_id = ? AND voided = 0 GROUP BY task_id').all(id) as Array<{ task_id: string; n: number }>;
      assert.equal(perTask.length, TASKS, 'every task billed');
      assert.deepEqual(perTask.filter((r) => r.n !== 1), [], 'no task billed twice');
      const mismatched = db.prepare(`SELECT l.task_id FROM ledger l JOIN tasks t ON t.id = l.task_id
        WHERE l.job_id = ? AND l.voided = 0 AND l.receipt_id != t.receipt_id`).all(id);
      assert.deepEqual(mismatched, [], 'each bill is for the result the job delivered');
      const receipts = db.prepare("SELECT status, COUNT(*) AS n FROM receipts WHERE job_id = ? GROUP BY status").all(id) as Array<{ status: string; n: number }>;
      const accepted = receipts.find((r) => r.status === 'accepted')?.n ?? 0;
      assert.ok(accepted >= TASKS, `${accepted} accepted receipts for ${TASKS} tasks`);
    } finally { db.close(); }
  } finally {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await Promise.all(procs.map((p) => exited(p.child)));
    dir.cleanup();
  }
});
