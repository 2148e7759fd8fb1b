/**
 * The task-runner process (forked by ProcessRunner): the worker pool, the wasm compiler
 * and, for a module never metered here, binaryen all live in this process, not the agent's.
 * When it exits every page it touched goes back to the OS; worker threads ended inside the
 * agent would leave their malloc arenas behind (~10 MB after a burst, ~50 MB after binaryen).
 * Argument: JSON {size, meteredDir?}. It exits when the agent disconnects.
 */
import { createLogger } from '../util/log.js';
import { tasksBuildDir } from '../util/paths.js';
import { Lru } from './runtime/lru.js';
import { GarbageBudget } from './runtime/gc-budget.js';
import { fileMeteredStore } from './runtime/metered-store.js';
import { WorkerPool } from './runtime/pool.js';
import type { HostReply, HostRequest } from './process-runner.js';

const log = createLogger('runner-host');
const send = process.send?.bind(process);
if (!send) throw new Error('agent/runner-host.js is started by the agent (ProcessRunner), not by hand');

const args = JSON.parse(process.argv[2] ?? '{}') as { size?: number; meteredDir?: string };
const pool = new WorkerPool({
  size: args.size ?? 1,
  metered: fileMeteredStore({ readOnly: [`${tasksBuildDir()}/metered`], ...(args.meteredDir ? { writable: args.meteredDir } : {}) }),
});
/** Module bytes by hash; the agent mirrors which it sent and re-sends on 'missing'. */
const modules = new Lru<string, Uint8Array>(16);

/**
 * Each request's input is garbage here three times over (the IPC read, the pool's compact
 * copy, the message to a worker). Incremental (async) marking: this thread dispatches the
 * tasks, so it should not stop for a whole collection.
 */
const garbage = new GarbageBudget(2 << 20, 'async');

const reply = (r: HostReply) => { try { send(r); } catch { /* the agent is gone; disconnect ends us */ } };

process.on('message', (m: HostRequest) => {
  if (m.t !== 'run') return;
  let bytes = m.module;
  if (bytes) modules.set(m.key, bytes);
  else bytes = modules.get(m.key) ?? null;
  if (!bytes) return reply({ t: 'missing', id: m.id });
  garbage.add(3 * m.input.byteLength);
  pool.run(bytes, m.input, m.limits, m.expectedHash ? { expectedHash: m.expectedHash } : {}).then(
    (outcome) => reply({ t: 'ran', id: m.id, outcome }),
    (e: Error) => reply({ t: 'failed', id: m.id, message: e.message }),
  );
});

process.on('disconnect', () => {
  void pool.close().finally(() => process.exit(0));
});
process.on('uncaughtException', (e) => {
  log.error({ err: e.message }, 'task runner process failed');
  process.exit(1);
});
