#!/usr/bin/env node
// Removes compiled files in dist/ whose TypeScript source is gone (tsc never deletes them, and
// the test runner would still run a deleted test's stale .js).
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const dist = join(root, 'dist');
let removed = 0;
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) { walk(p); continue; }
    const m = /^(.*)\.(js|js\.map|d\.ts|d\.ts\.map)$/.exec(relative(dist, p));
    if (!m) continue;
    const src = join(root, m[1]);
    if (!existsSync(`${src}.ts`) && !existsSync(`${src}.tsx`) && !existsSync(`${src}.mts`)) { rmSync(p); removed++; }
  }
}
if (existsSync(dist)) walk(dist);
if (removed) console.log(`clean-dist: removed ${removed} stale file(s) from dist/`);
