/**
 * bench/agent: the device agent's footprint with its DEFAULT configuration (calibration
 * included, tasks in the runner process that ends after runnerIdleMs), beside a bare Node
 * process, all measured in the same run:
 *   - idle: 60 s after start; under load (peak, 2 slots); idle again 60 s after the load ends.
 *   - the agent as the full package starts it (dist/cli/main.js) and as the device package
 *     (dist-agent/swarmlet.mjs, when `npm run build:agent` has built it).
 *   - memory of the agent plus its runner process: the agent's RSS + the runner's private
 *     memory (USS: pages only it uses; the node binary's pages both map count once, as on a
 *     device). The plain RSS sum, which counts them twice, is printed too.
 *   - time from publishing an assignment to receiving its signed result (sha256 of 1 KiB,
 *     one at a time): p50/p99, and throughput with 64 KiB inputs, 4 in flight.
 * Goals (issue 14): idle <= bare node + 10 MB; under load with 2 slots <= bare node + 60 MB.
 * Run: npm run bench -- agent   (about 6 minutes: the waits are part of the definition)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { loadCatalogue } from '../agent/runtime/catalogue.js';
import { open, seal } from '../protocol/envelope.js';
import { sha256, toHex } from '../protocol/hash.js';
import { generateIdentity } from '../protocol/identity.js';
import { assignMessage, type Assignment } from '../protocol/messages.js';
import { resultsOf } from '../protocol/results.js';
import { filters, topics } from '../protocol/topics.js';
import { fmt, json, percentile, table } from './lib.js';

const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const BUNDLE = fileURLToPath(new URL('../../dist-agent/swarmlet.mjs', import.meta.url));
const REGION = 'bench';
const SETTLE_MS = Number(process.env.BENCH_SETTLE_MS ?? 60_000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function statusKb(pid: number, field: string): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch { return 0; }
}
const rssMb = (pid: number) => statusKb(pid, 'VmRSS') / 1024;

/** Private (unshared) memory of a process, MB. */
function ussMb(pid: number): number {
  try {
    const t = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kb = (f: string) => Number(new RegExp(`${f}:\\s+(\\d+) kB`).exec(t)?.[1] ?? 0);
    return (kb('Private_Clean') + kb('Private_Dirty')) / 1024;
  } catch { return 0; }
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch { return []; }
}

interface Sample { agent: number; runnerUss: number; rssSum: number; tree: number }
function sample(pid: number): Sample {
  const agent = rssMb(pid);
  let runnerUss = 0, runnerRss = 0;
  for (const c of childrenOf(pid)) { runnerUss += ussMb(c); runnerRss += rssMb(c); }
  return { agent, runnerUss, rssSum: agent + runnerRss, tree: agent + runnerUss };
}

