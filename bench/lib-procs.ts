/**
 * Processes for the benchmarks that start the mesh the documented way (bench/scale,
 * bench/console): start with line counting and a log tail, stop with a grace period, their
 * CPU and memory from /proc, and small waiting helpers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';

/** Clock ticks per second in /proc/PID/stat (USER_HZ, 100 on Linux). */
const CLK_TCK = 100;

export interface Proc {
  name: string;
  child: ChildProcess;
  /** Log lines by a key the caller's counter picked (e.g. refusal reasons). */
  counts: Map<string, number>;
  tail: string[];
  exited: Promise<number | null>;
}

export type LineCounter = (line: string, counts: Map<string, number>) => void;

/** SWARMLET_BENCH_PROF=broker,gateway,sim-0: those node processes write a CPU profile (--cpu-prof) into SWARMLET_BENCH_PROF_DIR. */
const PROF = new Set((process.env.SWARMLET_BENCH_PROF ?? '').split(',').filter(Boolean));

export function start(name: string, cmd: string, args: string[], count?: LineCounter, env: Record<string, string> = {}): Proc {
  if (PROF.has(name) && cmd === process.execPath) args = ['--cpu-prof', '--cpu-prof-dir', process.env.SWARMLET_BENCH_PROF_DIR ?? tmpdir(), ...args];
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SWARMLET_LOG_LEVEL: 'warn', ...env } });
  const p: Proc = { name, child, counts: new Map(), tail: [], exited: new Promise((r) => child.once('exit', (code) => r(code))) };
  let buf = '';
  const onData = (d: Buffer) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      p.tail.push(line);
      if (p.tail.length > 20) p.tail.shift();
      count?.(line, p.counts);
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  return p;
}

export async function stop(p: Proc | undefined, signal: NodeJS.Signals = 'SIGTERM', graceMs = 15_000): Promise<void> {
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill(signal);
  const t = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
  await p.exited;
  clearTimeout(t);
}

/** CPU seconds (user + system, every thread) of a live process. */
export function cpu(pid: number | undefined): number {
  if (!pid) return NaN;
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return NaN;
  }
}

export function rssMB(pid: number | undefined): number {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

export const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export async function until<T>(what: string, f: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs: number, stepMs = 200): Promise<T | undefined> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) {
      process.stderr.write(`  (timed out after ${timeoutMs} ms waiting for ${what})\n`);
      return undefined;
    }
    await sleep(stepMs);
  }
}

