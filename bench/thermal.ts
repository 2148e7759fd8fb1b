/**
 * bench/thermal: thermal-aware placement against naive placement, side by side in one run,
 * on two simulated fleets of 50 devices, 30 simulated minutes each:
 *   (a) 50 identical fanless Raspberry Pi 4s (pi4-bare);
 *   (b) a mixed fleet, 10 each of pi4-bare, pi4-heatsink, pi5-active, router, appliance-hub.
 *
 * Both arms run the real mesh as `swarmlet up` starts it (authenticating broker, gateway with
 * its SQLite store, real agents, real wasm, real receipts); devices run tasks at their
 * modelled speed (sim/cpu.ts), so a throttled device really is slower. The two arms of a
 * fleet run side by side, each in its own process, so both see the same host load.
 *   naive: the gateway fills every node's window of 3 x slots (`placement: 'fill'`) and the
 *          agents' thresholds sit above any reachable temperature (the firmware alone
 *          throttles), as in issue 16's A/B run;
 *   aware: the defaults (thermal placement, the agents' thermal governor).
 *
 * Workload (the same for both arms): an operator keeps its default quota of 16 jobs open;
 * each job is one frame of a zoom into the Mandelbrot set's seahorse valley, 4 x 4 tiles of
 * 16 x 16 pixels at 256 iterations; when a job finishes the next frame is submitted. Each job
 * has a deadline of 10 simulated minutes, and each task that long a time limit. Modelled speed: a Pi 4 core renders the mean tile
 * in 60 simulated seconds at full clock (the host does it in well under a millisecond, so the
 * host is never what sets the pace).
 *
 * Printed per arm: tasks completed, jobs completed, p50/p99 task latency (job submission to
 * accepted result, simulated seconds), firmware throttle-seconds (summed over devices),
 * seconds the governor held a clock down, peak temperature, modelled SoC energy.
 * Goals (issue 16): (a) aware >= 1.0x naive's completed tasks with >= 90% fewer throttle-
 * seconds; (b) >= 1.3x and >= 90% fewer.
 * Run: npm run bench -- thermal  (SWARMLET_BENCH_QUICK=1: 10 simulated minutes; SWARMLET_BENCH_TIME_SCALE=N, default 20)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalMesh, type LocalMesh } from '../sim/mesh.js';
import { loadCatalogue } from '../agent/runtime/catalogue.js';
import { createWorkerPool } from '../agent/runtime/pool.js';
import type { DeviceThermals } from '../sim/fleet.js';
import { fmt, json, percentile, table } from './lib.js';

const QUICK = process.env.SWARMLET_BENCH_QUICK === '1';
const TIME_SCALE = Number(process.env.SWARMLET_BENCH_TIME_SCALE ?? 20);
const SIM_MINUTES = QUICK ? 10 : 30;
const DEVICES = 50;
const OPEN_JOBS = 16; // DEFAULT_QUOTA.openJobsPerOperator
const TILES = 4; // per side: 16 tasks a job
const TILE_PX = 16;
const MAX_ITER = 256;
const TILE_SECONDS = 60; // a Pi 4 core at full clock, mean tile
const DEADLINE_S = 600;

const dir = mkdtempSync(join(tmpdir(), 'swarmlet-bench-thermal-'));

/** Frame k of the zoom: 16 tile inputs. */
function frame(k: number): Uint8Array<ArrayBuffer>[] {
  const span = 0.1 * 0.97 ** (k % 64);
  const [cx, cy] = [-0.7436, 0.1318];
  const step = span / (TILE_PX * TILES);
  const out: Uint8Array<ArrayBuffer>[] = [];
  for (let j = 0; j < TILES; j++) {
    for (let i = 0; i < TILES; i++) {
      const b = new Uint8Array(36);
      const v = new DataView(b.buffer);
      v.setFloat64(0, cx - span / 2 + i * TILE_PX * step, true);
      v.setFloat64(8, cy - span / 2 + j * TILE_PX * step, true);
      v.setFloat64(16, step, true);
      v.setUint32(24, TILE_PX, true);
      v.setUint32(28, TILE_PX, true);
      v.setUint32(32, MAX_ITER, true);
      out.push(b);
    }
  }
  return out;
}

