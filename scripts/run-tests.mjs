#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with Node's own test runner.
// Usage: node scripts/run-tests.mjs [filter ...]   (filters match file paths)
import { readdirSync, statSync } from 'node:fs';
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
const r = spawnSync(process.execPath, [
  '--test',
  `--test-concurrency=${process.env.SWARMLET_TEST_CONCURRENCY ?? 2}`,
  '--test-timeout=300000',
  '--test-reporter=spec',
  ...chosen,
], { stdio: 'inherit', env: { SWARMLET_LOG_LEVEL: 'warn', ...process.env } });
process.exit(r.status ?? 1);
