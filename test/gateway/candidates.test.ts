/**
 * The fast path's candidate index (gateway/candidates.ts) against the brute-force scan it
 * replaces (Fleet.fastCandidates + auction.pickWinners), with a real Store, Reputation and
 * Fleet: under random adverts, statuses, leases taken and ended, grants earned and lost
 * (benches that start and run out), standings and quarantines, scheduling rounds and
 * price ceilings, fuel and memory terms, every pick names the same nodes in the same order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { Fleet } from '../../gateway/fleet.js';
import { Store } from '../../gateway/store.js';
import { Reputation } from '../../gateway/trust.js';
import { CandidateIndex } from '../../gateway/candidates.js';
import { DEFAULT_WEIGHTS, pickWinners } from '../../gateway/auction.js';
import type { CapacityAdvert, ThermalState } from '../../protocol/messages.js';

const NODES = Array.from({ length: 12 }, (_, i) => i.toString(16).repeat(32));
const REGIONS = ['r', 's'];
const STATES: ThermalState[] = ['cool', 'cool', 'warm', 'hot', 'critical'];
const GW = { lat: 48, lon: 11 };

const node = fc.nat(NODES.length - 1).map((i) => NODES[i]!);
const op = fc.oneof(
  { weight: 6, arbitrary: fc.record({
    kind: fc.constant('advert' as const), node, region: fc.constantFrom(...REGIONS), state: fc.constantFrom(...STATES), slots: fc.constantFrom(0, 1, 2, 4),
    price: fc.constantFrom(0.5, 1, 1, 2, 5), headroom: fc.constantFrom(0, 0.3, 0.9, 1), loc: fc.boolean(), limits: fc.constantFrom(null, 1e6, 1e9),
  }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('status' as const), node, online: fc.constantFrom(true, false, false) }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('lease' as const), node, take: fc.boolean() }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('grant' as const), node, delivered: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('standing' as const), node, what: fc.constantFrom('verified', 'verified', 'slip', 'punish', 'readmit') }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('time' as const), ms: fc.integer({ min: 0, max: 40_000 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('round' as const) }) },
  { weight: 6, arbitrary: fc.record({
    kind: fc.constant('pick' as const), region: fc.constantFrom(...REGIONS), need: fc.integer({ min: 1, max: 3 }), maxPrice: fc.constantFrom(1, 3, 10, 10),
    fuel: fc.constantFrom(1e5, 1e5, 1e7), exclude: fc.subarray(NODES, { maxLength: 3 }), lease: fc.boolean(),
  }) },
);

test('the candidate index picks what the brute-force scan picks, under random fleet changes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'swarmlet-cands-'));
  let runs = 0;
  const stats = { picks: 0, nonEmpty: 0 };
  try {
    await fc.assert(fc.asyncProperty(fc.array(op, { minLength: 80, maxLength: 200 }), fc.constantFrom(1, 3), async (ops, depth) => {
      const store = new Store(join(dir, `s${runs++}`));
      try {
        const rep = new Reputation(store);
        const fleet = new Fleet(store, rep, 60_000);
        const index = new CandidateIndex(fleet, { depth, weights: DEFAULT_WEIGHTS, gatewayLocation: GW });
        let now = Date.now();
        let seq = 0;
        let filling = new Set<string>();
        let picks = 0;
        let nonEmpty = 0;
        for (const o of ops) {
          switch (o.kind) {
            case 'advert': {
              const a: CapacityAdvert = {
                nodeId: o.node, region: o.region, seq: ++seq, at: now, state: o.state, tempC: 40, throttled: null, load: 0.1, memFreeMb: 100,
                power: { source: 'ac', batteryPct: null }, slots: o.slots, freeSlots: o.slots, fuelRate: 1e6, headroom: o.headroom, priceFloor: o.price,
                location: o.loc ? { lat: 50, lon: 10 } : null, profile: 'p', sources: [],
                ...(o.limits === null ? {} : { limits: { fuel: o.limits, memoryPages: 256 } }),
              };
              fleet.onAdvert(a, now);
              break;
            }
            case 'status': fleet.onStatus(o.node, 'r', o.online, now); break;
            case 'lease': if (o.take) fleet.leaseTaken(o.node); else fleet.leaseEnded(o.node); break;
            case 'grant': if (o.delivered) fleet.grants.delivered(o.node, now); else fleet.grants.expired(o.node, now); break;
            case 'standing':
              if (o.what === 'verified') rep.verified([o.node]);
              else if (o.what === 'slip') rep.slip(o.node);
              else if (o.what === 'punish') rep.punish(o.node);
              else rep.readmit(o.node);
              break;
            case 'time': now += o.ms; break;
            case 'round': filling = new Set(); break;
            case 'pick': {
              const needs = { fuel: o.fuel, memoryPages: 256 };
              const ctx = { maxPrice: o.maxPrice, exclude: new Set(o.exclude), gatewayLocation: GW };
              const scanned = fleet.fastCandidates(o.region, depth, filling, now, needs);
              const expected = pickWinners(scanned, o.need, ctx, DEFAULT_WEIGHTS);
              const got = index.pick(o.region, o.need, ctx, needs, filling, now);
              assert.deepEqual(got.winners.map((w) => w.candidate.nodeId), expected.map((w) => w.candidate.nodeId));
              assert.deepEqual(got.winners.map((w) => w.score), expected.map((w) => w.score));
              assert.equal(got.empty, scanned.filter((c) => c.price <= o.maxPrice).length === 0);
              assert.equal(index.hasFast(o.region, now), fleet.hasFastNodes(o.region, now));
              picks++;
              if (got.winners.length) nonEmpty++;
              // As the scheduler does: winners take a lease (and are now in the round's set).
              if (o.lease) for (const w of got.winners) fleet.leaseTaken(w.candidate.nodeId);
              break;
            }
          }
        }
        stats.picks += picks;
        stats.nonEmpty += nonEmpty;
        return true;
      } finally {
        await store.closeAsync();
      }
    }), { numRuns: 60, endOnFailure: true });
    // The picks must have had something to pick, or the comparison says little.
    assert.ok(stats.nonEmpty > stats.picks / 3, `picks with winners: ${stats.nonEmpty} of ${stats.picks}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a pick costs the nodes it takes, not the fleet: 20,000 nodes, the best three first', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'swarmlet-cands-big-'));
  const store = new Store(dir);
  try {
    const rep = new Reputation(store);
    const fleet = new Fleet(store, rep, 3_600_000);
    const index = new CandidateIndex(fleet, { depth: 3, weights: DEFAULT_WEIGHTS, gatewayLocation: null });
    const ids: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const id = i.toString(16).padStart(32, '0');
      ids.push(id);
      fleet.onAdvert({
        nodeId: id, region: 'r', seq: 1, at: Date.now(), state: 'cool', tempC: 40, throttled: null, load: 0.1, memFreeMb: 100,
        power: { source: 'ac', batteryPct: null }, slots: 1, freeSlots: 1, fuelRate: 1e6, headroom: (i % 1000) / 1000, priceFloor: 1, location: null, profile: 'p', sources: [],
      });
    }
    // The scan would have to look at every node to know these are the three best (headroom 0.999).
    const filling = new Set<string>();
    const got = index.pick('r', 3, { maxPrice: 10 }, { fuel: 1, memoryPages: 1 }, filling);
    const best = ids.filter((_, i) => i % 1000 === 999).sort().slice(0, 3);
    assert.deepEqual(got.winners.map((w) => w.candidate.nodeId), best);
    assert.deepEqual([...filling].sort(), best);
  } finally {
    await store.closeAsync();
    rmSync(dir, { recursive: true, force: true });
  }
});
