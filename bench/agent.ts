/**
 * bench/agent: the device agent's footprint with its DEFAULT configuration (calibration
 * included, tasks in the runner process that ends after runnerIdleMs), beside a bare Node
 * process, all measured in the same run:
 *   - idle: 60 s after start; under load (peak, 2 slots); idle again 60 s after the load ends.
 *   - the agent started the documented ways: the device package (dist-agent/swarmlet.mjs, when
 *     `npm run build:agent` has built it) as the systemd unit of `swarmlet service install`
 *     starts it (`node FILE agent`, the unit's Environment= lines) and by hand (`swarmlet agent`:
 *     the bin run as a program, through its launcher, agent/malloc-tunables.ts); the full
 *     package (bin/swarmlet.js) the same two ways.
 *   - memory of the agent plus its runner process: the agent's RSS + the runner's private
 *     memory (USS: pages only it uses; the node binary's pages both map count once, as on a
 *     device). The plain RSS sum, which counts them twice, is printed too.
 *   - time from publishing an assignment to receiving its signed result (sha256 of 1 KiB,
 *     one at a time): p50/p99, and throughput with 64 KiB inputs, 4 in flight.
 * Goals (issue 14): idle <= bare node + 10 MB; under load with 2 slots <= bare node + 60 MB;
 * the table puts each sample beside bare node and its goal, and a second one splits the
 * agent's resident memory by kind (node binary pages, anonymous, malloc heap, libraries).
 * Run: npm run bench -- agent   (about 10 minutes: the waits are part of the definition;
 * BENCH_QUICK=1 skips the full-JIT run, BENCH_ONLY=device-unit,device,full-unit,full,fulljit picks runs)
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
import { systemdUnit } from '../agent/service-files.js';
import { loadCatalogue } from '../agent/runtime/catalogue.js';
import { open, seal } from '../protocol/envelope.js';
import { sha256, toHex } from '../protocol/hash.js';
import { generateIdentity } from '../protocol/identity.js';
import { assignMessage, type Assignment } from '../protocol/messages.js';
import { resultsOf } from '../protocol/results.js';
import { filters, topics } from '../protocol/topics.js';
import { fmt, json, percentile, table } from './lib.js';

const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/swarmlet.js', import.meta.url));
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

/**
 * Resident memory of a process by kind (MB), from /proc/PID/smaps: the node binary's pages
 * (file-backed, shared with every node process), anonymous memory (V8's heaps, thread
 * stacks, malloc arenas of threads), the main malloc heap ([heap]) and other libraries.
 */
