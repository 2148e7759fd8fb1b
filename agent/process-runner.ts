/**
 * The agent's default TaskRunner: tasks run in a child process (agent/runner-host.ts)
 * started on first use and ended after `idleCloseMs` without tasks. The agent's own
 * process never holds a worker thread, a compiled module or binaryen, so once a burst of
 * work is over it is back to its idle size: memory freed inside a long-lived process stays
 * resident (malloc keeps the arenas of ended threads), a process that exits gives all of it
 * back. The cost is a cold start (a Node process, ~0.1 s here, ~1 s on a Pi) after each idle
 * spell, and a message over a pipe per task.
 *
 * A module's bytes cross the pipe once per process; later runs name it by hash.
 * If the process dies, the runs in flight reject (the agent signs no receipt; their leases
 * expire and the gateway offers them again) and the next run starts a new one.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sha256Hex } from '../protocol/hash.js';
import type { Logger } from '../util/log.js';
import { MALLOC_TUNABLES } from './malloc-tunables.js';
import { compactNow, exposedGc, GarbageBudget } from './runtime/gc-budget.js';
import { Lru } from './runtime/lru.js';
import { resolveLimits } from './runtime/limits.js';
import type { RunLimits, RunOutcome, TaskRunner } from './runtime/types.js';

export type HostRequest = { t: 'run'; id: number; key: string; module: Uint8Array | null; input: Uint8Array; limits: RunLimits; expectedHash: Uint8Array | null };
export type HostReply =
  | { t: 'ran'; id: number; outcome: RunOutcome }
  | { t: 'missing'; id: number }
  | { t: 'failed'; id: number; message: string };

const HOST = fileURLToPath(new URL('./runner-host.js', import.meta.url));
/** Beyond a task's own deadline: instrumenting a new module (up to 30 s) and compiling it. */
const WATCHDOG_SLACK_MS = 60_000;
const GC_EVERY_BYTES = 2 << 20;

interface Pending { req: HostRequest; module: Uint8Array; resolve: (o: RunOutcome) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }
interface Host { child: ChildProcess; pending: Map<number, Pending>; sent: Lru<string, true>; gone: boolean }

export interface ProcessRunnerOptions {
  /** End the process after this long without tasks (0 = keep it). */
  idleCloseMs: number;
  /** Where the process keeps modules it metered itself (else only the shipped catalogue is pre-metered). */
  meteredDir?: string;
  logger?: Logger;
}

/**
 * How to start Node for the child: this process's own binary, unless SWARMLET_RUNNER_PREFIX
 * names a launcher (an emulator such as `qemu-aarch64-static` where binfmt_misc is absent).
 */
function launcher(): { execPath: string; execArgv: string[] } {
  // A small young generation: each task's input arrives as a fresh buffer, and V8 would
  // otherwise grow the nursery to 16 MB+ under a burst (~15-20 MB more resident, measured).
  // --expose-gc: the runner collects task garbage by the byte (runtime/gc-budget.ts).
  const execArgv = ['--max-semi-space-size=1', '--expose-gc', ...process.execArgv];
  const prefix = (process.env.SWARMLET_RUNNER_PREFIX ?? '').split(' ').filter(Boolean);
  if (prefix.length === 0) return { execPath: process.execPath, execArgv };
  return { execPath: prefix[0]!, execArgv: [...prefix.slice(1), process.execPath, ...execArgv] };
}

/**
 * A compacting full collection in this process when a burst of work is over: the burst's
 * task inputs and results are external buffers that a young-generation collection promotes
 * instead of freeing, and without new allocation no major GC would come to free them for a
 * long time; compacting gives back the old-space pages they leave half empty (gc-budget.ts).
 */
function collectAfterBurst(): void {
  compactNow();
}

export class ProcessRunner implements TaskRunner {
  private host: Host | null = null;
  private nextId = 1;
  private active = 0;
  private idleTimer: NodeJS.Timeout | null = null;
  private closed = false;
  /**
   * Each task's input is garbage here about three times over (the assignment as received,
   * its decoded copy, the serialized message to the runner); collect incrementally every
   * few MB of it rather than after V8's ~64 MB of external memory (runtime/gc-budget.ts).
   */
  private readonly garbage = new GarbageBudget(GC_EVERY_BYTES, 'async', exposedGc() ?? undefined);
  /** Processes started so far (for tests and the benchmark). */
  starts = 0;

  constructor(public size: number, private readonly opts: ProcessRunnerOptions) {}

  /** Set the number of slots; a running process keeps its size until it is next started. */
  resize(size: number): void {
    this.size = size;
  }

