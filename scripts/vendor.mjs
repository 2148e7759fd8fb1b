#!/usr/bin/env node
// Copies browser-side dependencies into the dashboard's static folder (gitignored), so the
// console loads nothing from a CDN: the very same @noble/ed25519 build the protocol uses
// (proofs are verified in the browser), uPlot (charts) with its stylesheet, and o1js's
// self-contained web build with the committed ledger verification key for the recursive
// ledger proof (o1js is optional: without it the console says the ledger check is unavailable).
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const require = createRequire(join(root, 'package.json'));
const out = join(root, 'gateway', 'dashboard', 'public', 'vendor');
mkdirSync(out, { recursive: true });
const dirOf = (pkg) => dirname(require.resolve(`${pkg}/package.json`));
copyFileSync(join(dirOf('@noble/ed25519'), 'index.js'), join(out, 'noble-ed25519.js'));
copyFileSync(join(dirOf('uplot'), 'dist', 'uPlot.esm.js'), join(out, 'uPlot.esm.js'));
copyFileSync(join(dirOf('uplot'), 'dist', 'uPlot.min.css'), join(out, 'uPlot.min.css'));

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
  console.log('vendor: o1js not installed; the console cannot check ledger proofs');
}
