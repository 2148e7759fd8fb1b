import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withFileLockSync, writeFileAtomicSync } from '../../util/files.js';
import { tempDir } from '../helpers/common.js';

const FILES = fileURLToPath(new URL('../../util/files.js', import.meta.url));

function run(code: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'ignore', 'inherit'] });
    c.once('error', reject);
    c.once('exit', (code) => resolve(code ?? -1));
  });
}

test('locked read-modify-write from several processes at once loses no update', async () => {
  const dir = tempDir();
  try {
    const file = join(dir.path, 'counter.json');
    writeFileSync(file, '0');
    const code = `
      import { readFileSync } from 'node:fs';
      import { withFileLockSync, writeFileAtomicSync } from ${JSON.stringify(FILES)};
      for (let i = 0; i < 50; i++) withFileLockSync(${JSON.stringify(file)}, () => {
        const n = Number(readFileSync(${JSON.stringify(file)}, 'utf8'));
        writeFileAtomicSync(${JSON.stringify(file)}, String(n + 1));
      });`;
    const codes = await Promise.all(Array.from({ length: 4 }, () => run(code)));
    assert.deepEqual(codes, [0, 0, 0, 0]);
    assert.equal(readFileSync(file, 'utf8'), '200');
    assert.deepEqual(readdirSync(dir.path).sort(), ['counter.json'], 'no temp or lock file left behind');
  } finally {
    dir.cleanup();
  }
});

test('a lock left by a dead process is broken; a live holder makes others wait, then time out with its name', () => {
  const dir = tempDir();
  try {
    const file = join(dir.path, 'x.json');
    // A pid far above pid_max on Linux: no such process.
    writeFileSync(`${file}.lock`, `999999999 ${hostname()} ${Date.now()} dead`);
    assert.equal(withFileLockSync(file, () => 'got it', { timeoutMs: 2000 }), 'got it');
    assert.equal(existsSync(`${file}.lock`), false);
    // A live holder (this very process) on this host, fresh: not stale.
    writeFileSync(`${file}.lock`, `${process.pid} ${hostname()} ${Date.now()} live`);
    assert.throws(() => withFileLockSync(file, () => 'no', { timeoutMs: 100 }), /locked by another process .*live/);
    // Older than staleMs: broken whoever holds it.
    assert.equal(withFileLockSync(file, () => 'late', { timeoutMs: 2000, staleMs: 0 }), 'late');
  } finally {
    dir.cleanup();
  }
});

test('writeFileAtomicSync replaces the whole file with the given mode, and leaves no temp file on failure', () => {
  const dir = tempDir();
  try {
    const file = join(dir.path, 'a.txt');
    writeFileAtomicSync(file, 'one');
    writeFileAtomicSync(file, 'two');
    assert.equal(readFileSync(file, 'utf8'), 'two');
    assert.throws(() => writeFileAtomicSync(join(dir.path, 'no-such-dir', 'b.txt'), 'x'));
    assert.deepEqual(readdirSync(dir.path), ['a.txt']);
  } finally {
    dir.cleanup();
  }
});