  get started(): boolean {
    return this.host !== null;
  }

  /** The child's pid while it runs (for tests and the benchmark). */
  get pid(): number | undefined {
    return this.host?.child.pid;
  }

  private start(): Host {
    const { execPath, execArgv } = launcher();
    const child = fork(HOST, [JSON.stringify({ size: this.size, ...(this.opts.meteredDir ? { meteredDir: this.opts.meteredDir } : {}) })], {
      execPath, execArgv, serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      // Task inputs and outputs get pages of their own, given back when freed (malloc-tunables.ts).
      env: { ...process.env, GLIBC_TUNABLES: process.env.GLIBC_TUNABLES ?? MALLOC_TUNABLES },
    });
    this.starts++;
    const host: Host = { child, pending: new Map(), sent: new Lru(16), gone: false };
    // An idle runner process must not keep the agent's event loop alive; a busy one does.
    child.unref();
    child.channel?.unref();
    const gone = (why: string) => {
      if (host.gone) return;
      host.gone = true;
      if (this.host === host) this.host = null;
      for (const p of host.pending.values()) { clearTimeout(p.timer); p.reject(new Error(`task runner process ${why}`)); }
      host.pending.clear();
    };
    child.on('message', (r: HostReply) => this.onReply(host, r));
    child.on('error', (e) => gone(`failed: ${e.message}`));
    child.on('exit', (code, signal) => {
      if (host.pending.size) this.opts.logger?.warn({ code, signal, pending: host.pending.size }, 'task runner process exited with tasks in flight');
      gone(`exited (${signal ?? code})`);
    });
    return host;
  }

  private onReply(host: Host, r: HostReply): void {
    const p = host.pending.get(r?.id);
    if (!p) return;
    if (r.t === 'missing') {
      // The process dropped the module from its cache: send it again with the bytes.
      host.sent.set(p.req.key, true);
      host.child.send({ ...p.req, module: p.module } satisfies HostRequest);
      return;
    }
    host.pending.delete(r.id);
    clearTimeout(p.timer);
    if (host.pending.size === 0) host.child.channel?.unref();
    if (r.t === 'ran') p.resolve(r.outcome);
    else p.reject(new Error(r.message));
  }

  async run(module: Uint8Array, input: Uint8Array, limits?: Partial<RunLimits>, opts: { expectedHash?: Uint8Array } = {}): Promise<RunOutcome> {
    if (this.closed) throw new Error('task runner is closed');
    this.active++;
    if (this.idleTimer) { clearTimeout(this.idleTimer); this.idleTimer = null; }
    this.garbage.add(3 * input.byteLength);
    try {
      const host = (this.host ??= this.start());
      const lim = resolveLimits(limits);
      const key = sha256Hex(module);
      const known = host.sent.get(key) !== undefined;
      if (!known) host.sent.set(key, true);
      const req: HostRequest = { t: 'run', id: this.nextId++, key, module: known ? null : module, input, limits: lim, expectedHash: opts.expectedHash ?? null };
      return await new Promise<RunOutcome>((resolve, reject) => {
        // The pool enforces the deadline; this only catches a process that stopped answering.
        const timer = setTimeout(() => {
          this.opts.logger?.warn({ timeoutMs: lim.timeoutMs }, 'task runner process stopped answering; ending it');
          host.child.kill('SIGKILL');
        }, lim.timeoutMs + WATCHDOG_SLACK_MS);
        host.pending.set(req.id, { req, module, resolve, reject, timer });
        host.child.channel?.ref();
        host.child.send(req, (e) => { if (e) host.child.kill('SIGKILL'); });
      });
    } finally {
      if (--this.active === 0 && this.opts.idleCloseMs > 0 && !this.closed) {
        this.idleTimer = setTimeout(() => {
          this.idleTimer = null;
          if (this.active === 0) void this.stopHost().then(collectAfterBurst);
        }, this.opts.idleCloseMs);
        this.idleTimer.unref();
      }
    }
  }

  /** End the process (it closes its pool when the channel closes). */
  private stopHost(): Promise<void> {
    const host = this.host;
    this.host = null;
    if (!host || host.gone) return Promise.resolve();
    return new Promise<void>((resolve) => {
      host.child.once('exit', () => resolve());
      const kill = setTimeout(() => host.child.kill('SIGKILL'), 5000);
      kill.unref();
      host.child.once('exit', () => clearTimeout(kill));
      if (host.child.connected) host.child.disconnect();
      else host.child.kill('SIGTERM');
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.idleTimer) { clearTimeout(this.idleTimer); this.idleTimer = null; }
    await this.stopHost();
  }
}
