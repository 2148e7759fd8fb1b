/**
 * The console's parts on their own, on a real SQLite store: the history ring and its
 * minute and hour rollups under retention (time driven by hand), alert rules, list
 * parameters, join requests, and the enrollment's revoked list (readmit, deny, the file).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { Store } from '../../gateway/store.js';
import { ensureConsoleTables } from '../../gateway/console/schema.js';
import { History } from '../../gateway/console/history.js';
import { Alerts } from '../../gateway/console/alerts.js';
import { PageError, pageOf, parsePage, likePrefix } from '../../gateway/console/paging.js';
import { Enrollment, persistDecisions, readEnrollmentDoc } from '../../protocol/enrollment.js';
import { PendingJoins, MAX_PENDING, pendingFileFor } from '../../protocol/pending.js';
import { generateIdentity } from '../../protocol/identity.js';
import type { CapacityAdvert, ThermalState } from '../../protocol/messages.js';
import type { NodeView } from '../../gateway/fleet.js';
import { tempDir } from '../helpers/common.js';

const MIN = 60_000;
const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 0, 1, 10, 0, 0); // on an hour boundary

function advert(nodeId: string, tempC: number, o: Partial<CapacityAdvert> = {}): CapacityAdvert {
  return {
    nodeId, region: 'local', seq: 1, at: T0, state: 'cool', tempC, throttled: { now: 0, sinceBoot: 0 }, load: 0.5, memFreeMb: 1000,
    power: { source: 'ac', batteryPct: null }, slots: 4, freeSlots: 4, fuelRate: 1e6, headroom: 0.5, priceFloor: 1, location: null,
    profile: 'pi4-bare', sources: [], ...o,
  };
}

function fixture(opts = {}) {
  const dir = tempDir('swarmlet-hist-');
  const store = new Store(dir.path, { durability: 'normal' });
  ensureConsoleTables(store.db);
  const nodes = new Map<string, { nodeId: string; online: boolean; advert: CapacityAdvert | null }>();
  const h = new History(store.db, { nodes: () => nodes.values(), reputation: () => 0.7 }, { stepMs: 5000, points: 24, ...opts });
  return { dir, store, nodes, h, close: () => { store.close(); dir.cleanup(); } };
}

test('history: adverts fill the ring bucket by bucket; tasks become tasks per minute; an online node without adverts carries its last values', () => {
  const f = fixture();
  try {
    const a = 'a'.repeat(32);
    f.nodes.set(a, { nodeId: a, online: true, advert: advert(a, 40) });
    f.h.onAdvert(advert(a, 41));
    f.h.onAdvert(advert(a, 47, { state: 'warm', throttled: { now: 4, sinceBoot: 4 } }));
    f.h.onTasks(a, 3);
    f.h.tick(T0 + 5000);
    f.h.tick(T0 + 10_000); // no advert in this bucket: the standing advert (40 °C) is carried
    const s = f.h.nodeSeries(a, T0 - MIN, T0 + MIN);
    assert.deepEqual(s.t, [T0, T0 + 5000]);
    assert.deepEqual(s.tempMax, [47, 40]);
    assert.deepEqual(s.state, [1, 0]);
    assert.deepEqual(s.throttled, [4, 0]);
    assert.deepEqual(s.tasksPerMin, [36, 0], '3 tasks in 5 s = 36 a minute');
    assert.deepEqual(s.online, [1, 1]);
    assert.deepEqual(s.reputation, [0.7, 0.7]);
    const p = f.h.latest()!;
    assert.equal(p.t, T0 + 5000);
    assert.equal(p.fleet.online, 1);
    assert.equal(p.nodes[a]![0], 40);
  } finally {
    f.close();
  }
});

test('history: each minute rolls up into one row per node seen; each hour into hour rows; rows past retention are deleted', () => {
  const f = fixture({ minuteKeepMs: 2 * HOUR, hourKeepMs: 3 * HOUR });
  try {
    const a = 'a'.repeat(32);
    const b = 'b'.repeat(32);
    f.nodes.set(a, { nodeId: a, online: true, advert: advert(a, 50) });
    f.nodes.set(b, { nodeId: b, online: false, advert: null });
    // Five hours of buckets: node a heats 1 °C a minute; b never says anything.
    for (let t = T0 + 5000; t <= T0 + 5 * HOUR; t += 5000) {
      const minute = Math.floor((t - 5000 - T0) / MIN);
      f.h.onAdvert(advert(a, 20 + (minute % 60)));
      if (t % MIN === 0) f.h.onTasks(a, 2);
      f.h.tick(t);
    }
    const rows = f.store.db.prepare('SELECT res, COUNT(*) AS n, MIN(t) AS first FROM node_history GROUP BY res ORDER BY res').all() as Array<{ res: number; n: number; first: number }>;
    const minutes = rows.find((r) => r.res === MIN)!;
    const hours = rows.find((r) => r.res === HOUR)!;
    // Minute rows are pruned at each hour to the last 2 hours (the 5th hour's prune keeps 3..5 h).
    assert.equal(minutes.first, T0 + 3 * HOUR);
    assert.equal(minutes.n, 120);
    // Hour rows: 5 made, those older than 3 h pruned at the last hour mark.
    assert.equal(hours.first, T0 + 2 * HOUR);
    assert.equal(hours.n, 3);
    assert.equal((f.store.db.prepare('SELECT COUNT(*) AS n FROM node_history WHERE node_id = ?').get(b) as { n: number }).n, 0, 'nothing stored for a node that said nothing');
    const hr = f.store.db.prepare('SELECT * FROM node_history WHERE node_id = ? AND res = ? AND t = ?').get(a, HOUR, T0 + 4 * HOUR) as { temp_max: number; temp_avg: number; tasks: number; online: number };
    assert.equal(hr.temp_max, 79);
    assert.ok(Math.abs(hr.temp_avg - 49.5) < 0.01, `mean of 20..79 is 49.5, got ${hr.temp_avg}`);
    assert.equal(hr.online, 1);
    assert.ok(hr.tasks >= 118 && hr.tasks <= 120, `two tasks a minute, got ${hr.tasks}`);
    // A long range reads hour rows, then the minutes since the last hour; a short one the ring.
    const long = f.h.nodeSeries(a, T0 + 5 * HOUR - 7 * 24 * HOUR, T0 + 5 * HOUR);
    assert.equal(long.resolutionMs, HOUR);
    assert.deepEqual(long.t, [T0 + 2 * HOUR, T0 + 3 * HOUR, T0 + 4 * HOUR]);
    const short = f.h.nodeSeries(a, T0 + 5 * HOUR - 2 * MIN, T0 + 5 * HOUR);
    assert.equal(short.resolutionMs, 5000);
    assert.equal(short.t.length, 24);
    const fleet = f.h.fleetSeries(T0 + 3 * HOUR, T0 + 4 * HOUR);
    assert.equal(fleet.t.length, 60, 'an hour of minute rows for the fleet');
    assert.ok(fleet.online.every((v) => v === 1));
    assert.ok(f.h.lastRollup.rows === 1, 'one row a minute for the one node seen');
  } finally {
    f.close();
  }
});

test('history: a node that appears later leaves no gap in the fleet series, and its first minute still rolls up', () => {
  const f = fixture();
  try {
    const a = 'a'.repeat(32);
    const b = 'b'.repeat(32);
    f.nodes.set(a, { nodeId: a, online: true, advert: advert(a, 40) });
    for (let k = 1; k <= 24; k++) {
      if (k === 6) f.nodes.set(b, { nodeId: b, online: true, advert: advert(b, 60) });
      if (k === 8) f.h.onTasks(b, 2);
      f.h.tick(T0 + k * 5000);
    }
    const fleet = f.h.fleetSeries(T0, T0 + 2 * MIN);
    assert.equal(fleet.t.length, 24);
    assert.ok(fleet.online.every((v) => typeof v === 'number'), `online is a count in every bucket: ${fleet.online}`);
    assert.deepEqual(fleet.online.slice(0, 7), [1, 1, 1, 1, 1, 2, 2]);
    assert.ok(fleet.tasksPerMin.every((v) => typeof v === 'number'));
    assert.equal(fleet.tasksPerMin[7], 24);
    const rows = f.store.db.prepare('SELECT node_id, online, tasks FROM node_history WHERE res = ? ORDER BY node_id, t').all(MIN) as Array<{ node_id: string; online: number; tasks: number }>;
    // b was first seen in the 6th of the first minute's 12 buckets: online 7/12 of it (rounded to 3 places).
    assert.deepEqual(rows.map((r) => [r.node_id, r.online, r.tasks]), [[a, 1, 0], [a, 1, 0], [b, 0.583, 2], [b, 1, 0]]);
  } finally {
    f.close();
  }
});

test('history memory is bounded: one ring per node with data, dropped after a full ring of nothing', () => {
  const f = fixture({ points: 12 });
  try {
    for (let i = 0; i < 50; i++) f.h.onAdvert(advert(i.toString(16).padStart(32, '0'), 30));
    f.h.tick(T0 + 5000);
    assert.deepEqual(f.h.memory(), { nodes: 50, bytes: 50 * 10 * 12 * 4 + 12 * 8 });
    for (let k = 2; k <= 13; k++) f.h.tick(T0 + k * 5000);
    assert.equal(f.h.memory().nodes, 0, 'rings of nodes silent for a full ring are freed');
    assert.throws(() => new History(f.store.db, { nodes: () => [], reputation: () => 0 }, { stepMs: 7000 }), /divides a minute/);
  } finally {
    f.close();
  }
});

const UNDERVOLT = { underVoltage: true, freqCapped: false, throttled: false, softTempLimit: false };

function view(id: string, o: Partial<NodeView & { enrolled: boolean }> = {}): NodeView & { enrolled: boolean } {
  return {
    id, region: 'local', online: true, thermalState: 'cool' as ThermalState, temperatureC: 40, throttled: null, load: 0, memFreeMb: 100, power: null, location: null,
    version: null, advertAt: null, slots: 4, freeSlots: 4, fuelRate: 1, headroom: 1, priceFloor: 1, profile: 'x', reputation: 0.5, quarantined: false, leases: 0,
    grantedSlots: 1, benchedUntil: null, drained: false, lastSeen: T0, clock: null, budget: null, sustain: null, sprintS: null, trendCPerMin: null, enrolled: true, ...o,
  };
}

test('alerts: raised while their condition holds, cleared into the recent list; offline only after the grace; stalled jobs', () => {
  const al = new Alerts({ offlineGraceMs: 10_000, jobStallMs: 30_000 }, T0);
  const nodes = [
    view('1'.repeat(32), { thermalState: 'critical' }),
    view('2'.repeat(32), { quarantined: true }),
    view('3'.repeat(32), { online: false, lastSeen: T0 }),
    view('4'.repeat(32), { throttled: { now: UNDERVOLT, sinceBoot: UNDERVOLT } }),
    view('5'.repeat(32), { online: false, lastSeen: T0, enrolled: false }),
  ];
  al.evaluate({ nodes, jobs: [{ id: 'j1', finished: 3, tasks: 10 }], mqttUp: false, pendingJoins: 2 }, T0 + 1000);
  const kinds = () => al.list().active.map((a) => `${a.kind}:${a.subject.slice(0, 1)}`).sort();
  assert.deepEqual(kinds(), ['gateway-mqtt:g', 'join-request:e', 'node-critical:1', 'node-quarantined:2', 'node-undervoltage:4']);
  assert.equal(al.list().active[0]!.severity, 'critical', 'critical first');
  const v1 = al.version;
  al.evaluate({ nodes, jobs: [{ id: 'j1', finished: 3, tasks: 10 }], mqttUp: true, pendingJoins: 0 }, T0 + 40_000);
  assert.deepEqual(kinds(), ['job-stalled:j', 'node-critical:1', 'node-offline:3', 'node-quarantined:2', 'node-undervoltage:4'], 'revoked (not enrolled) nodes raise nothing');
  assert.ok(al.version > v1);
  assert.deepEqual(al.list().recent.map((a) => a.kind).sort(), ['gateway-mqtt', 'join-request']);
  assert.equal(al.counts().critical, 2);
  const v2 = al.version;
  al.evaluate({ nodes, jobs: [{ id: 'j1', finished: 3, tasks: 10 }], mqttUp: true, pendingJoins: 0 }, T0 + 41_000);
  assert.equal(al.version, v2, 'nothing changed, no new version (no push)');
});

test('list parameters: validated, with a clear reason', () => {
  const spec = { sorts: ['a', 'b'] as const, defaultSort: 'a' as const, filters: { state: ['x', 'y'] } };
  assert.deepEqual(parsePage({}, spec), { q: '', sort: 'a', desc: false, filters: {}, limit: 50, offset: 0 });
  assert.deepEqual(parsePage({ q: ' hi ', sort: 'b', order: 'desc', limit: '10', offset: '20', state: 'y' }, spec), { q: 'hi', sort: 'b', desc: true, filters: { state: 'y' }, limit: 10, offset: 20 });
  for (const [q, why] of [[{ sort: 'zz' }, /sort must be one of a, b/], [{ limit: '0' }, /limit/], [{ limit: '1.5' }, /limit/], [{ offset: '-1' }, /offset/], [{ state: 'z' }, /state must be/], [{ q: 'x'.repeat(65) }, /q must be/], [{ order: 'up' }, /order/]] as const) {
    assert.throws(() => parsePage(q, spec), (e: Error) => e instanceof PageError && why.test(e.message));
  }
  assert.equal(likePrefix('a%b_c\\'), 'a\\%b\\_c\\\\%');
  const page = pageOf([{ v: 3 }, { v: null }, { v: 1 }, { v: 2 }], { ...parsePage({}, spec), limit: 2, desc: true }, (x) => x.v);
  assert.deepEqual(page, { total: 4, items: [{ v: 3 }, { v: 2 }] });
});

test('join requests: bounded, the longest silent goes first, persisted to a file and read back', () => {
  const dir = tempDir('swarmlet-pending-');
  try {
    const p = new PendingJoins(3);
    const ids = [1, 2, 3, 4].map(() => generateIdentity());
    p.record(ids[0]!.publicKey, ids[0]!.nodeId, '10.0.0.1', T0);
    p.record(ids[1]!.publicKey, ids[1]!.nodeId, null, T0 + 1);
    p.record(ids[2]!.publicKey, ids[2]!.nodeId, null, T0 + 2);
    p.record(ids[0]!.publicKey, ids[0]!.nodeId, '10.0.0.1', T0 + 3); // still trying: moves to the front
    p.record(ids[3]!.publicKey, ids[3]!.nodeId, null, T0 + 4);
    assert.deepEqual(p.list().map((r) => r.nodeId), [ids[3]!.nodeId, ids[0]!.nodeId, ids[2]!.nodeId], 'the one silent longest (1) went');
    assert.equal(p.get(ids[0]!.nodeId)!.attempts, 2);
    const file = pendingFileFor(join(dir.path, 'enrollment.json'));
    assert.match(file, /enrollment\.pending\.json$/);
    p.persistTo(file);
    const back = new PendingJoins();
    back.load(file);
    assert.deepEqual(back.list().map((r) => [r.nodeId, r.attempts, r.address]), p.list().map((r) => [r.nodeId, r.attempts, r.address]));
    writeFileSync(file, JSON.stringify({ format: 'swarmlet-pending-v1', requests: [{ publicKey: 'zz' }] }));
    assert.throws(() => back.load(file), /requests\.0\.publicKey/);
    const missing = new PendingJoins();
    missing.load(join(dir.path, 'nope.json'));
    assert.equal(missing.size, 0);
    assert.ok(MAX_PENDING >= 100);
  } finally {
    dir.cleanup();
  }
});

test('enrollment remembers revoked keys: readmit restores role and name; deny refuses a join request; the file keeps both lists', () => {
  const dir = tempDir('swarmlet-enr-');
  try {
    const a = generateIdentity();
    const b = generateIdentity();
    const e = new Enrollment();
    e.add(a.publicKey, 'node', 'kitchen');
    const events: string[] = [];
    e.on('revoked', (x) => events.push(`revoked:${x.nodeId}`));
    e.on('added', (x) => events.push(`added:${x.nodeId}`));
    assert.equal(e.revoke(a.nodeId), true);
    assert.equal(e.has(a.nodeId), false);
    assert.equal(e.revocation(a.nodeId)?.name, 'kitchen');
    e.pending.record(b.publicKey, b.nodeId, null);
    e.deny(b.publicKey);
    assert.equal(e.pending.size, 0);
    assert.equal(e.revocation(b.nodeId)?.reason, 'join request refused');
    const f = join(dir.path, 'enrollment.json');
    e.saveTo(f);
    const st = readEnrollmentDoc(f);
    assert.equal(st.keys.length, 0);
    assert.deepEqual(st.revoked.map((r) => r.name ?? null).sort(), ['kitchen', null].sort());
    const back = Enrollment.fromFile(f);
    assert.equal(back.readmit(a.nodeId)?.role, 'node');
    assert.equal(back.get(a.nodeId)?.name, 'kitchen');
    assert.equal(back.revocation(a.nodeId), undefined);
    assert.equal(back.readmit(a.nodeId), undefined, 'not revoked any more');
    assert.deepEqual(events, [`revoked:${a.nodeId}`]);
    // An older reader's view: the file still has format and keys as before.
    const raw = JSON.parse(readFileSync(f, 'utf8')) as { format: string; keys: unknown[] };
    assert.equal(raw.format, 'swarmlet-enrollment-v1');
    assert.ok(Array.isArray(raw.keys));
  } finally {
    dir.cleanup();
  }
});

test('persistDecisions records every console decision in the file: revoke, refuse, readmit, approve', () => {
  const dir = tempDir('swarmlet-enr-');
  try {
    const [a, b, c] = [generateIdentity(), generateIdentity(), generateIdentity()];
    const f = join(dir.path, 'enrollment.json');
    const start = new Enrollment();
    start.add(a.publicKey, 'node', 'kitchen');
    start.saveTo(f);
    const live = Enrollment.fromFile(f);
    const errors: Error[] = [];
    const stop = persistDecisions(live, f, (e) => errors.push(e));
    const hex = (k: Uint8Array) => Buffer.from(k).toString('hex');
    try {
      live.revoke(a.nodeId, 'lost');
      let doc = readEnrollmentDoc(f);
      assert.deepEqual(doc.keys, []);
      assert.equal(doc.revoked[0]?.reason, 'lost');
      live.pending.record(b.publicKey, b.nodeId, '127.0.0.1');
      live.deny(b.publicKey);
      doc = readEnrollmentDoc(f);
      assert.equal(doc.revoked.find((r) => r.nodeId === b.nodeId)?.reason, 'join request refused');
      live.readmit(a.nodeId);
      doc = readEnrollmentDoc(f);
      assert.deepEqual(doc.keys.map((k) => [hex(k.publicKey), k.role, k.name]), [[hex(a.publicKey), 'node', 'kitchen']]);
      assert.equal(doc.revoked.some((r) => r.nodeId === a.nodeId), false, 'readmitted: no longer under revoked');
      live.pending.record(c.publicKey, c.nodeId, null);
      live.add(c.publicKey, 'node', 'garage'); // an approved join request
      assert.equal(live.pending.size, 0);
      doc = readEnrollmentDoc(f);
      assert.deepEqual(doc.keys.map((k) => k.name).sort(), ['garage', 'kitchen']);
      // A second process reading the file sees the same enrollment.
      const other = Enrollment.fromFile(f);
      assert.deepEqual(other.list().map((k) => k.nodeId).sort(), [a.nodeId, c.nodeId].sort());
      assert.deepEqual(other.revocations().map((r) => r.nodeId), [b.nodeId]);
    } finally {
      stop();
    }
    assert.deepEqual(errors, []);
  } finally {
    dir.cleanup();
  }
});
