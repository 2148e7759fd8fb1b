#!/usr/bin/env node
// Copies browser-side dependencies into the dashboard's static folder (gitignored), so the
// dashboard verifies proofs with the very same @noble/ed25519 build the protocol uses.
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const require = createRequire(join(root, 'package.json'));
const out = join(root, 'gateway', 'dashboard', 'public', 'vendor');
mkdirSync(out, { recursive: true });
const noble = join(dirname(require.resolve('@noble/ed25519/package.json')), 'index.js');
copyFileSync(noble, join(out, 'noble-ed25519.js'));