/** The same tile at one pixel. */
function onePixel(tile: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  const b = tile.slice();
  const v = new DataView(b.buffer);
  v.setUint32(24, 1, true);
  v.setUint32(28, 1, true);
  return b;
}

/** Mean fuel of a tile over the first frames, measured on this host (sets the modelled speed). */
async function meanTileFuel(): Promise<number> {
  const wasm = loadCatalogue().byName('mandelbrot')!.wasm;
  const pool = await createWorkerPool({ size: 1 });
  try {
    let sum = 0;
    let n = 0;
    for (let k = 0; k < 8; k++) {
      for (const input of frame(k)) {
        const o = await pool.run(wasm, input, { fuel: 1e12, timeoutMs: 10_000 });
        if (!o.ok) throw new Error(`tile failed: ${o.error.message}`);
        sum += o.fuel;
        n++;
      }
    }
    return sum / n;
  } finally {
    await pool.close();
  }
}

interface Arm {
  fleet: 'a' | 'b';
  policy: 'naive' | 'aware';
  tasks: number;
  jobs: number;
  jobsFailed: number;
  p50: number;
  p99: number;
  throttledS: number;
  cappedS: number;
  peakC: number;
  energyWh: number;
  meanClock: number;
  tasksPerSec: number;
}

const NAIVE_THRESHOLDS = { warmC: 150, hotC: 160, criticalC: 170, hardLimitC: 180 };

