#!/usr/bin/env node
// Runs benchmarks from dist/bench/: `npm run bench` runs all, `npm run bench -- runtime` one
// (lib*.js are shared helpers, not benchmarks).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const dir = new URL('../dist/bench/', import.meta.url).pathname;
const all = readdirSync(dir).filter((f) => f.endsWith('.js') && !f.startsWith('lib')).map((f) => f.slice(0, -3)).sort();
const want = process.argv.slice(2);
const unknown = want.filter((w) => !all.includes(w));
if (unknown.length) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; have: ${all.join(', ')}`);
  process.exit(2);
}
let failed = 0;
for (const name of want.length ? want : all) {
  console.log(`\n=== bench/${name} ===`);
  const r = spawnSync(process.execPath, [join(dir, `${name}.js`)], { stdio: 'inherit', env: { SWARMLET_LOG_LEVEL: 'warn', ...process.env } });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
