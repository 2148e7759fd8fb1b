#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with Node's own test runner.
// Usage: node scripts/run-tests.mjs [filter ...]   (filters match file paths)
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

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
run(chosen.filter((f) => !ALONE.test(f)), process.env.SWARMLET_TEST_CONCURRENCY ?? 2, 300_000, 'main');
run(chosen.filter((f) => ALONE.test(f)), 1, 30 * 60_000, 'zk');
rmSync(tapDir, { recursive: true, force: true });
console.log(`\ntotal: ${totals.pass} passed, ${totals.fail} failed, ${totals.skipped} skipped`);
process.exit(status);
