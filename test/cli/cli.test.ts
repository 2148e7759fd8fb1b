import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

test('a reader that closes the pipe early ends the command quietly (no EPIPE stack trace)', () => {
  // `swarmlet task list | head -1`, and a command printing a lot (help) into a closed pipe.
  for (const cmd of [`"${process.execPath}" "${CLI}" task list | head -1`, `"${process.execPath}" "${CLI}" agent --help | head -c 10`]) {
    const r = spawnSync('bash', ['-o', 'pipefail', '-c', cmd], { encoding: 'utf8' });
    assert.doesNotMatch(r.stderr, /EPIPE|Error|at /, cmd);
    assert.equal(r.status, 0, `${cmd}: ${r.stderr}`);
    assert.ok(r.stdout.length > 0);
  }
});

test('--log-format is taken by every command and checked', () => {
  const bad = spawnSync(process.execPath, [CLI, 'keys', 'gen', '--log-format', 'xml'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--log-format must be json or pretty/);
  const help = spawnSync(process.execPath, [CLI, '--log-format=pretty', 'keys', '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /Ed25519/);
});
