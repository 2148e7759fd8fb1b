/**
 * The `swarmlet` bin's launcher (agent/malloc-tunables.ts LAUNCHER): run as a program, the
 * file is a shell script that gives the agent glibc's malloc settings and execs node on
 * itself. Checked on both bins (the full package's bin/swarmlet.js and the device bundle's
 * dist-agent/swarmlet.mjs): arguments, environment, pid, signals and exit codes pass through.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LAUNCHER, MALLOC_TUNABLES } from '../../agent/malloc-tunables.js';
import { tempDir, waitFor } from '../helpers/common.js';

const BINS = {
  full: fileURLToPath(new URL('../../../bin/swarmlet.js', import.meta.url)),
  device: fileURLToPath(new URL('../../../dist-agent/swarmlet.mjs', import.meta.url)),
};

const environ = (pid: number) => Object.fromEntries(readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);

test('both bins start with the launcher, and are executable', () => {
  for (const [name, bin] of Object.entries(BINS)) {
    assert.ok(existsSync(bin), `${name}: ${bin} (npm run build makes dist-agent/)`);
    assert.ok(readFileSync(bin, 'utf8').startsWith(LAUNCHER), `${name}: ${bin} starts with agent/malloc-tunables.ts LAUNCHER`);
    assert.ok((statSync(bin).mode & 0o111) === 0o111, `${name}: ${bin} is executable`);
  }
});

test('launcher: tunables only for the agent command and only when unset; arguments and exit code pass through', () => {
  const dir = tempDir();
  try {
    // A stand-in `node` that reports what it was given: the environment variable, then one argument a line.
    const fake = join(dir.path, 'bin');
    mkdirSync(fake);
    writeFileSync(join(fake, 'node'), '#!/bin/sh\nprintf "%s\\n" "GLIBC_TUNABLES=${GLIBC_TUNABLES-<unset>}" "$@"\nexit 7\n');
    chmodSync(join(fake, 'node'), 0o755);
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${fake}:${process.env.PATH}` };
    delete env.GLIBC_TUNABLES;
    for (const [name, bin] of Object.entries(BINS)) {
      const args = ['--log-format', 'json', 'agent', '--data-dir', "/tmp/a dir/with 'quotes' and $HOME", '--broker', 'mqtt://h:1', ''];
      const r = spawnSync(bin, args, { env, encoding: 'utf8' });
      assert.equal(r.status, 7, `${name}: node's exit code comes back (${r.stderr})`);
      assert.deepEqual(r.stdout.split('\n').slice(0, -1), [`GLIBC_TUNABLES=${MALLOC_TUNABLES}`, bin, ...args], name);
      const own = spawnSync(bin, ['agent'], { env: { ...env, GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }, encoding: 'utf8' });
      assert.equal(own.stdout.split('\n')[0], 'GLIBC_TUNABLES=glibc.malloc.arena_max=2', `${name}: a setting of the user's is kept`);
      const keys = spawnSync(bin, ['keys', 'show', 'agent.key'], { env, encoding: 'utf8' });
      assert.equal(keys.stdout.split('\n')[0], 'GLIBC_TUNABLES=<unset>', `${name}: other commands run as before`);
    }
  } finally {
    dir.cleanup();
  }
});

test('launcher: the agent runs as the same pid with the tunables; SIGTERM drains and exits 0; a CLI error exits 2', async () => {
  const dir = tempDir();
  try {
    for (const [name, bin] of Object.entries(BINS)) {
      const env: NodeJS.ProcessEnv = { ...process.env, SWARMLET_LOG_LEVEL: 'warn', SWARMLET_LOG_FORMAT: 'json' };
      delete env.GLIBC_TUNABLES;
      const bad = spawnSync(bin, ['agent', '--config', join(dir.path, 'no such', 'x y.json')], { env, encoding: 'utf8' });
      assert.equal(bad.status, 2, `${name}: ${bad.stderr}`);
      assert.match(bad.stderr, /no such\/x y\.json/);

      // No broker listens on port 1: the agent starts and keeps retrying; --fuel-rate skips calibration.
      const data = join(dir.path, `${name} data 'x'`);
      const p = spawn(bin, ['agent', '--broker', 'mqtt://127.0.0.1:1', '--trusted-publisher', 'ab'.repeat(32), '--data-dir', data, '--slots', '1', '--fuel-rate', '1000000'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      p.stderr!.on('data', (b: Buffer) => { err += b.toString(); });
      p.stdout!.on('data', (b: Buffer) => { err += b.toString(); });
      try {
        // Started: it has tried the broker (the signal handlers are set by then).
        await waitFor(`${name} agent started`, () => err.includes('ECONNREFUSED'), 30_000, 50).catch((e: Error) => { throw new Error(`${e.message}: ${err}`); });
        assert.equal(cmdline(p.pid!)[1], bin, `${name}: node runs the bin as pid ${p.pid} (exec, no second process)`);
        // glibc parses the variable in place at start, so /proc shows it up to its first ':'
        // (process.env still has all of it; the stand-in node above sees the full value).
        const seen = environ(p.pid!).GLIBC_TUNABLES ?? '';
        assert.ok(seen.length > 0 && MALLOC_TUNABLES.startsWith(seen), `${name}: GLIBC_TUNABLES in /proc/${p.pid}/environ: ${seen}`);
      } finally {
        p.kill('SIGTERM');
      }
      const [code, signal] = await new Promise<[number | null, string | null]>((r) => p.once('exit', (c, s) => r([c, s])));
      assert.deepEqual([code, signal], [0, null], `${name}: SIGTERM drains and exits 0 (${err})`);
    }
  } finally {
    dir.cleanup();
  }
});
