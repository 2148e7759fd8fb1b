/**
 * bench/quota: how much memory one operator can make a gateway hold, started the documented
 * way (`swarmlet up`, here with no devices so every job stays open: the worst case).
 *   - baseline: quotas lifted (what the gateway allowed before them): three 100,000-task
 *     jobs of 16-byte inputs, the attack of issue 10.
 *   - default quotas: the same operator submits jobs of the largest size allowed until
 *     refused (429), once with 16-byte inputs (the task-count limits bind) and once with
 *     4 KiB inputs (the byte limits bind).
 * Each run is its own `swarmlet up` child process; RSS is read from /proc, peak included.
 * Run: npm run bench -- quota
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_QUOTA } from '../gateway/access/quota.js';
import { fmt, json, table } from './lib.js';

const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;
const hwmMb = (pid: number) => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;

interface Run { name: string; accepted: number; tasks: number; refusedWith: string; idleMb: number; heldMb: number; peakMb: number; seconds: number }

async function up(extra: string[]): Promise<{ child: ChildProcess; url: string; token: string; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'swarmlet-bench-quota-'));
  const child = spawn(process.execPath, [CLI, 'up', '--data', dir, '--port', '0', '--mqtt-port', '0', '--devices', '0', ...extra], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  for (let i = 0; i < 300 && !/dashboard \+ API\s+(\S+)\//.test(out); i++) await sleep(100);
  const url = /dashboard \+ API\s+(\S+)\//.exec(out)?.[1];
  if (!url) throw new Error(`swarmlet up did not start:\n${out}`);
  return { child, url, token: readFileSync(join(dir, 'operator.token'), 'utf8').trim(), dir };
}

function jobBody(tasks: number, size: number, salt: number): string {
  const inputs: string[] = [];
  for (let i = 0; i < tasks; i++) {
    const b = Buffer.alloc(size);
    b.writeUInt32LE(salt, 0);
    b.writeUInt32LE(i, 4);
    inputs.push(b.toString('base64'));
  }
  return JSON.stringify({ task: 'sha256', inputs });
}

async function run(name: string, extra: string[], tasksPerJob: number, size: number, maxJobs: number): Promise<Run> {
  const g = await up(extra);
  const pid = g.child.pid!;
  try {
    await sleep(1500);
    const idleMb = rssMb(pid);
    let peak = hwmMb(pid);
    const t0 = Date.now();
    let accepted = 0;
    let refusedWith = '-';
    for (let j = 0; j < maxJobs; j++) {
      const res = await fetch(`${g.url}/api/jobs`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${g.token}` }, body: jobBody(tasksPerJob, size, j) });
      peak = Math.max(peak, hwmMb(pid));
      if (res.status !== 201) { refusedWith = `${res.status} ${((await res.json()) as { error: string }).error.slice(0, 60)}`; break; }
      accepted++;
    }
    const seconds = (Date.now() - t0) / 1000;
    await sleep(2000);
    return { name, accepted, tasks: accepted * tasksPerJob, refusedWith, idleMb, heldMb: rssMb(pid), peakMb: Math.max(peak, hwmMb(pid)), seconds };
  } finally {
    g.child.kill('SIGTERM');
    await new Promise((r) => g.child.once('exit', r));
    rmSync(g.dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const lifted = `tasksPerJob=100000,bytesPerJob=${2 ** 40},openJobsPerOperator=1000,openTasksPerOperator=${1e9},openBytesPerOperator=${2 ** 50},openJobs=1000,openTasks=${1e9},openBytes=${2 ** 50}`;
  const perJob4k = Math.floor(DEFAULT_QUOTA.bytesPerJob / 4096);
  const runs = [
    await run('no quotas (baseline): 3 x 100,000 tasks, 16 B', ['--quota', lifted], 100_000, 16, 3),
    await run(`default quotas: jobs of ${DEFAULT_QUOTA.tasksPerJob} tasks, 16 B, until refused`, [], DEFAULT_QUOTA.tasksPerJob, 16, 50),
    await run(`default quotas: jobs of ${perJob4k} tasks, 4 KiB, until refused`, [], perJob4k, 4096, 50),
  ];
  table('One operator filling a gateway (swarmlet up, no devices: every job stays open)', ['run', 'jobs', 'tasks held', 'refused with', 'idle MB', 'held MB', 'peak MB', 's'],
    runs.map((r) => [r.name, r.accepted, fmt(r.tasks), r.refusedWith, fmt(r.idleMb), fmt(r.heldMb), fmt(r.peakMb), fmt(r.seconds, 1)]));
  const base = runs[0]!;
  for (const r of runs.slice(1)) console.log(`${r.name}: peak ${fmt(r.peakMb / base.peakMb, 2)}x the baseline's, held ${fmt(r.heldMb / base.heldMb, 2)}x`);
  json('quota', { defaults: DEFAULT_QUOTA, runs });
}

main().catch((e) => { console.error(e); process.exit(1); });
