#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with Node's own test runner.
// Usage: node scripts/run-tests.mjs [filter ...]   (filters match file paths)
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { setPriority, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const dir = join(root, 'dist', 'test');
const files = [];
(function walk(d) {
  for (const name of readdirSync(d)) {
    const p = join(d, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.js')) files.push(p);
  }
})(dir);
const filters = process.argv.slice(2);
const chosen = files.sort().filter((f) => filters.length === 0 || filters.some((x) => relative(root, f).includes(x)));
if (chosen.length === 0) {
  console.error(`no test files matched ${filters.join(' ')}`);
  process.exit(1);
}
// The recursive-proof tests (o1js: minutes of CPU and gigabytes each) run after the rest,
// one at a time, with a longer timeout, so they neither starve nor are starved by the
// timing-sensitive tests; the real-proof test budgets a cold circuit compile.
const ALONE = /ledger-(circuit|prover|proof-real)\.test\.js$/;
const tapDir = mkdtempSync(join(tmpdir(), 'swarmlet-tests-'));
const totals = { pass: 0, fail: 0, skipped: 0 };
let status = 0;
const run = (list, concurrency, timeoutMs, tag) => {
  if (list.length === 0) return;
  const tap = join(tapDir, `${tag}.tap`);
  const r = spawnSync(process.execPath, [
    '--test',
    `--test-concurrency=${concurrency}`,
    `--test-timeout=${timeoutMs}`,
    '--test-reporter=spec', '--test-reporter-destination=stdout',
    '--test-reporter=tap', `--test-reporter-destination=${tap}`,
    ...list,
  ], { stdio: 'inherit', env: { SWARMLET_LOG_LEVEL: 'warn', ...process.env } });
  if (r.status !== 0) status = r.status ?? 1;
  const text = existsSync(tap) ? readFileSync(tap, 'utf8') : '';
  for (const k of Object.keys(totals)) totals[k] += Number(text.match(new RegExp(`^# ${k} (\\d+)$`, 'm'))?.[1] ?? 0);
};
const zk = chosen.filter((f) => ALONE.test(f));
const REAL = /ledger-proof-real\.test\.js$/;

// The real-proof test needs the circuit's keys: cold, a compile of minutes of CPU and ~3 GB.
// They are compiled into the key cache (gateway/prover/vk.js --check, which also checks the
// committed verification key) in the background, at the lowest CPU priority, while the rest
// of the suite runs (much of which waits on sockets and timers) and the o1js logic tests run;
// the real-proof test starts when it is done. Should it fail, that test compiles the keys itself.
let warm = null;
let warmPid = 0;
/** Set the niceness of every thread of `pid` (a process's threads inherit it from the thread that starts them). */
const renice = (pid, value) => {
  let tids = [pid];
  try { tids = readdirSync(`/proc/${pid}/task`).map(Number); } catch { /* not Linux */ }
  for (const tid of tids) try { setPriority(tid, value); } catch { /* gone, or not permitted (lowering needs privilege) */ }
};
const o1jsInstalled = () => { try { createRequire(join(root, 'package.json')).resolve('o1js'); return true; } catch { return false; } };
if (zk.some((f) => REAL.test(f)) && o1jsInstalled()) {
  const log = join(tapDir, 'zk-keys.log');
  const fd = openSync(log, 'w');
  const t0 = Date.now();
  const child = spawn(process.execPath, [join(root, 'dist', 'gateway', 'prover', 'vk.js'), '--check'], { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  warmPid = child.pid ?? 0;
  if (warmPid) renice(warmPid, 19);
  warm = new Promise((resolve) => {
    child.on('error', (e) => resolve({ ok: false, text: e.message, ms: Date.now() - t0 }));
    child.on('exit', (code, signal) => resolve({ ok: code === 0, text: (existsSync(log) ? readFileSync(log, 'utf8') : '').trim().split('\n').slice(-3).join(' | ') || `exit ${signal ?? code}`, ms: Date.now() - t0 }));
  });
}
run(chosen.filter((f) => !ALONE.test(f)), process.env.SWARMLET_TEST_CONCURRENCY ?? 2, 300_000, 'main');
// The other tests are done: the compile may have the machine now (if we may raise its priority
// again). Its pid cannot have been reused: a child is reaped only by this loop, blocked till now.
if (warmPid) renice(warmPid, 0);
const z0 = Date.now();
run(zk.filter((f) => !REAL.test(f)), 1, 30 * 60_000, 'zk-logic');
const z1 = Date.now();
if (warm) {
  const w = await warm;
  console.log(`\n# circuit keys (background, ${Math.round(w.ms / 1000)} s; waited for ${Math.round((Date.now() - z1) / 1000)} s): ${w.ok ? '' : 'FAILED: '}${w.text}`);
}
run(zk.filter((f) => REAL.test(f)), 1, 30 * 60_000, 'zk-real');
if (zk.length) console.log(`# o1js tests: ${Math.round((Date.now() - z0) / 1000)} s (logic ${Math.round((z1 - z0) / 1000)} s, then the real proof)`);
rmSync(tapDir, { recursive: true, force: true });
// A file that fails as a whole (its timeout) counts as no failed test in the TAP totals: say so.
console.log(`\ntotal: ${totals.pass} passed, ${totals.fail} failed, ${totals.skipped} skipped${status && !totals.fail ? ` (a test file failed as a whole: exit ${status})` : ''}`);
process.exit(status);
