#!/bin/sh
':' //; case " $* " in *" agent "*) [ -n "${GLIBC_TUNABLES+x}" ] || export GLIBC_TUNABLES=glibc.malloc.mmap_threshold=32768:glibc.malloc.arena_max=1;; esac; exec node "$0" "$@"
// Lines 1-2 (agent/malloc-tunables.ts LAUNCHER, kept equal by test/agent/launcher.test.ts): run as
// a program, sh gives the agent glibc's malloc settings and execs node on this file.
// Thin shim: the CLI is TypeScript compiled to dist/ by `npm run build` (run by `npm install`).
import { existsSync } from 'node:fs';
const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('swarmlet: not built yet; run `npm install` (or `npm run build`) first\n');
  process.exit(2);
}
await import(main.href);