async function waitOnline(mesh: LocalMesh, n: number): Promise<void> {
  const until = Date.now() + 60_000;
  while (Date.now() < until) {
    if (mesh.gateway.store && (await fetchNodes(mesh)) >= n) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('devices did not all come online');
}

async function fetchNodes(mesh: LocalMesh): Promise<number> {
  const r = await fetch(`${mesh.url}/api/nodes`, { headers: { authorization: `Bearer ${mesh.token}` } });
  const body = (await r.json()) as { nodes: Array<{ online: boolean; thermalState: string | null }> };
  return body.nodes.filter((x) => x.online && x.thermalState !== null).length;
}

async function runArm(fleet: 'a' | 'b', policy: 'naive' | 'aware', fuelRate: number): Promise<Arm> {
  const profiles = fleet === 'a' ? 'pi4-bare' : 'pi4-bare,pi4-heatsink,pi5-active,router,appliance-hub';
  // Task time limit: the job's deadline in device time (the default 10 s of wall clock is far
  // less than a modelled tile takes here: every run would be killed).
  const timeoutMs = Math.round((DEADLINE_S * 1000) / TIME_SCALE);
  const mesh = await startLocalMesh({
    dataDir: join(dir, `${fleet}-${policy}`), devices: DEVICES,
    fleet: {
      profiles, timeScale: TIME_SCALE, fuelRate,
      agent: { limits: { timeoutMs }, ...(policy === 'naive' ? { thresholds: NAIVE_THRESHOLDS } : {}) },
    },
    gateway: { limits: { timeoutMs }, ...(policy === 'naive' ? { placement: 'fill' as const } : {}) },
  });
  try {
    await waitOnline(mesh, DEVICES);
    const gw = mesh.gateway;
    // Warm-up, not measured: every device fetches the module and the pools compile it, with
    // tiles of one pixel (a moment of modelled work: the devices stay at idle temperature).
    const warm = await gw.submitJob({ task: 'mandelbrot', inputs: frame(0).flatMap((t) => Array.from({ length: 16 }, () => onePixel(t))), spotCheck: 0.05 });
    await gw.waitForJob(warm.id, 120_000);
    await new Promise((r) => setTimeout(r, 1000));
    const before = await mesh.fleet!.thermals();
    const t0 = Date.now();
    const endAt = t0 + (SIM_MINUTES * 60 * 1000) / TIME_SCALE;
    let k = 0;
    const submitted: string[] = [];
    // The operator's pipeline: OPEN_JOBS frames in flight, the next one as soon as one ends.
    const lane = async (): Promise<void> => {
      while (Date.now() < endAt) {
        const { id } = await gw.submitJob({ task: 'mandelbrot', inputs: frame(k++), deadlineMs: Math.round((DEADLINE_S * 1000) / TIME_SCALE) });
        submitted.push(id);
        try { await gw.waitForJob(id, Math.max(1, endAt - Date.now())); } catch { /* still open at the end */ }
      }
    };
    // The devices' records at the end of the window exactly (the lanes may return a little later).
    const atEnd = new Promise<DeviceThermals[]>((r) => setTimeout(() => r(mesh.fleet!.thermals()), endAt - Date.now()));
    await Promise.all(Array.from({ length: OPEN_JOBS }, lane));
    const after = await atEnd;
    const stats = measure(mesh, t0, endAt, submitted);
    const byIndex = new Map(before.map((d) => [d.index, d]));
    const delta = (f: (d: DeviceThermals) => number) => after.reduce((s, d) => s + f(d) - f(byIndex.get(d.index) ?? d), 0);
    return {
      fleet, policy, ...stats,
      throttledS: delta((d) => d.throttledS), cappedS: delta((d) => d.cappedS),
      peakC: Math.max(...after.map((d) => d.peakC)), energyWh: delta((d) => d.energyJ) / 3600,
      meanClock: delta((d) => d.clockS) / Math.max(1e-9, delta((d) => d.timeS)),
    };
  } finally {
    await mesh.stop();
  }
}

/** Tasks whose accepted result came in during the window, and their latency from job submission (simulated s). */
function measure(mesh: LocalMesh, t0: number, endAt: number, jobs: string[]) {
  const db = mesh.gateway.store.db;
  const lat: number[] = [];
  let done = 0;
  let failed = 0;
  const q = db.prepare(`SELECT j.created_at AS created, j.state AS state, r.accepted_at AS at FROM tasks t
    JOIN jobs j ON j.id = t.job_id JOIN receipts r ON r.id = t.receipt_id WHERE t.job_id = ? AND t.state = 'done'`);
  const jq = db.prepare('SELECT state, finished_at FROM jobs WHERE id = ?');
  for (const id of jobs) {
    for (const row of q.all(id) as Array<{ created: number; state: string; at: number }>) {
      if (row.at > endAt) continue;
      lat.push(((row.at - row.created) / 1000) * TIME_SCALE);
    }
    const j = jq.get(id) as { state: string; finished_at: number | null } | undefined;
    if (j?.finished_at && j.finished_at <= endAt) {
      if (j.state === 'done') done++;
      else failed++;
    }
  }
  lat.sort((a, b) => a - b);
  if (process.env.SWARMLET_BENCH_DEBUG) debugTimes(mesh, jobs);
  return {
    tasks: lat.length, jobs: done, jobsFailed: failed, p50: percentile(lat, 50), p99: percentile(lat, 99),
    tasksPerSec: lat.length / ((endAt - t0) / 1000),
  };
}

/** Where the time goes (SWARMLET_BENCH_DEBUG=1): gateway queue wait, device time, attempts per task. */
function debugTimes(mesh: LocalMesh, jobs: string[]): void {
  const db = mesh.gateway.store.db;
  const rows = db.prepare(`SELECT t.id AS task, j.created_at AS created, a.attempt AS attempt, a.node_id AS node, a.lease_until AS until, a.state AS state,
    r.accepted_at AS at FROM tasks t JOIN jobs j ON j.id = t.job_id JOIN attempts a ON a.task_id = t.id LEFT JOIN receipts r ON r.id = a.receipt_id
    WHERE t.job_id IN (${jobs.map(() => '?').join(',')})`).all(...jobs) as Array<{ task: string; created: number; attempt: number; node: string; until: number; state: string; at: number | null }>;
  const leaseMs = 30_000;
  const wait: number[] = [];
  const run: number[] = [];
  const attempts = new Map<string, number>();
  const states = new Map<string, number>();
  for (const r of rows) {
    attempts.set(r.task, (attempts.get(r.task) ?? 0) + 1);
    states.set(r.state, (states.get(r.state) ?? 0) + 1);
    if (r.attempt === 1) wait.push(((r.until - leaseMs - r.created) / 1000) * TIME_SCALE);
    if (r.at) run.push(((r.at - (r.until - leaseMs)) / 1000) * TIME_SCALE);
  }
  const q = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return `p50 ${fmt(percentile(s, 50), 1)} p90 ${fmt(percentile(s, 90), 1)} p99 ${fmt(percentile(s, 99), 1)} max ${fmt(s.at(-1) ?? 0, 1)}`; };
  const multi = [...attempts.values()].filter((n) => n > 1).length;
  const profileOf = new Map(mesh.fleet!.devices.map((d) => [d.nodeId, d.profile]));
  const per = new Map<string, number[]>();
  for (const r of rows) {
    const p = profileOf.get(r.node) ?? '?';
    if (!per.has(p)) per.set(p, []);
    if (r.at) per.get(p)!.push(((r.at - (r.until - leaseMs)) / 1000) * TIME_SCALE);
  }
  for (const [p, xs] of per) console.log(`  ${p}: ${xs.length} results, lease to result ${q(xs)}`);
  const jrows = db.prepare(`SELECT id, created_at, finished_at, state FROM jobs WHERE id IN (${jobs.map(() => '?').join(',')})`).all(...jobs) as Array<{ id: string; created_at: number; finished_at: number | null; state: string }>;
  const dur = jrows.filter((j) => j.finished_at).map((j) => ((j.finished_at! - j.created_at) / 1000) * TIME_SCALE);
  console.log(`  job durations (sim s): ${q(dur)}`);
  const slow = jrows.filter((j) => j.finished_at).sort((a, b) => (b.finished_at! - b.created_at) - (a.finished_at! - a.created_at))[0];
  if (slow) {
    const t0 = slow.created_at;
    const rs = rows.filter((r) => r.task.startsWith(slow.id + '.'));
    const last = new Map<string, number>();
    for (const r of rs) last.set(r.task, Math.max(last.get(r.task) ?? 0, r.at ?? 0));
    console.log(`  slowest job: ${rs.length} attempts; per attempt (task, lease at, result at, node, state):`);
    for (const r of rs.sort((a, b) => (a.at ?? 1e15) - (b.at ?? 1e15)).slice(-6)) {
      console.log(`    ${r.task.split('.')[1]} ${fmt(((r.until - leaseMs - t0) / 1000) * TIME_SCALE, 1)} ${r.at ? fmt(((r.at - t0) / 1000) * TIME_SCALE, 1) : '-'} ${r.node.slice(0, 6)} ${r.state}`);
    }
    console.log(`    job finished at ${fmt(((slow.finished_at! - t0) / 1000) * TIME_SCALE, 1)}`);
  }
  console.log(`  queue wait (first lease - submit, sim s): ${q(wait)}`);
  console.log(`  lease to result (sim s): ${q(run)}`);
  console.log(`  tasks with more than one attempt: ${multi} of ${attempts.size}; attempt states ${JSON.stringify(Object.fromEntries(states))}`);
}

