#!/usr/bin/env node
// Copies browser-side dependencies into the dashboard's static folder (gitignored), so the
// console loads nothing from a CDN: the very same @noble/ed25519 build the protocol uses
// (proofs are verified in the browser), and uPlot (charts) with its stylesheet.
import { copyFileSync, mkdirSync } from 'node:fs';
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
