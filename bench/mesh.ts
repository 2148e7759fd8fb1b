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
import { topics } from '../protocol/topics.js';
import { percentile, table, json, fmt } from './lib.js';
import { intakePart } from './lib-intake.js';

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

const intake = await intakePart(join(dir, 'intake'), QUICK ? 4096 : 16384);
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