/** One arm in a child process (so both arms of a fleet run side by side under the same load). */
function runChild(arm: string, fuelRate: number): Promise<Arm> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--arm', arm, '--fuel-rate', String(fuelRate)], {
      stdio: ['ignore', 'pipe', 'inherit'], env: { SWARMLET_LOG_LEVEL: 'error', ...process.env },
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (process.env.SWARMLET_BENCH_DEBUG) process.stdout.write(out.split('\n').filter((l) => !l.startsWith('ARM ')).join('\n'));
      const line = out.split('\n').find((l) => l.startsWith('ARM '));
      if (code !== 0 || !line) reject(new Error(`arm ${arm} failed (exit ${code})`));
      else resolve(JSON.parse(line.slice(4)) as Arm);
    });
  });
}

const argArm = process.argv.indexOf('--arm');
if (argArm > 0) {
  // Child: run one arm, print it as one line.
  const [fleet, policy] = process.argv[argArm + 1]!.split('-') as ['a' | 'b', 'naive' | 'aware'];
  const rate = Number(process.argv[process.argv.indexOf('--fuel-rate') + 1]);
  const arm = await runArm(fleet, policy, rate);
  rmSync(dir, { recursive: true, force: true });
  console.log(`ARM ${JSON.stringify(arm)}`);
  process.exit(0);
}