interface Breakdown { binary: number; anon: number; malloc: number; libs: number }
function breakdown(pid: number): Breakdown {
  const b: Breakdown = { binary: 0, anon: 0, malloc: 0, libs: 0 };
  try {
    let kind: keyof Breakdown = 'anon';
    for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
      const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
      if (head) {
        const name = head[1]!;
        kind = name === '[heap]' ? 'malloc' : name === '' || name.startsWith('[') ? 'anon' : /\/node$/.test(name) || name === process.execPath ? 'binary' : 'libs';
        continue;
      }
      const rss = /^Rss:\s+(\d+) kB/.exec(line);
      if (rss) b[kind] += Number(rss[1]) / 1024;
    }
  } catch { /* gone */ }
  return b;
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
    // How the agent is started: `node FILE agent` with the environment `swarmlet service install`'s
    // unit gives it, or FILE run as a program (`swarmlet agent` in a shell) with this environment.
    const unitEnv = Object.fromEntries([...systemdUnit({ node: process.execPath, script: BUNDLE, brokers: [url], trustedPublishers: [], region: REGION, dataDir: '/var/lib/swarmlet', configFile: '/etc/swarmlet/agent.json' })
      .matchAll(/^Environment=([A-Z_]+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
    const shellEnv = { ...process.env };
    delete shellEnv.GLIBC_TUNABLES;
    const runAgent = async (name: string, slug: string, entry: string, how: 'unit' | 'shell', env: Record<string, string> = {}) => {
      const cfg = join(dir, `${slug}.json`);
      // Only what a device must set (broker, trust, data folder) plus the 2 slots of the goal;
      // no fuelRate (calibration runs), runner and runnerIdleMs at their defaults.
      writeFileSync(cfg, JSON.stringify({
        brokers: [url], region: REGION, dataDir: join(dir, slug), profile: 'pi4-bare', slots: 2,
        trustedPublishers: [toHex(gwId.publicKey)],
      }));
      const args = ['agent', '--config', cfg];
      const p = how === 'unit'
        ? spawn(process.execPath, [entry, ...args], { stdio: 'ignore', env: { ...shellEnv, ...unitEnv, SWARMLET_LOG_LEVEL: 'warn', ...env } })
        : spawn(entry, args, { stdio: 'ignore', env: { ...shellEnv, SWARMLET_LOG_LEVEL: 'warn', ...env } });
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
      const idleParts = breakdown(p.pid!);
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
      const afterParts = breakdown(p.pid!);
      p.kill('SIGTERM');
      await new Promise((r) => p.once('exit', r));
      return { name, startMs, idle, idleParts, peak, after, afterParts, bareNow, coldMs, lat, tasks: TASKS, loadSec };
    };

    // BENCH_ONLY=device-unit,device,full-unit,full,fulljit picks runs (default: all; BENCH_QUICK=1 skips fulljit).
    const only = process.env.BENCH_ONLY?.split(',');
    const want = (slug: string) => !only || only.includes(slug);
    const runs = [];
    if (existsSync(BUNDLE)) {
      if (want('device-unit')) runs.push(await runAgent('device package, as its systemd unit starts it', 'device-unit', BUNDLE, 'unit'));
      if (want('device')) runs.push(await runAgent('device package, `swarmlet agent` in a shell', 'device', BUNDLE, 'shell'));
    } else console.log('(dist-agent/ not built: npm run build:agent to measure the device package too)');
    if (want('full-unit')) runs.push(await runAgent('full package, as its systemd unit starts it', 'full-unit', CLI, 'unit'));
    if (want('full')) runs.push(await runAgent('full package, `swarmlet agent` in a shell', 'full', BIN, 'shell'));
    // The agent process's JIT limit off: what it costs in speed and saves in memory.
    if (want('fulljit') && !process.env.BENCH_QUICK) runs.push(await runAgent('full package by hand, SWARMLET_AGENT_FULL_JIT=1', 'fulljit', BIN, 'shell', { SWARMLET_AGENT_FULL_JIT: '1' }));
    bareRss = Math.max(...runs.map((r) => r.bareNow));

    const bareParts = breakdown(bare.pid!);

    // Side by side: bare node, the agent (its RSS + the runner process's private memory), the goal.
    const GOALS = { idle: 10, load: 60 };
    const rows: string[][] = [['bare node -e', '', fmt(bareRss, 1), '-', '-', '-', '-', '-']];
    const verdicts: Record<string, Record<string, boolean>> = {};
    for (const r of runs) {
      const points: [string, Sample, number][] = [
        [`idle ${SETTLE_MS / 1000} s after start`, r.idle, GOALS.idle],
        ['load peak (2 slots)', r.peak, GOALS.load],
        [`idle ${SETTLE_MS / 1000} s after load`, r.after, GOALS.idle],
      ];
      verdicts[r.name] = {};
      for (const [what, x, goal] of points) {
        const met = x.tree - bareRss <= goal;
        verdicts[r.name]![what] = met;
        rows.push([r.name, what, fmt(x.tree, 1), fmt(x.agent, 1), fmt(x.runnerUss, 1), `+${fmt(x.tree - bareRss, 1)}`, `<= +${goal} (${fmt(bareRss + goal, 1)})`, met ? 'met' : 'NOT met']);
      }
    }
    table(`Memory (MB) against the issue-14 goals; agent = its RSS + the runner process's private memory (pages only it uses); bare node ${fmt(bareRss, 1)} MB RSS`,
      ['agent', 'when', 'total', 'agent RSS', 'runner', 'vs bare node', 'goal', ''], rows);
    // Where the agent process's own MB are, beside bare node's.
    const partsRow = (name: string, b: Breakdown) => [name, fmt(b.binary, 1), fmt(b.anon, 1), fmt(b.malloc, 1), fmt(b.libs, 1), fmt(b.binary + b.anon + b.malloc + b.libs, 1)];
    table('Resident memory by kind (MB): node binary pages (shared with any node process), anonymous (V8 heaps, stacks, thread arenas), main malloc heap, other libraries',
      ['process', 'node binary', 'anonymous', 'malloc heap', 'libraries', 'sum'],
      [partsRow('bare node -e', bareParts), ...runs.flatMap((r) => [partsRow(`${r.name}, idle`, r.idleParts), partsRow(`${r.name}, after load`, r.afterParts)])]);
    table('Assignment -> signed result at the gateway (sha256 of 1 KiB, one at a time, loopback aedes)', ['agent', 'start -> online', 'first task (starts runner)', 'p50', 'p99', 'max', 'load tasks/s (64 KiB, 4 in flight)'],
      runs.map((r) => [r.name, fmt(r.startMs, 0), fmt(r.coldMs, 1), fmt(percentile(r.lat, 50), 2), fmt(percentile(r.lat, 99), 2), fmt(r.lat.at(-1)!, 2), fmt(r.tasks / r.loadSec, 1)]));
    json('agent', {
      bareNodeMb: bareRss, goalsMb: GOALS, bareParts,
      runs: runs.map((r) => ({
        name: r.name, idleMb: r.idle, loadPeakMb: r.peak, afterLoadMb: r.after, idleParts: r.idleParts, afterParts: r.afterParts, met: verdicts[r.name],
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
