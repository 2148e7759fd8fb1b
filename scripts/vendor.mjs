#!/usr/bin/env node
// Copies browser-side dependencies into the dashboard's static folder (gitignored), so the
// dashboard verifies proofs with the very same builds the gateway and CLI use, served
// locally (no CDN): @noble/ed25519 for receipts and batch headers; o1js's self-contained
// web build and the committed ledger verification key for the recursive ledger proof
// (o1js is optional: without it the dashboard says the ledger check is unavailable).
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const require = createRequire(join(root, 'package.json'));
const out = join(root, 'gateway', 'dashboard', 'public', 'vendor');
mkdirSync(out, { recursive: true });
const noble = join(dirname(require.resolve('@noble/ed25519/package.json')), 'index.js');
copyFileSync(noble, join(out, 'noble-ed25519.js'));

copyFileSync(join(root, 'gateway', 'prover', 'ledger-vk.json'), join(out, 'ledger-vk.json'));
let o1jsWeb = null;
try {
  // o1js exports no package.json; its node entry is dist/node/index.cjs.
  o1jsWeb = join(dirname(require.resolve('o1js')), '..', 'web', 'index.js');
} catch { /* optional dependency not installed */ }
if (o1jsWeb && existsSync(o1jsWeb)) {
  mkdirSync(join(out, 'o1js'), { recursive: true });
  copyFileSync(o1jsWeb, join(out, 'o1js', 'index.js'));
} else {
  rmSync(join(out, 'o1js'), { recursive: true, force: true });
  console.log('vendor: o1js not installed; the dashboard cannot check ledger proofs');
}
