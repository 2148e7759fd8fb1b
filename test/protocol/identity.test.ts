import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, statSync, chmodSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { generateIdentity, saveIdentity, loadIdentity, nodeIdFromPublicKey } from '../../protocol/identity.js';
import { toHex } from '../../protocol/hash.js';
import { projectRoot } from '../../util/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'swarmlet-id-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('key files are written 0600 and load back', () => {
  const id = generateIdentity();
  const f = join(dir, 'a.json');
  saveIdentity(f, id);
  assert.equal(statSync(f).mode & 0o777, 0o600);
  const back = loadIdentity(f);
  assert.equal(back.nodeId, id.nodeId);
  assert.deepEqual(back.secretKey, id.secretKey);
  assert.equal(id.nodeId, nodeIdFromPublicKey(id.publicKey));
  assert.throws(() => saveIdentity(f, id), /already exists/);
});

test('a key file readable by others is refused; a corrupt one is named', () => {
  const f = join(dir, 'b.json');
  saveIdentity(f, generateIdentity());
  chmodSync(f, 0o644);
  assert.throws(() => loadIdentity(f), /chmod 600/);
  const g = join(dir, 'c.json');
  writeFileSync(g, '{"format":"swarmlet-key-v1"}', { mode: 0o600 });
  assert.throws(() => loadIdentity(g), /not a swarmlet key file/);
});

test('CLI: keys gen and keys show', () => {
  const cli = join(projectRoot(), 'bin', 'swarmlet.js');
  const f = join(dir, 'k.json');
  const gen = JSON.parse(execFileSync(process.execPath, [cli, 'keys', 'gen', '--out', f, '--json'], { encoding: 'utf8' }));
  const show = JSON.parse(execFileSync(process.execPath, [cli, 'keys', 'show', f, '--json'], { encoding: 'utf8' }));
  assert.equal(show.nodeId, gen.nodeId);
  assert.equal(show.publicKey, gen.publicKey);
  assert.equal(toHex(loadIdentity(f).publicKey), gen.publicKey);
  const again = spawnSync(process.execPath, [cli, 'keys', 'gen', '--out', f], { encoding: 'utf8' });
  assert.equal(again.status, 2);
  assert.match(again.stderr, /already exists/);
  const bad = spawnSync(process.execPath, [cli, 'keys', 'gen', '--nope'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr.trim().split('\n').length, 1);
  const help = spawnSync(process.execPath, [cli, 'keys', 'show', '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /Usage: swarmlet keys show/);
});
