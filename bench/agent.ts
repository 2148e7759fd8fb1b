/**
 * bench/agent: the device agent's footprint and latency, beside a bare Node process.
 *   - RSS of a bare `node -e` process and of `swarmlet agent` (the real CLI, simulated
 *     sensors), both child processes measured in the same run: idle, under load (peak),
 *     and idle again after load (worker pool started).
 *   - Time from publishing an assignment to receiving its signed result, for a small
 *     task (sha256 of 1 KiB), one at a time: p50/p99; and throughput under load.
 * Run: npm run bench -- agent
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
const REGION = 'bench';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Median of `n` RSS samples taken `everyMs` apart. */
async function steadyRss(pid: number, n = 5, everyMs = 200): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) { xs.push(rssMb(pid)); await sleep(everyMs); }
  return xs.sort((a, b) => a - b)[Math.floor(n / 2)]!;
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
    const bareRss = await steadyRss(bare.pid!);

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

    // ---- the agent's modules loaded, nothing started (what the dependencies cost) ----------------------
    const modsOnly = spawn(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(new URL('../agent/index.js', import.meta.url).href)}); setInterval(() => {}, 1e6);`], { stdio: 'ignore' });
    children.push(modsOnly);
    await sleep(2000);
    const modsRss = await steadyRss(modsOnly.pid!);
    modsOnly.kill('SIGKILL');

    // ---- the agent ----------------------------------------------------------------------------------
    const startAgentProc = (name: string, nodeFlags: string[], runnerIdleMs: number) => {
      const cfg = join(dir, `${name}.json`);
      writeFileSync(cfg, JSON.stringify({
        brokers: [url], region: REGION, dataDir: join(dir, name), profile: 'pi5-active', slots: 2,
        fuelRate: 100_000_000, trustedPublishers: [toHex(gwId.publicKey)], advertIntervalMs: 30_000, runnerIdleMs,
      }));
      const p = spawn(process.execPath, [...nodeFlags, CLI, 'agent', '--config', cfg], { stdio: 'ignore', env: { ...process.env, SWARMLET_LOG_LEVEL: 'warn' } });
      children.push(p);
      return p;
    };
    const waitOnline = async () => {
      nodeId = '';
      const t0 = performance.now();
      while (!nodeId) {
        if (performance.now() - t0 > 30_000) throw new Error('agent did not come online');
        await sleep(20);
      }
      return performance.now() - t0;
    };
    // With a small young generation (an operator's option: NODE_OPTIONS=--max-semi-space-size=1).
    const lean = startAgentProc('lean', ['--max-semi-space-size=1'], 0);
    await waitOnline();
    await sleep(2000);
    const leanRss = await steadyRss(lean.pid!);
    lean.kill('SIGTERM');
    await new Promise((r) => lean.once('exit', r));

    const POOL_IDLE_MS = 3000;
    const agent = startAgentProc('agent', [], POOL_IDLE_MS);
    const startMs = await waitOnline();
    await sleep(2000);
    const idleRss = await steadyRss(agent.pid!);

    let n = 0;
    const assign = (input: Uint8Array): Promise<number> => {
      const taskId = `b${++n}`;
      const a: Assignment = {
        taskId, jobId: 'bench', offerId: `o${n}`, nodeId, region: REGION, moduleHash, input,
        fuelLimit: 1e9, memoryPages: 64, timeoutMs: 10_000, leaseUntil: Date.now() + 60_000, price: 1, attempt: 0,
      };
      const start = performance.now();
      const done = new Promise<number>((resolve) => waiting.set(taskId, () => resolve(performance.now() - start)));
      void gw.publishAsync(topics.assign(REGION, nodeId), Buffer.from(seal('assign', assignMessage([a]), gwId).bytes), { qos: 1 });
      return done;
    };

    // ---- latency: small task, one at a time (the first one starts the worker pool) -----------------
    const small = new Uint8Array(1024).fill(1);
    const coldMs = await assign(small);
    const lat: number[] = [];
    for (let i = 0; i < 200; i++) lat.push(await assign(small));
    lat.sort((a, b) => a - b);

    // ---- load: 64 KiB inputs, 4 in flight (2 slots + queue), peak RSS sampled --------------------------
    let peak = rssMb(agent.pid!);
    const sampler = setInterval(() => { peak = Math.max(peak, rssMb(agent.pid!)); }, 25);
    const big = new Uint8Array(64 * 1024).map((_, i) => i & 0xff);
    const TASKS = 300;
    const loadStart = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: 4 }, async () => { while (next++ < TASKS) await assign(big); }));
    const loadSec = (performance.now() - loadStart) / 1000;
    clearInterval(sampler);
    await sleep(1000);
    const afterRss = await steadyRss(agent.pid!);
    await sleep(POOL_IDLE_MS + 1000);
    const poolClosedRss = await steadyRss(agent.pid!);

    const vs = (x: number) => `${fmt(x / bareRss, 2)}x (+${fmt(x - bareRss, 1)} MB)`;
    table('Resident memory (MB), child processes measured in the same run', ['process', 'idle', 'under load (peak)', 'after load', `pool closed (${POOL_IDLE_MS / 1000} s idle)`, 'idle vs bare'], [
      ['bare node -e', fmt(bareRss, 1), '-', '-', '-', '1.00x'],
      ['node + agent modules loaded, not started', fmt(modsRss, 1), '-', '-', '-', vs(modsRss)],
      ['swarmlet agent (sim sensors)', fmt(idleRss, 1), fmt(peak, 1), fmt(afterRss, 1), fmt(poolClosedRss, 1), vs(idleRss)],
      ['swarmlet agent, node --max-semi-space-size=1', fmt(leanRss, 1), '-', '-', '-', vs(leanRss)],
    ]);
    table('Assignment -> signed result at the gateway (sha256 of 1 KiB, one at a time, loopback aedes)', ['measure', 'ms'], [
      ['agent start -> online', fmt(startMs, 0)],
      ['first task (starts the worker pool)', fmt(coldMs, 1)],
      ['p50', fmt(percentile(lat, 50), 2)],
      ['p99', fmt(percentile(lat, 99), 2)],
      ['max', fmt(lat.at(-1)!, 2)],
    ]);
    table('Throughput under load (sha256 of 64 KiB, 2 slots, 4 in flight)', ['tasks', 'seconds', 'tasks/s'], [[TASKS, fmt(loadSec, 2), fmt(TASKS / loadSec, 1)]]);
    console.log(`\nidle RSS target <= bare node + 20 MB (${fmt(bareRss + 20, 1)} MB): default ${fmt(idleRss, 1)} MB, small young generation ${fmt(leanRss, 1)} MB; the modules alone take +${fmt(modsRss - bareRss, 1)} MB`);
    json('agent', {
      rssMb: { bareNode: bareRss, modulesOnly: modsRss, agentIdle: idleRss, agentLoadPeak: peak, agentAfterLoad: afterRss, agentPoolClosed: poolClosedRss, agentIdleSmallSemiSpace: leanRss },
      ratios: { idleVsBare: idleRss / bareRss, idleDeltaMb: idleRss - bareRss, leanDeltaMb: leanRss - bareRss },
      latencyMs: { startToOnline: startMs, cold: coldMs, p50: percentile(lat, 50), p99: percentile(lat, 99), max: lat.at(-1) },
      load: { tasks: TASKS, seconds: loadSec, tasksPerSec: TASKS / loadSec },
    });
    agent.kill('SIGTERM');
    await new Promise((r) => agent.once('exit', r));
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
