/** `swarmlet task run` end to end, as a child process. */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tasksBuildDir } from '../../util/paths.js';
import { abiModule } from './wat.js';
import { catalogue } from './helpers.js';

const MAIN = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
const swarmlet = (...args: string[]) =>
  spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, SWARMLET_LOG_LEVEL: 'warn' } });

describe('swarmlet task run', () => {
  before(() => catalogue());

  it('prints the real sha256 of a file with --json and exits 0', () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmlet-cli-'));
    try {
      const data = randomBytes(70_000);
      const file = join(dir, 'input.bin');
      writeFileSync(file, data);
      const r = swarmlet('task', 'run', join(tasksBuildDir(), 'sha256.wasm'), '--input', file, '--json');
      assert.equal(r.status, 0, r.stderr);
      const lines = r.stdout.trim().split('\n');
      assert.equal(lines.length, 1);
      const out = JSON.parse(lines[0]!);
      assert.equal(out.ok, true);
      assert.equal(out.outputHex, createHash('sha256').update(data).digest('hex'));
      assert.equal(out.outputSha256, createHash('sha256').update(Buffer.from(out.outputHex, 'hex')).digest('hex'));
      assert.ok(Number.isSafeInteger(out.fuel) && out.fuel > 0);
      assert.equal(typeof out.wallMs, 'number');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--input-hex, and a failing module prints {"ok":false,...} and exits 2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmlet-cli-'));
    try {
      const r = swarmlet('task', 'run', join(tasksBuildDir(), 'primes.wasm'), '--input-hex', '0000000064000000', '--json');
      assert.equal(r.status, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).outputHex, '19000000');
      const loop = join(dir, 'loop.wasm');
      writeFileSync(loop, abiModule('(loop $l (br $l)) (i64.const 0)'));
      const f = swarmlet('task', 'run', loop, '--fuel', '100000', '--json');
      assert.equal(f.status, 2);
      const failed = JSON.parse(f.stdout);
      assert.deepEqual(Object.keys(failed), ['ok', 'error', 'fuel', 'wallMs']);
      assert.equal(failed.error.kind, 'fuel-exhausted');
      assert.equal(failed.fuel, 100000, 'a fuel-exhausted run reports its whole budget');
      assert.ok(typeof failed.wallMs === 'number' && failed.wallMs >= 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('bad arguments: one-line error, exit 2', () => {
    for (const args of [['--fuel', 'lots', 'x.wasm'], ['--input-hex', 'abc', 'x.wasm'], ['/nonexistent/m.wasm']]) {
      const r = swarmlet('task', 'run', ...args);
      assert.equal(r.status, 2, args.join(' '));
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
    const help = swarmlet('task', 'run', '--help');
    assert.equal(help.status, 0);
    assert.match(help.stdout, /--memory-pages/);
  });

  it('task build is quick when nothing changed, and task list shows the catalogue', () => {
    const b = swarmlet('task', 'build');
    assert.equal(b.status, 0, b.stderr);
    assert.match(b.stdout, /up to date/);
    const l = swarmlet('task', 'list', '--json');
    assert.equal(l.status, 0);
    assert.deepEqual(l.stdout.trim().split('\n').map((x) => JSON.parse(x).name).sort(), ['blur', 'mandelbrot', 'matmul', 'mlp', 'primes', 'sha256', 'stats']);
  });
});
