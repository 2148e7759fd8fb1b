/**
 * Thermal placement (gateway/placement.ts, Fleet.fastNodes): each task goes to the node that
 * finishes it first by its advertised speed, budget and heat forecast; a task waits for a
 * busy node that is clearly faster; claims are bounded by what a node has delivered.
 */
import { afterEach, beforeEach, describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Fleet } from '../../gateway/fleet.js';
import { Store } from '../../gateway/store.js';
import { Reputation } from '../../gateway/trust.js';
import { fastNode, finishSeconds, place, runSeconds, taskFuel, type FastNode } from '../../gateway/placement.js';
import type { CapacityAdvert } from '../../protocol/messages.js';

let seq = 0;
type Thermal = NonNullable<CapacityAdvert['thermal']>;
const advert = (nodeId: string, o: Partial<CapacityAdvert> = {}, th: Partial<Thermal> | null = {}): CapacityAdvert => ({
  nodeId, region: 'r', seq: ++seq, at: Date.now(), state: 'cool', tempC: 45, throttled: null, load: 0, memFreeMb: 100,
  power: { source: 'ac', batteryPct: null }, slots: 4, freeSlots: 4, fuelRate: 1000, headroom: 0.9, priceFloor: 1, location: null,
  profile: 'p', sources: [], ...o,
  ...(th === null ? {} : { thermal: { clock: 1, budget: 4, sustain: [1, 1, 1, 1], sprintS: [3600, 3600, 3600, 3600], trendCPerMin: 0, ...th } }),
});
const node = (id: string, o: Partial<FastNode> = {}): FastNode => ({
  nodeId: id, region: 'r', budget: 4, window: 8, leases: 0, fullRate: 1000, sustain: [1], sprintS: [3600], price: 1, reputation: 0.5,
  tempC: 45, proven: true, ...o,
});
const none = new Set<string>();

test('a node from its advert: budget bounded by slots and what it earned; critical, or hot without a governor, takes nothing', () => {
  assert.equal(fastNode(advert('a'), 0, 4, 0.5)!.budget, 4);
  assert.equal(fastNode(advert('a', {}, { budget: 2 }), 0, 4, 0.5)!.budget, 2, 'the governor says two');
  assert.equal(fastNode(advert('a', {}, { budget: 4 }), 0, 1, 0.5)!.budget, 1, 'earned one');
  assert.equal(fastNode(advert('a', {}, { budget: 4 }), 0, 1, 0.5)!.window, 1, 'no queue before it has earned one');
  assert.equal(fastNode(advert('a', {}, { budget: 4 }), 0, 4, 0.5)!.window, 7);
  assert.equal(fastNode(advert('a', { state: 'critical' }), 0, 4, 0.5), null);
  assert.equal(fastNode(advert('a', {}, { budget: 0 }), 0, 4, 0.5), null);
  assert.ok(fastNode(advert('a', { state: 'hot' }), 0, 4, 0.5), 'hot with its own governor: still works');
  assert.equal(fastNode(advert('a', { state: 'hot' }, null), 0, 4, 0.5), null, 'hot without one: as before, nothing');
  // The full-clock rate is the claimed rate over the clock, with the clock floored: a claimed crawl does not inflate it.
  assert.equal(fastNode(advert('a', { fuelRate: 500 }, { clock: 0.5 }), 0, 4, 0.5)!.fullRate, 1000);
  assert.equal(fastNode(advert('a', { fuelRate: 500 }, { clock: 0.0001 }), 0, 4, 0.5)!.fullRate, 2500);
});

test('finish time: full clock while the sprint at that load lasts, then the sustained clock; the queue adds its share', () => {
  const cool = node('cool', { sustain: [1, 1, 0.9, 0.78], sprintS: [3600, 3600, 120, 60] });
  assert.equal(runSeconds(cool, 30_000), 30, 'one task on an idle node: full clock');
  assert.equal(runSeconds(cool, 90_000, 4), 60 + 30 / 0.78, 'at four tasks: 60 s sprint, then 0.78 of the clock');
  const hot = node('hot', { sustain: [1, 1, 0.9, 0.78], sprintS: [3600, 3600, 0, 0], leases: 3 });
  assert.equal(runSeconds(hot, 60_000), 60 / 0.78, 'a fourth task on a node at its ceiling');
  const full = node('full', { leases: 6, budget: 4, window: 8 });
  assert.equal(finishSeconds(full, 10_000), 10 + (10 * 3) / 5, 'queued behind three: T (L - b + 1) / (b + 1)');
});

