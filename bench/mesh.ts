/**
 * bench/mesh, side by side in one run on loopback:
 *  1. latency: raw MQTT publish->receive round trip through swarmlet's broker (auth + ACL
 *     on) vs one small task submit->result through the whole mesh (p50/p99);
 *  2. throughput: small tasks per second end to end with 50 simulated devices, steady
 *     state (after a first big job that warms the JIT and caches, reported too);
 *  3. intake: receipts verified and stored per second (gateway intake, SQLite, fsync) vs
 *     raw node:crypto Ed25519 verifications per second of the same receipts.
 * Run: npm run bench -- mesh   (SWARMLET_BENCH_QUICK=1 for a short run)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import mqtt from 'mqtt';
import { startLocalMesh } from '../sim/mesh.js';
import { credentialsFor } from '../broker/index.js';
import { Enrollment } from '../protocol/enrollment.js';
import { generateIdentity, type Identity } from '../protocol/identity.js';
import { seal, open, signingBytes } from '../protocol/envelope.js';
import { node as nodeEd } from '../protocol/ed25519.js';
import { sha256, toHex, ZERO_HASH } from '../protocol/hash.js';
import { decode } from '../protocol/codec.js';
import { topics } from '../protocol/topics.js';
import { encodeResult, resultsOf } from '../protocol/results.js';
import { Store } from '../gateway/store.js';
import { ReceiptIntake } from '../gateway/intake.js';
import { VerifyPool } from '../gateway/verify-pool.js';
import type { ParseOutcome } from '../gateway/parse.js';
import { percentile, table, json, fmt, rate } from './lib.js';

const QUICK = process.env.SWARMLET_BENCH_QUICK === '1';
const dir = mkdtempSync(join(tmpdir(), 'swarmlet-bench-mesh-'));
const out: Record<string, unknown> = {};
const stats = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return { p50: percentile(s, 50), p99: percentile(s, 99), n: s.length }; };

// ---- 1 + 2: latency and throughput on a real mesh ------------------------------------
async function meshPart(devices: number, warmupTasks: number, throughputTasks: number) {
  const mesh = await startLocalMesh({
    dataDir: join(dir, `mesh-${devices}`), devices,
    fleet: { profiles: 'pi5-active', advertIntervalMs: 1000 },
    gateway: { spotCheck: 0, durability: 'full' },
  });
  try {
    // raw MQTT round trip through the same broker, as an enrolled operator-less gateway client
    const gwId = mesh.gatewayIdentity;
    const clientId = `${gwId.nodeId}-bench`;
    const c = await mqtt.connectAsync(mesh.brokerUrl, { ...credentialsFor(gwId, 'swarmlet', clientId), clientId, protocolVersion: 4 });
    const topic = topics.offer('bench');
    await c.subscribeAsync(topic, { qos: 0 });
    const payload = randomBytes(200);
    const rtts: number[] = [];
    for (let i = 0; i < (QUICK ? 300 : 2000); i++) {
      const t0 = performance.now();
      await new Promise<void>((res) => { c.once('message', () => res()); c.publish(topic, payload, { qos: 0 }); });
      rtts.push(performance.now() - t0);
    }
    await c.endAsync();
    // one small task, submit -> result, one at a time
    await new Promise((r) => setTimeout(r, 1500)); // adverts in
    const taskLat: number[] = [];
    const small = new Uint8Array(64).fill(1);
    for (let i = 0; i < (QUICK ? 30 : 150); i++) {
      const t0 = performance.now();
      const { id } = await mesh.gateway.submitJob({ task: 'sha256', inputs: [small], spotCheck: 0 });
      const v = await mesh.gateway.waitForJob(id, 30_000);
      if (v.state !== 'done') throw new Error(`job ${id} ${v.state}`);
      taskLat.push(performance.now() - t0);
    }
    // throughput: a first big job on a cold mesh (JIT, caches, SQLite pages), then the
    // measured job of many small tasks once it runs at its steady rate; both reported.
    const bigJob = async (n: number) => {
      const inputs = Array.from({ length: n }, (_, i) => new Uint8Array(64).fill(i & 0xff));
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const { id } = await mesh.gateway.submitJob({ task: 'sha256', inputs, spotCheck: 0 });
      const v = await mesh.gateway.waitForJob(id, 600_000);
      const secs = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(c0);
      if (v.state !== 'done') throw new Error(`throughput job ${v.state}`);
      return { tasks: n, seconds: secs, tasksPerSec: n / secs, cpuMsPerTask: (cpu.user + cpu.system) / 1000 / n };
    };
    const cold = await bigJob(warmupTasks);
    const warm = await bigJob(throughputTasks);
    return { mqttRtt: stats(rtts), taskRtt: stats(taskLat), cold, tasksPerSec: warm.tasksPerSec, throughputTasks, seconds: warm.seconds, cpuMsPerTask: warm.cpuMsPerTask };
  } finally {
    await mesh.stop();
  }
}

// ---- 3: receipt intake vs raw verification ---------------------------------------------
async function intakePart(n: number) {
  const store = new Store(join(dir, 'intake'), { durability: 'full' });
  const enrollment = new Enrollment();
  const nodes: Identity[] = Array.from({ length: 16 }, () => generateIdentity());
  for (const id of nodes) enrollment.add(id.publicKey, 'node');
  const moduleHash = sha256(new Uint8Array([1]));
  const jobId = 'jbench';
  const tasks = Array.from({ length: n }, (_, i) => {
    const input = new Uint8Array(randomBytes(64));
    return { id: `${jobId}.${i}`, idx: i, input, inputHash: sha256(input), spot: false };
  });
  store.insertJob({ id: jobId, task_name: 'sha256', module_hash: toHex(moduleHash), redundancy: 1, spot_check: 0, max_price: 1000, region: 'local', deadline: Date.now() + 3_600_000, fuel_limit: 1e9, created_at: Date.now(), n_tasks: n }, tasks);
  store.insertAttempts(tasks.map((t, i) => ({ taskId: t.id, attempt: 1, nodeId: nodes[i % nodes.length]!.nodeId, offerId: 'o', price: 1, leaseUntil: Date.now() + 3_600_000 })));
  const heads = new Map<string, { seq: number; prev: Uint8Array }>();
  const messages = tasks.map((t, i) => {
    const who = nodes[i % nodes.length]!;
    const h = heads.get(who.nodeId) ?? { seq: 0, prev: ZERO_HASH };
    const output = sha256(t.input);
    const now = Date.now();
    const r = seal('receipt', {
      taskId: t.id, jobId, nodeId: who.nodeId, moduleHash, inputHash: t.inputHash, outputHash: sha256(output), outcome: 'ok',
      fuel: 20_000, wallMs: 0.2, startedAt: now, finishedAt: now, tempStartC: null, tempEndC: null, seq: h.seq + 1, prevHash: h.prev,
    }, who);
    heads.set(who.nodeId, { seq: h.seq + 1, prev: r.id });
    // One result per message: the intake's worst case (agents batch when they can).
    const item = encodeResult({ taskId: t.id, jobId, nodeId: who.nodeId, attempt: 1, ok: true, output, error: null, receipt: r.bytes });
    return seal('result', { nodeId: who.nodeId, results: [item] }, who).bytes;
  });
  // raw: node:crypto verification of each receipt's signature, nothing else
  const receipts = messages.map((m) => {
    const env = decode(resultsOf(open(m, { kind: 'result' }).message)[0]!.receipt) as { body: Uint8Array; sig: Uint8Array; signer: Uint8Array };
    return { msg: signingBytes('receipt', env.body), sig: env.sig, pk: env.signer };
  });
  let k = 0;
  const raw = rate(() => { const r = receipts[k++ % receipts.length]!; nodeEd.verify(r.sig, r.msg, r.pk); }, { minMs: 1500 });
  // As the gateway runs it: signature checks spread over verifier worker threads.
  const pool = new VerifyPool(2);
  const intake = new ReceiptIntake({ store, enrollment, verifyPool: pool });
  await intake.processAsync(messages.slice(0, 64)); // warm the workers
  await store.synced();
  const t0 = performance.now();
  let stored = 64;
  // As the gateway's drain does: the next group is verified in the workers while this one
  // is chain-checked and committed; "stored" counts once the commit is on disk.
  const groups: Uint8Array[][] = [];
  for (let i = 64; i < messages.length; i += 1024) groups.push(messages.slice(i, i + 1024));
  let next: Promise<ParseOutcome[][]> | null = groups.length ? pool.parse(groups[0]!) : null;
  for (let g = 0; g < groups.length; g++) {
    const parsed = await next!;
    next = g + 1 < groups.length ? pool.parse(groups[g + 1]!) : null;
    const { outcomes } = intake.processParsed(parsed.flat());
    const synced = store.synced();
    stored += outcomes.filter((o) => o.status === 'stored').length;
    if (!next) await synced;
  }
  await store.synced();
  const secs = (performance.now() - t0) / 1000;
  await pool.close();
  await store.closeAsync();
  if (stored !== n) throw new Error(`intake stored ${stored} of ${n}`);
  return { rawVerifyPerSec: raw.opsPerSec, intakePerSec: (n - 64) / secs, receipts: n, verifyWorkers: 2 };
}

const intake = await intakePart(QUICK ? 4096 : 16384);
const m = await meshPart(50, QUICK ? 1000 : 3000, QUICK ? 1000 : 5000);
out.intake = intake;
out.mesh = m;
rmSync(dir, { recursive: true, force: true });

table('Latency on loopback (ms)', ['path', 'p50', 'p99', 'n'], [
  ['raw MQTT publish->receive (swarmlet broker, auth+ACL)', fmt(m.mqttRtt.p50, 3), fmt(m.mqttRtt.p99, 3), m.mqttRtt.n],
  ['one small task submit->result (whole mesh)', fmt(m.taskRtt.p50, 2), fmt(m.taskRtt.p99, 2), m.taskRtt.n],
]);
console.log(`task round trip / raw MQTT round trip (p50): ${fmt(m.taskRtt.p50 / m.mqttRtt.p50, 1)}x`);
table('Throughput, 50 simulated devices (one process: broker, gateway, fleet)', ['measure', 'value', 'target'], [
  ['small tasks per second end to end (steady)', fmt(m.tasksPerSec), '>= 1,000'],
  [`(${m.throughputTasks} sha256 tasks in ${fmt(m.seconds, 2)} s, ${fmt(m.cpuMsPerTask, 2)} ms CPU per task, all threads)`, '', ''],
  ['first big job on the cold mesh', fmt(m.cold.tasksPerSec), ''],
  [`(${m.cold.tasks} tasks in ${fmt(m.cold.seconds, 2)} s, ${fmt(m.cold.cpuMsPerTask, 2)} ms CPU per task)`, '', ''],
]);
table('Receipt intake vs raw Ed25519 verification', ['measure', 'per second', 'ratio'], [
  ['raw node:crypto verify, one core (receipt signatures)', fmt(intake.rawVerifyPerSec), '1.00'],
  ['gateway intake (2 verifier threads): verify + chain + store (fsync)', fmt(intake.intakePerSec), fmt(intake.intakePerSec / intake.rawVerifyPerSec, 2)],
]);
console.log('target: intake >= 0.70 of raw verification');
json('mesh', out);
