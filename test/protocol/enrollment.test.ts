import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { Enrollment, enrollKeys, persistDecisions, readEnrollmentDoc, readEnrollmentFile, updateEnrollmentFile } from '../../protocol/enrollment.js';
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

test('a v1 file without "revoked" reads as before; revocations round-trip with time and reason', () => {
  const a = generateIdentity();
  const b = generateIdentity();
  const f = join(dir, 'v1.json');
  writeFileSync(f, JSON.stringify({ format: 'swarmlet-enrollment-v1', keys: [{ publicKey: Buffer.from(a.publicKey).toString('hex'), role: 'node' }] }));
  const e = Enrollment.fromFile(f);
  assert.equal(e.has(a.nodeId, 'node'), true);
  assert.deepEqual(e.revocations(), []);
  e.add(b.publicKey, 'node', 'b');
  assert.equal(e.revoke(b.nodeId, 'stolen'), true);
  e.saveTo(f);
  const raw = JSON.parse(readFileSync(f, 'utf8'));
  assert.equal(raw.keys.length, 1);
  assert.equal(raw.revoked[0].reason, 'stolen');
  assert.equal(raw.revoked[0].role, 'node');
  assert.equal(raw.revoked[0].name, 'b');
  assert.ok(!Number.isNaN(Date.parse(raw.revoked[0].at)));
  const back = Enrollment.fromFile(f);
  assert.equal(back.has(b.nodeId), false);
  assert.equal(back.revocation(b.nodeId)?.reason, 'stolen');
});

test('a key listed under both "keys" and "revoked" is revoked; a bad revoked entry names the field', () => {
  const a = generateIdentity();
  const hex = Buffer.from(a.publicKey).toString('hex');
  const f = join(dir, 'both.json');
  writeFileSync(f, JSON.stringify({ format: 'swarmlet-enrollment-v1', keys: [{ publicKey: hex, role: 'node' }], revoked: [{ publicKey: hex, at: new Date().toISOString(), reason: 'lost' }] }));
  assert.equal(Enrollment.fromFile(f).has(a.nodeId), false);
  assert.deepEqual(readEnrollmentFile(f), []);
  writeFileSync(f, JSON.stringify({ format: 'swarmlet-enrollment-v1', keys: [], revoked: [{ publicKey: hex, at: 'yesterday', reason: 'lost' }] }));
  assert.throws(() => readEnrollmentDoc(f), /revoked\.0\.at/);
});

test('enrollKeys does not re-add a revoked key; revoke() is recorded in the file by persistDecisions', () => {
  const a = generateIdentity();
  const b = generateIdentity();
  const f = join(dir, 'persist.json');
  updateEnrollmentFile(f, (doc) => enrollKeys(doc, [{ publicKey: a.publicKey, role: 'node' }, { publicKey: b.publicKey, role: 'node' }]));
  const live = Enrollment.fromFile(f);
  const stop = persistDecisions(live, f, (e) => assert.fail(e));
  try {
    live.revoke(a.nodeId, 'revoked through the API');
  } finally {
    stop();
  }
  const doc = readEnrollmentDoc(f);
  assert.deepEqual(doc.keys.map((k) => Buffer.from(k.publicKey).toString('hex')), [Buffer.from(b.publicKey).toString('hex')]);
  assert.equal(doc.revoked[0]!.nodeId, a.nodeId);
  // Enrolling the same devices again (a restart) leaves the revoked one out.
  const r = updateEnrollmentFile(f, (d) => enrollKeys(d, [{ publicKey: a.publicKey, role: 'node' }, { publicKey: b.publicKey, role: 'node' }]));
  assert.equal(r.added.length, 0);
  assert.equal(r.present.length, 1);
  assert.equal(r.stillRevoked[0]?.reason, 'revoked through the API');
  assert.equal(Enrollment.fromFile(f).has(a.nodeId), false);
});