const tileFuel = await meanTileFuel();
const fuelRate = tileFuel / TILE_SECONDS;
const arms: Arm[] = [];
// SWARMLET_BENCH_ARMS=a-aware,b-naive runs only those (for investigation; the ratios need both arms of a fleet).
const only = process.env.SWARMLET_BENCH_ARMS?.split(',').map((s) => s.trim()).filter(Boolean);
for (const fleet of ['a', 'b'] as const) {
  const t = Date.now();
  const pair = (['naive', 'aware'] as const).filter((p) => !only || only.includes(`${fleet}-${p}`));
  arms.push(...(await Promise.all(pair.map((p) => runChild(`${fleet}-${p}`, fuelRate)))));
  if (pair.length) process.stderr.write(`bench/thermal: fleet ${fleet} (${pair.join(' and ')} side by side) done in ${fmt((Date.now() - t) / 1000, 1)} s\n`);
}
rmSync(dir, { recursive: true, force: true });

const get = (f: 'a' | 'b', p: 'naive' | 'aware') => arms.find((x) => x.fleet === f && x.policy === p)!;
const name = { a: '(a) 50 x pi4-bare', b: '(b) mixed fleet' };
table(`Thermal-aware vs naive placement: ${SIM_MINUTES} simulated minutes, time scale ${TIME_SCALE}, ${DEVICES} devices`,
  ['fleet / policy', 'tasks', 'jobs (failed)', 'p50 s', 'p99 s', 'throttle-s', 'capped-s', 'peak C', 'mean clock', 'energy Wh', 'J / task'],
  arms.map((a) => [
    `${name[a.fleet]} ${a.policy}`, fmt(a.tasks), `${fmt(a.jobs)} (${a.jobsFailed})`, fmt(a.p50, 0), fmt(a.p99, 0), fmt(a.throttledS),
    fmt(a.cappedS), fmt(a.peakC, 1), fmt(a.meanClock, 3), fmt(a.energyWh, 1), fmt((a.energyWh * 3600) / Math.max(1, a.tasks), 0),
  ]));
const ratios = (['a', 'b'] as const).filter((f) => arms.some((a) => a.fleet === f && a.policy === 'naive') && arms.some((a) => a.fleet === f && a.policy === 'aware')).map((f) => {
  const n = get(f, 'naive');
  const w = get(f, 'aware');
  return {
    fleet: f, work: w.tasks / Math.max(1, n.tasks),
    throttleCut: n.throttledS > 0 ? 1 - w.throttledS / n.throttledS : (w.throttledS === 0 ? 1 : 0),
    p50: w.p50 / n.p50, p99: w.p99 / n.p99,
  };
});
table('Aware / naive', ['fleet', 'completed work', 'throttle-seconds cut', 'p50 latency', 'p99 latency', 'goal'],
  ratios.map((r) => [name[r.fleet], `${fmt(r.work, 2)}x`, `${fmt(r.throttleCut * 100, 1)}%`, `${fmt(r.p50, 2)}x`, `${fmt(r.p99, 2)}x`,
    r.fleet === 'a' ? '>= 1.0x, >= 90%' : '>= 1.3x, >= 90%']));
console.log(`modelled speed: a Pi 4 core renders the mean tile (${fmt(tileFuel)} fuel) in ${TILE_SECONDS} s at full clock (${fmt(fuelRate)} fuel/s)`);
json('thermal', { timeScale: TIME_SCALE, simMinutes: SIM_MINUTES, devices: DEVICES, openJobs: OPEN_JOBS, tilesPerJob: TILES * TILES, tileFuel, fuelRate, arms, ratios });