/** Median (by tree memory) of `n` samples taken `everyMs` apart. */
async function steady(pid: number, n = 5, everyMs = 200): Promise<Sample> {
  const xs: Sample[] = [];
  for (let i = 0; i < n; i++) { xs.push(sample(pid)); await sleep(everyMs); }
  return xs.sort((a, b) => a.tree - b.tree)[Math.floor(n / 2)]!;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'swarmlet-bench-agent-'));
  const broker = await Aedes.createBroker();
  const server = createServer({ noDelay: true }, broker.handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `mqtt://127.0.0.1:${(server.address() as { port: number }).port}`;
  const children: ChildProcess[] = [];
  try {
    // ---- bare node baseline --------------------------------------------------------------------
    const bare = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e6)'], { stdio: 'ignore' });
    children.push(bare);
    await sleep(1500);
    let bareRss = 0;

    // ---- gateway side (in this process) --------------------------------------------------------
    const gwId = generateIdentity();
    const gw = await mqtt.connectAsync(url, { protocolVersion: 4, clientId: `gw-${gwId.nodeId}` });
    (gw.stream as unknown as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
    const wasm = loadCatalogue().byName('sha256')!.wasm;
    const moduleHash = sha256(wasm);
    await gw.publishAsync(topics.module(toHex(moduleHash)), Buffer.from(seal('module', { name: 'sha256', hash: moduleHash, wasm, description: '', publishedAt: Date.now() }, gwId).bytes), { qos: 1, retain: true });
    const waiting = new Map<string, () => void>();
    let nodeId = '';
    gw.on('message', (topic, payload) => {
      try {
        if (topic.includes('/status/')) {
          const s = open(new Uint8Array(payload), { kind: 'status' }).message;
          if (s.online) nodeId = s.nodeId;
          return;
        }
        const m = open(new Uint8Array(payload), { kind: 'result' }).message;
        const acks = [];
        for (const r of resultsOf(m)) {
          acks.push({ receiptId: open(r.receipt, { kind: 'receipt' }).id, taskId: r.taskId, status: 'stored' as const, reason: null });
          waiting.get(r.taskId)?.();
          waiting.delete(r.taskId);
        }
        void gw.publishAsync(topics.ack(REGION, m.nodeId), Buffer.from(seal('receipt-ack', { nodeId: m.nodeId, acks }, gwId).bytes), { qos: 1 });
      } catch { /* not ours */ }
    });
    await gw.subscribeAsync([filters.results(REGION), filters.statuses(REGION)], { qos: 1 });

    // ---- the agent, started the documented way with its defaults -------------------------------
    const runAgent = async (name: string, slug: string, entry: string, env: Record<string, string> = {}) => {
      const cfg = join(dir, `${slug}.json`);
      // Only what a device must set (broker, trust, data folder) plus the 2 slots of the goal;
      // no fuelRate (calibration runs), runner and runnerIdleMs at their defaults.
      writeFileSync(cfg, JSON.stringify({
        brokers: [url], region: REGION, dataDir: join(dir, slug), profile: 'pi4-bare', slots: 2,
        trustedPublishers: [toHex(gwId.publicKey)],
      }));
      const p = spawn(process.execPath, [entry, 'agent', '--config', cfg], { stdio: 'ignore', env: { ...process.env, SWARMLET_LOG_LEVEL: 'warn', ...env } });
      children.push(p);
      nodeId = '';
      const t0 = performance.now();
      while (!nodeId) {
        if (performance.now() - t0 > 60_000) throw new Error(`${name}: agent did not come online`);
        await sleep(20);
      }
      const startMs = performance.now() - t0;
      await sleep(Math.max(0, SETTLE_MS - (performance.now() - t0)));
      const idle = await steady(p.pid!);
      const bareNow = rssMb(bare.pid!);

      let n = 0;
      const assign = (input: Uint8Array): Promise<number> => {
        const taskId = `${slug}-${++n}`;
        const a: Assignment = {
          taskId, jobId: 'bench', offerId: `o${n}`, nodeId, region: REGION, moduleHash, input,
          fuelLimit: 1e9, memoryPages: 64, timeoutMs: 10_000, leaseUntil: Date.now() + 60_000, price: 1, attempt: 0,
        };
        const start = performance.now();
        const done = new Promise<number>((resolve) => waiting.set(taskId, () => resolve(performance.now() - start)));
        void gw.publishAsync(topics.assign(REGION, nodeId), Buffer.from(seal('assign', assignMessage([a]), gwId).bytes), { qos: 1 });
        return done;
      };
      let peak: Sample = sample(p.pid!);
      const sampler = setInterval(() => { const x = sample(p.pid!); if (x.tree > peak.tree) peak = x; }, 25);
      // The first task starts the runner process; then small tasks one at a time.
      const small = new Uint8Array(1024).fill(1);
      const coldMs = await assign(small);
      const lat: number[] = [];
      for (let i = 0; i < 200; i++) lat.push(await assign(small));
      lat.sort((x, y) => x - y);
      // Load: 64 KiB inputs, 4 in flight (2 slots + queue).
      const big = new Uint8Array(64 * 1024).map((_, i) => i & 0xff);
      const TASKS = 300;
      const loadStart = performance.now();
      let next = 0;
      await Promise.all(Array.from({ length: 4 }, async () => { while (next++ < TASKS) await assign(big); }));
      const loadSec = (performance.now() - loadStart) / 1000;
      clearInterval(sampler);
      await sleep(SETTLE_MS);
      const after = await steady(p.pid!);
      p.kill('SIGTERM');
      await new Promise((r) => p.once('exit', r));
      return { name, startMs, idle, peak, after, bareNow, coldMs, lat, tasks: TASKS, loadSec };
    };

    const runs = [await runAgent('full package (dist/cli/main.js)', 'full', CLI)];
    if (existsSync(BUNDLE)) runs.push(await runAgent('device package (dist-agent/swarmlet.mjs)', 'device', BUNDLE));
    else console.log('(dist-agent/ not built: npm run build:agent to measure the device package too)');
    // The agent process's JIT and young-generation limits, off: what they cost in speed and save in memory.
    if (!process.env.BENCH_QUICK) runs.push(await runAgent('full package, SWARMLET_AGENT_FULL_JIT=1', 'fulljit', CLI, { SWARMLET_AGENT_FULL_JIT: '1' }));
    bareRss = Math.max(...runs.map((r) => r.bareNow));

    const d = (x: number) => `+${fmt(x - bareRss, 1)}`;
    table(`Memory (MB): agent RSS + runner process private memory; bare node ${fmt(bareRss, 1)} MB RSS; samples ${SETTLE_MS / 1000} s after start and after the load`, ['agent', 'idle', 'vs bare', 'load peak', 'vs bare', 'after load', 'vs bare', 'peak RSS sum'], [
      ['bare node -e', fmt(bareRss, 1), '-', '-', '-', '-', '-', '-'],
      ...runs.map((r) => [r.name, fmt(r.idle.tree, 1), d(r.idle.tree), fmt(r.peak.tree, 1), d(r.peak.tree), fmt(r.after.tree, 1), d(r.after.tree), fmt(r.peak.rssSum, 1)]),
    ]);
    table('Assignment -> signed result at the gateway (sha256 of 1 KiB, one at a time, loopback aedes)', ['agent', 'start -> online', 'first task (starts runner)', 'p50', 'p99', 'max', 'load tasks/s (64 KiB, 4 in flight)'],
      runs.map((r) => [r.name, fmt(r.startMs, 0), fmt(r.coldMs, 1), fmt(percentile(r.lat, 50), 2), fmt(percentile(r.lat, 99), 2), fmt(r.lat.at(-1)!, 2), fmt(r.tasks / r.loadSec, 1)]));
    for (const r of runs) {
      const ok = (x: number, lim: number) => (x - bareRss <= lim ? 'met' : 'NOT met');
      console.log(`${r.name}: idle goal (+10 MB) ${ok(r.idle.tree, 10)} at start, ${ok(r.after.tree, 10)} after load; load goal (+60 MB) ${ok(r.peak.tree, 60)}`);
    }
    json('agent', {
      bareNodeMb: bareRss,
      runs: runs.map((r) => ({
        name: r.name, idleMb: r.idle, loadPeakMb: r.peak, afterLoadMb: r.after,
        deltaMb: { idle: r.idle.tree - bareRss, loadPeak: r.peak.tree - bareRss, afterLoad: r.after.tree - bareRss },
        latencyMs: { startToOnline: r.startMs, cold: r.coldMs, p50: percentile(r.lat, 50), p99: percentile(r.lat, 99), max: r.lat.at(-1) },
        load: { tasks: r.tasks, seconds: r.loadSec, tasksPerSec: r.tasks / r.loadSec },
      })),
    });
    await gw.endAsync();
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await new Promise<void>((r) => broker.close(() => r()));
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
