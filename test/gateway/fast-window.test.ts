/**
 * The fast path's window per node (Fleet.fastCandidates with a real Store and Reputation):
 * up to depth x slots leases; once all slots are busy, a node is refilled only when a whole
 * slot's worth of its window is free (hysteresis, so assignments go out several to a
 * message), or while it is being filled in the current round. The slots counted are the
 * advertised ones bounded by what the node has earned (grants.ts): a claim alone buys one.
 */
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Fleet } from '../../gateway/fleet.js';
import { Store } from '../../gateway/store.js';
import { Reputation } from '../../gateway/trust.js';
import type { CapacityAdvert, ThermalState } from '../../protocol/messages.js';

let seq = 0;
const advert = (nodeId: string, slots: number, over: Partial<CapacityAdvert> = {}): CapacityAdvert => ({
  nodeId, region: 'r', seq: ++seq, at: Date.now(), state: 'cool', tempC: 40, throttled: null, load: 0.1, memFreeMb: 100,
  power: { source: 'ac', batteryPct: null }, slots, freeSlots: slots, fuelRate: 1e6, headroom: 0.9, priceFloor: 1, location: null,
  profile: 'p', sources: [], ...over,
});

const A = 'a'.repeat(32);
const B = 'b'.repeat(32);

describe('fast-path window', () => {
  let dir: string;
  let store: Store;
  let rep: Reputation;
  let fleet: Fleet;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'swarmlet-window-'));
    store = new Store(dir);
    rep = new Reputation(store);
    fleet = new Fleet(store, rep, 60_000);
    // Both nodes have a record of delivered results: their advertised slots count in full.
    for (const id of [A, B]) for (let i = 0; i < 16; i++) fleet.grants.delivered(id);
  });
  afterEach(async () => {
    await store.closeAsync();
    rmSync(dir, { recursive: true, force: true });
  });

  const ids = (depth: number, filling?: ReadonlySet<string>) => fleet.fastCandidates('r', depth, filling).map((c) => c.nodeId).sort();
  const take = (id: string, n: number) => { for (let i = 0; i < n; i++) fleet.leaseTaken(id); };
  const end = (id: string, n: number) => { for (let i = 0; i < n; i++) fleet.leaseEnded(id); };
  /** For leases 0..max, whether the node is a candidate. */
  const profile = (id: string, max: number, depth: number, filling?: ReadonlySet<string>) => {
    end(id, 1000);
    const out: boolean[] = [];
    for (let l = 0; l <= max; l++) {
      out.push(ids(depth, filling).includes(id));
      fleet.leaseTaken(id);
    }
    end(id, 1000);
    return out;
  };

  it('depth 1 (the default) stops at the slots', () => {
    fleet.onAdvert(advert(A, 4));
    assert.deepEqual(profile(A, 5, 1), [true, true, true, true, false, false]);
    take(A, 3);
    assert.deepEqual(fleet.fastCandidates('r').map((c) => c.nodeId), [A], 'depth defaults to 1');
    take(A, 1);
    assert.deepEqual(fleet.fastCandidates('r'), []);
  });

  it('depth 3: free slots always; busy slots refilled only with a whole slot-count of window free', () => {
    fleet.onAdvert(advert(A, 4)); // window 12
    // leases 0..3 a slot is free; 4..8 busy but >= 4 free in the window; 9..11 less than 4 free; 12 full
    assert.deepEqual(profile(A, 13, 3), [true, true, true, true, true, true, true, true, true, false, false, false, false, false]);
  });

  it('while filling in the same round, it goes up to the full window and no further', () => {
    fleet.onAdvert(advert(A, 4));
    const filling = new Set([A]);
    assert.deepEqual(profile(A, 13, 3, filling), [...Array(12).fill(true), false, false]);
    // another node in `filling` does not help this one
    assert.equal(profile(A, 10, 3, new Set([B]))[10], false);
  });

  it('hysteresis: a full node is not refilled by one finished task, only by a slot-count of them', () => {
    fleet.onAdvert(advert(A, 4));
    take(A, 12);
    assert.deepEqual(ids(3), []);
    end(A, 1);
    assert.deepEqual(ids(3), [], '11 leases: 1 free in the window');
    end(A, 2);
    assert.deepEqual(ids(3), [], '9 leases: 3 free');
    end(A, 1);
    assert.deepEqual(ids(3), [A], '8 leases: a slot-count (4) free');
    const c = fleet.fastCandidates('r', 3)[0]!;
    assert.equal(c.etaMs, 2000, 'eta grows with the queue: 8 leases over 4 slots');
    // refilled in one round (the scheduler marks it filling after its first pick)
    take(A, 1);
    assert.deepEqual(ids(3), []);
    assert.deepEqual(ids(3, new Set([A])), [A]);
    take(A, 3);
    assert.deepEqual(ids(3, new Set([A])), [], 'full again');
  });

  it('one slot: the window is depth leases, no gap', () => {
    fleet.onAdvert(advert(A, 1));
    assert.deepEqual(profile(A, 4, 3), [true, true, true, false, false]);
  });

  it('each node has its own window; hot, critical, quarantined, offline or elsewhere: none', () => {
    fleet.onAdvert(advert(A, 2));
    fleet.onAdvert(advert(B, 4));
    take(A, 5); // window 6: 1 free < 2 slots
    take(B, 5); // window 12: 7 free
    assert.deepEqual(ids(3), [B]);
    assert.deepEqual(ids(3, new Set([A])), [A, B]);
    for (const state of ['hot', 'critical'] as ThermalState[]) {
      fleet.onAdvert(advert(B, 4, { state }));
      assert.deepEqual(ids(3), [], state);
    }
    fleet.onAdvert(advert(B, 4, { state: 'warm' }));
    assert.deepEqual(ids(3), [B], 'warm is fine');
    assert.deepEqual(fleet.fastCandidates('elsewhere', 3), []);
    rep.punish(B);
    assert.deepEqual(ids(3, new Set([B])), [], 'quarantined, even while filling');
    end(A, 5);
    fleet.onStatus(A, 'r', false);
    assert.deepEqual(ids(3), [], 'offline');
  });

  it('a claim alone buys one slot: the window grows with delivered results, halves on expiries, and a node is benched after three in a row', () => {
    const C = 'c'.repeat(32);
    fleet.onAdvert(advert(A, 2));
    fleet.onAdvert(advert(C, 1024));
    assert.deepEqual(profile(C, 4, 3), [true, true, true, false, false], 'unproven: 1 slot x depth 3, whatever it advertises');
    for (let i = 0; i < 7; i++) fleet.grants.delivered(C);
    assert.equal(fleet.grants.slots(C, 1024), 8, 'one more slot per delivered result');
    assert.equal(profile(C, 30, 3, new Set([C])).filter(Boolean).length, 24, 'window: 8 slots x depth 3');
    assert.equal(fleet.grants.slots(C, 4), 4, 'never more than it advertises');
    fleet.grants.expired(C);
    assert.equal(fleet.grants.slots(C, 1024), 4, 'an expired lease halves it');
    fleet.grants.expired(C);
    assert.equal(fleet.grants.expired(C), true, 'the third expiry in a row benches it');
    assert.deepEqual(ids(3).includes(C), false, 'benched: no work');
    assert.equal(fleet.hasRoom(C, 4), false);
    assert.equal(fleet.hasFastNodes('r'), true, 'others still can');
    const later = Date.now() + 16_000;
    assert.equal(fleet.grants.slots(C, 1024, later), 1, 'after the bench: a probe of one slot');
    fleet.grants.delivered(C, later);
    assert.equal(fleet.grants.view(C, later).granted, 2);
  });
});
