#!/usr/bin/env node
// Thin shim: the CLI is TypeScript compiled to dist/ by `npm run build` (run by `npm install`).
import { existsSync } from 'node:fs';
const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('swarmlet: not built yet; run `npm install` (or `npm run build`) first\n');
  process.exit(2);
}
await import(main.href);
