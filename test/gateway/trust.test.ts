/**
 * Trust from verified results only (gateway/trust.ts, over a real SQLite store): the check
 * rate schedule, what moves reputation, quarantine and readmission; and the schedule's
 * promise, computed: a device cheating on 10% of its tasks survives its first 100 tasks
 * with probability under 1%.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Store } from '../../gateway/store.js';
import { CHECK_PROBATION, CheckBudget, DEFAULT_CHECK_BUDGET, PROBATION_DONE, PROBATION_FULL, Reputation } from '../../gateway/trust.js';
import { tempDir } from '../helpers/common.js';

test('check rate: every result, then half, then the floor; only verified results move it; a catch quarantines; readmission starts over', async () => {
  const dir = tempDir();
  const store = new Store(dir.path);
  try {
    const rep = new Reputation(store);
    const n = 'a'.repeat(32);
    assert.equal(rep.checkRate(n, 0.05), 1, 'a new node: every result');
    for (let i = 0; i < PROBATION_FULL; i++) rep.verified([n]);
    assert.equal(rep.checkRate(n, 0.05), CHECK_PROBATION);
    for (let i = PROBATION_FULL; i < PROBATION_DONE; i++) rep.verified([n]);
    assert.equal(rep.checkRate(n, 0.05), 0.05, 'past probation, with the budget spent on its probation: the job\'s floor');
    assert.equal(rep.checkRate(n, 0.3), 0.3);
    const r = rep.get(n).reputation;
    assert.ok(r > 0 && r < 1);
    rep.slip(n);
    assert.ok(rep.get(n).reputation < r, 'an expired lease costs standing');
    assert.equal(rep.get(n).verified, PROBATION_DONE, 'but not its record');
    assert.equal(rep.punish(n), true);
    assert.equal(rep.punish(n), false, 'already quarantined');
    assert.equal(rep.isQuarantined(n), true);
    assert.equal(rep.get(n).reputation, 0);
    rep.verified([n]);
    assert.equal(rep.get(n).verified, PROBATION_DONE, 'a quarantined node earns nothing');
    assert.equal(rep.readmit(n), true);
    assert.equal(rep.checkRate(n, 0.05), 1, 'readmitted: checked on every result again');
    assert.equal(rep.readmit(n), false);
    // persisted: a new Reputation over the same store sees the same standing
    assert.deepEqual(new Reputation(store).get(n), rep.get(n));
  } finally {
    await store.closeAsync();
    dir.cleanup();
  }
});

test('the check budget: spent in full on established nodes, probation checks first, over a sliding window', () => {
  const b = new CheckBudget(0.1);
  assert.equal(b.rate(), 0.1, 'nothing seen yet: the whole budget');
  for (let i = 0; i < 900; i++) b.note(0);
  assert.ok(Math.abs(b.rate() - 0.1) < 1e-9, 'only established nodes: each at the budget');
  for (let i = 0; i < 100; i++) b.note(0.5); // probation owes 50 checks of the 100 the budget has for 1,000 results
  assert.ok(Math.abs(b.rate() - 50 / 900) < 1e-9, `what probation leaves: ${b.rate()}`);
  for (let i = 0; i < 300; i++) b.note(1); // a burst of new nodes owes more than the budget
  assert.equal(b.rate(), 0, 'probation over budget: established nodes fall to the job floor');
  for (let i = 0; i < 2000; i++) b.note(0);
  assert.ok(Math.abs(b.rate() - 0.1) < 1e-9, 'the burst slid out of the window');
  assert.throws(() => new CheckBudget(1.5), /between 0 and 1/);
  assert.throws(() => new CheckBudget(Number.NaN), /between 0 and 1/);
  assert.ok(DEFAULT_CHECK_BUDGET < 0.1, 'inside the 10% the issue allows');
});

test('an established node is checked at what the budget leaves, never below the job floor', async () => {
  const dir = tempDir();
  const store = new Store(dir.path);
  try {
    const rep = new Reputation(store, 0.08);
    const n = 'b'.repeat(32);
    for (let i = 0; i < PROBATION_DONE; i++) rep.verified([n]);
    let rate = 0;
    for (let i = 0; i < 3000; i++) rate = rep.checkRate(n, 0.05);
    assert.ok(Math.abs(rate - 0.08) < 1e-9, `steady state: the budget, ${rate}`);
    assert.equal(rep.checkRate(n, 0.2), 0.2, 'a job asking for more gets more');
    const fresh = 'c'.repeat(32);
    for (let i = 0; i < 1500; i++) assert.equal(rep.checkRate(fresh, 0.05), 1, 'probation is never cut by the budget');
    assert.equal(rep.checkRate(n, 0.05), 0.05, 'probation spent the budget: the floor');
  } finally {
    await store.closeAsync();
    dir.cleanup();
  }
});

test('the schedule catches a 10% cheater within its first 100 tasks with probability >= 99%', () => {
  // Exact dynamic programme over (tasks done, verified so far) for a device that lies on
  // 10% of its tasks; it survives a check only when that task was honest.
  const c = 0.1;
  let alive = new Map<number, number>([[0, 1]]); // verified -> probability, not caught yet
  for (let t = 0; t < 100; t++) {
    const next = new Map<number, number>();
    for (const [v, p] of alive) {
      const rate = v < PROBATION_FULL ? 1 : v < PROBATION_DONE ? CHECK_PROBATION : 0.05;
      next.set(v + 1, (next.get(v + 1) ?? 0) + p * rate * (1 - c)); // checked, honest: verified + 1
      next.set(v, (next.get(v) ?? 0) + p * (1 - rate)); // not checked
    }
    alive = next;
  }
  const survive = [...alive.values()].reduce((s, p) => s + p, 0);
  assert.ok(survive < 0.01, `a 10% cheater survives 100 tasks with probability ${survive}`);
});
