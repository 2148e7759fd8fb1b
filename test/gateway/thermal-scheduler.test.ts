/**
 * The scheduler with thermal placement over a real broker: tasks go to the node that
 * finishes them first by its advert (speed, budget, heat); a critical node gets nothing, a hot
 * one whose own governor still has a budget does; and a fleet that bids on nothing gets a
 * bounded trickle of offers, not a storm.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { CapacityAdvert, Offer } from '../../protocol/messages.js';
import { closeRuntime, enc, smallMesh, waitFor } from './harness.js';

after(closeRuntime);

type Thermal = NonNullable<CapacityAdvert['thermal']>;
const governed = (o: Partial<Thermal> = {}): Thermal => ({ clock: 1, budget: 2, sustain: [1, 1], sprintS: [3600, 3600], trendCPerMin: 0, ...o });


test('thermal placement: the fastest node gets the work; critical gets none; hot with a governor budget still works', async () => {
  const m = await smallMesh([{ slots: 2 }, { slots: 2 }, { slots: 2 }]);
  try {
    const [fast, slow, critical] = m.ds;
    fast!.advertise({ fuelRate: 1e9, thermal: governed() });
    slow!.advertise({ fuelRate: 1e6, thermal: governed() });
    critical!.advertise({ fuelRate: 1e12, state: 'critical', thermal: governed({ budget: 0 }) });
    await waitFor('adverts in', () => m.gw.store.getNode(critical!.nodeId)?.state === 'critical' && m.gw.store.getNode(fast!.nodeId)?.fuel_rate === 1e9);
    for (let i = 0; i < 4; i++) {
      const { id } = await m.gw.submitJob({ task: 'sha256', inputs: [enc(`fast-${i}`)] });
      const v = await m.gw.waitForJob(id, 20_000);
      assert.equal(v.state, 'done');
      assert.equal(v.results![0]!.nodeId, fast!.nodeId, `task ${i} went to the node that finishes first`);
    }
    assert.equal(slow!.assignments.length, 0);
    assert.equal(critical!.assignments.length, 0, 'critical: nothing, whatever it claims');
    // The fast node is hot but its governor still has room: it keeps working (a hot node without one would not).
    fast!.advertise({ fuelRate: 1e9, state: 'hot', thermal: governed({ budget: 1 }) });
    await waitFor('hot advert', () => m.gw.store.getNode(fast!.nodeId)?.state === 'hot');
    const { id } = await m.gw.submitJob({ task: 'sha256', inputs: [enc('hot but governed')] });
    assert.equal((await m.gw.waitForJob(id, 20_000)).results![0]!.nodeId, fast!.nodeId);
  } finally { await m.close(); }
});

test('no offer storm: a fleet that bids on nothing sees a bounded number of open offers; work resumes when a node bids', async () => {
  const m = await smallMesh([{ slots: 2, bid: false }, { slots: 2, bid: false }], { fastPath: false, bidWindowMs: 80 });
  try {
    const [a, b] = m.ds;
    const big = (i: number) => { const x = new Uint8Array(70 * 1024); x[0] = i & 0xff; x[1] = i >> 8; return x; };
    const { id } = await m.gw.submitJob({ task: 'sha256', inputs: Array.from({ length: 100 }, (_, i) => big(i)) });
    await new Promise((r) => setTimeout(r, 2000));
    // Offers open at once: at most max(16, 4 per online node), not the 512 of old. (Each offer
    // once: a client that reconnects under load may be handed a QoS 1 message again.)
    const offers = [...new Map(a!.offers.map((o) => [o.offerId, o])).values()];
    const open = maxOverlap(offers, 80);
    assert.ok(open <= 16, `${open} offers open at once`);
    assert.ok(offers.length > 0);
    // Each silent offer doubles the task's wait (160, 320, 640 ms...): at most 5 offers of one task in
    // 2 s, where a fixed retry after two bid windows would make 8.
    const perTask = new Map<string, number>();
    for (const o of offers) perTask.set(o.taskId, (perTask.get(o.taskId) ?? 0) + 1);
    assert.ok(Math.max(...perTask.values()) <= 5, `up to ${Math.max(...perTask.values())} offers of one task in 2 s`);
    // A device that bids gets the work done.
    b!.setBidding(true);
    const v = await m.gw.waitForJob(id, 90_000);
    assert.equal(v.state, 'done');
    assert.ok(v.results!.every((r) => r.nodeId === b!.nodeId));
  } finally { await m.close(); }
});

/**
 * Most offers whose bid windows overlap at one moment, from their bidUntil. A timer may fire up
 * to a millisecond before Date.now() says its delay has passed (libuv rounds its loop time), so
 * an offer made as soon as one closes can start a moment before the other windows' nominal end:
 * windows count from 2 ms after their nominal start.
 */
function maxOverlap(offers: readonly Offer[], windowMs: number): number {
  const ev = offers.flatMap((o) => [[o.bidUntil - windowMs + 2, 1], [o.bidUntil, -1]] as const).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let cur = 0;
  let max = 0;
  for (const [, d] of ev) { cur += d; max = Math.max(max, cur); }
  return max;
}

test('a region larger than thermalScanMax is placed by the candidate index (bid score), not by forecast', async () => {
  // Two nodes: one far faster, one cheaper with more headroom. By forecast the fast one wins;
  // by the index's bid score (price and headroom weigh, speed does not) the cheap one does.
  const devs = [{ slots: 2, priceFloor: 9, headroom: 0.1 }, { slots: 2, priceFloor: 1, headroom: 0.9 }];
  for (const [scanMax, winner] of [[256, 0], [1, 1]] as const) {
    const m = await smallMesh(devs, { thermalScanMax: scanMax });
    try {
      const [fast, cheap] = m.ds;
      fast!.advertise({ fuelRate: 1e10, priceFloor: 9, headroom: 0.1, thermal: governed() });
      cheap!.advertise({ fuelRate: 1e6, priceFloor: 1, headroom: 0.9, thermal: governed() });
      await waitFor('adverts in', () => m.gw.store.getNode(fast!.nodeId)?.fuel_rate === 1e10 && m.gw.store.getNode(cheap!.nodeId)?.fuel_rate === 1e6);
      const { id } = await m.gw.submitJob({ task: 'sha256', inputs: [enc(`scan-${scanMax}`)], maxPrice: 10 });
      const v = await m.gw.waitForJob(id, 20_000);
      assert.equal(v.state, 'done');
      assert.equal(v.results![0]!.nodeId, m.ds[winner]!.nodeId, `thermalScanMax ${scanMax}`);
    } finally { await m.close(); }
  }
});
