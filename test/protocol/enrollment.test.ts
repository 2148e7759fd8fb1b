import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { Enrollment } from '../../protocol/enrollment.js';
import { generateIdentity } from '../../protocol/identity.js';

const dir = mkdtempSync(join(tmpdir(), 'swarmlet-enr-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('save, load, roles', () => {
  const a = generateIdentity();
  const g = generateIdentity();
  const e = new Enrollment();
  e.add(a.publicKey, 'node', 'kitchen');
  e.add(g.publicKey, 'gateway');
  const f = join(dir, 'e.json');
  e.saveTo(f);
  const back = Enrollment.fromFile(f);
  assert.equal(back.has(a.nodeId, 'node'), true);
  assert.equal(back.has(a.nodeId, 'gateway'), false);
  assert.equal(back.get(a.nodeId)?.name, 'kitchen');
  assert.equal(back.has(g.nodeId, 'gateway'), true);
});

test('a bad file names the field', () => {
  const f = join(dir, 'bad.json');
  writeFileSync(f, JSON.stringify({ format: 'swarmlet-enrollment-v1', keys: [{ publicKey: 'xx', role: 'node' }] }));
  assert.throws(() => Enrollment.fromFile(f), /keys\.0\.publicKey/);
  writeFileSync(f, '{');
  assert.throws(() => Enrollment.fromFile(f), /cannot read enrollment file/);
});

test('watch follows the file: new keys enrolled, removed keys revoked', async () => {
  const a = generateIdentity();
  const b = generateIdentity();
  const f = join(dir, 'w.json');
  const start = new Enrollment();
  start.add(a.publicKey, 'node');
  start.saveTo(f);
  const e = Enrollment.fromFile(f);
  const stop = e.watch(f, undefined, 50);
  const next = new Enrollment();
  next.add(b.publicKey, 'node');
  // watchFile takes its first stat asynchronously: a change made before that stat is its
  // baseline and never reported. Saving again until the watcher reacts removes the race.
  next.saveTo(f);
  const keepAlive = setInterval(() => next.saveTo(f), 200); // (also holds the process open)
  try {
    const revoked = once(e, 'revoked');
    const added = once(e, 'added');
    const [gone] = await revoked;
    const [came] = await added;
    assert.equal(gone.nodeId, a.nodeId);
    assert.equal(came.nodeId, b.nodeId);
    assert.equal(e.has(a.nodeId), false);
    assert.equal(e.has(b.nodeId), true);
  } finally {
    stop();
    clearInterval(keepAlive);
  }
});