test('place: the node that finishes first; heat spreads; a clearly faster busy node is waited for; deadlines and time limits hold', () => {
  const pi5 = node('pi5', { fullRate: 2500 });
  const pi4 = node('pi4', { fullRate: 1000 });
  const router = node('router', { fullRate: 200, budget: 1, window: 2 });
  assert.deepEqual(place([router, pi4, pi5], 1, 60_000, 600, none).now.map((n) => n.nodeId), ['pi5']);
  assert.deepEqual(place([router, pi4, pi5], 2, 60_000, 600, none).now.map((n) => n.nodeId), ['pi5', 'pi4'], 'redundancy: distinct nodes');
  assert.deepEqual(place([router, pi4, pi5], 1, 60_000, 600, new Set(['pi5'])).now.map((n) => n.nodeId), ['pi4'], 'a node that held it is never asked again');
  // Equal nodes: the less loaded one (heat spreads over the fleet).
  const a = node('a', { leases: 2 });
  const b = node('b', { leases: 1 });
  assert.equal(place([a, b], 1, 60_000, 600, none).now[0]!.nodeId, 'b');
  // The Pi 5 is full: 24 s + its queue's share (24 x 3 / 5) beats the Pi 4's 60 s clearly: the task waits for it.
  const busy5 = node('pi5', { fullRate: 2500, leases: 6, window: 6 });
  const p = place([router, pi4, busy5], 1, 60_000, 600, none);
  assert.deepEqual(p.now, []);
  assert.equal(p.waitFor?.nodeId, 'pi5');
  // ...unless waiting would miss the deadline (then the best free node now)...
  assert.equal(place([router, pi4, busy5], 1, 60_000, 30, none).now[0]!.nodeId, 'pi4');
  // ...or the busy node has not delivered anything yet (a claim alone holds no task back).
  assert.equal(place([router, pi4, { ...busy5, proven: false }], 1, 60_000, 600, none).now[0]!.nodeId, 'pi4');
  // Not clearly faster (within the wait gain): take the free node now.
  const busyPi4 = node('pi4b', { fullRate: 1100, leases: 4, window: 8 });
  assert.equal(place([pi4, busyPi4], 1, 60_000, 600, none).now[0]!.nodeId, 'pi4');
  // Too slow to finish within the task's time limit: never chosen while another is fast enough.
  const onlyRouterFree = [router, { ...pi4, leases: 8, window: 8, proven: false }];
  assert.deepEqual(place(onlyRouterFree, 1, 60_000, 600, none, 120).now, [], 'the router would take 300 s: killed at 120');
  assert.equal(place([router], 1, 60_000, 600, none, 120).now[0]!.nodeId, 'router', 'unless nothing is fast enough');
  assert.equal(taskFuel(5000, [pi4]), 5000);
  assert.equal(taskFuel(0, [pi4, pi5]), 2500, 'unmeasured: a second of the fastest core');
});

describe('Fleet.fastNodes', () => {
  let dir: string;
  let store: Store;
  let rep: Reputation;
  let fleet: Fleet;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'swarmlet-thermal-'));
    store = new Store(dir);
    rep = new Reputation(store);
    fleet = new Fleet(store, rep, 60_000);
  });
  afterEach(async () => {
    await store.closeAsync();
    rmSync(dir, { recursive: true, force: true });
  });

  it('claims are bounded by delivery: its own observed rate, else the median of those seen', () => {
    const [A, B, C] = ['a'.repeat(32), 'b'.repeat(32), 'c'.repeat(32)];
    for (const id of [A, B, C]) for (let i = 0; i < 8; i++) fleet.grants.delivered(id);
    fleet.onAdvert(advert(A, { fuelRate: 1000 }));
    fleet.onAdvert(advert(B, { fuelRate: 1e9 })); // a liar
    fleet.onAdvert(advert(C, { fuelRate: 1e9 })); // another, never delivered
    const rate = (id: string) => fleet.fastNodes('r').find((n) => n.nodeId === id)!.fullRate;
    assert.equal(rate(B), 1e9, 'nothing seen yet: the claim stands');
    fleet.observe(A, 100_000, 100); // 1000 fuel/s delivered
    fleet.observe(B, 100_000, 100); // B delivers 1000/s too
    assert.equal(rate(A), 1000);
    assert.equal(rate(B), 4000, 'four times what it delivered');
    assert.equal(rate(C), 4000, 'unseen: four times the median of those seen');
    assert.equal(fleet.fastNodes('r').find((n) => n.nodeId === C)!.proven, false);
    rep.punish(B);
    assert.equal(fleet.fastNodes('r').some((n) => n.nodeId === B), false, 'quarantined');
    fleet.onAdvert(advert(A, { state: 'critical' }));
    assert.equal(fleet.fastNodes('r').some((n) => n.nodeId === A), false, 'critical');
    assert.equal(fleet.hasFastNodes('r', Date.now(), true), true, 'a critical node will cool: thermal placement waits for it');
    fleet.onStatus(C, 'r', false);
    assert.equal(fleet.fastNodes('r').length, 0);
  });

  it('/api/nodes view: clock, decoded firmware flags, budget and forecast at the budget', () => {
    const A = 'a'.repeat(32);
    fleet.onAdvert(advert(A, { throttled: { now: 0b0110, sinceBoot: 0b1110 } }, { clock: 2 / 3, budget: 3, sustain: [1, 0.9, 0.8], sprintS: [9, 8, 7] }));
    const v = fleet.views().find((n) => n.id === A)!;
    assert.equal(v.clock, 2 / 3);
    assert.deepEqual(v.throttled!.now, { underVoltage: false, freqCapped: true, throttled: true, softTempLimit: false });
    assert.equal(v.throttled!.sinceBoot.softTempLimit, true);
    assert.equal(v.budget, 3);
    assert.equal(v.sustain, 0.8);
    assert.equal(v.sprintS, 7);
  });
});
