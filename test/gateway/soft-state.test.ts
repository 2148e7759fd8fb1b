/**
 * The fleet keeps adverts and online flags in memory and writes them lazily: nothing is
 * written per advert, a read of the node list writes what changed first, and the timer
 * writes the rest in one go.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Fleet } from '../../gateway/fleet.js';
import { Store } from '../../gateway/store.js';
import { Reputation } from '../../gateway/trust.js';
import type { CapacityAdvert } from '../../protocol/messages.js';

const advert = (nodeId: string, seq: number, freeSlots: number): CapacityAdvert => ({
  nodeId, region: 'r', seq, at: Date.now(), state: 'cool', tempC: 40, throttled: null, load: 0.1, memFreeMb: 100,
  power: { source: 'ac', batteryPct: null }, slots: 4, freeSlots, fuelRate: 1e6, headroom: 0.9, priceFloor: 1, location: null, profile: 'p', sources: [],
});

describe('fleet soft state', () => {
  it('adverts are written lazily, together, and before any read of the stored nodes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmlet-soft-'));
    const store = new Store(dir, { durability: 'full' });
    try {
      const fleet = new Fleet(store, new Reputation(store), 100);
      const a = 'a'.repeat(32);
      const b = 'b'.repeat(32);
      for (let i = 1; i <= 20; i++) fleet.onAdvert(advert(a, i, i % 5));
      fleet.onAdvert(advert(b, 1, 3));
      assert.equal(store.getNode(a), undefined, 'not written per advert');
      assert.equal(fleet.unsaved, 2);
      assert.equal(fleet.fastCandidates('r').length, 2, 'yet placement sees both at once');
      await new Promise((r) => setTimeout(r, 250));
      assert.equal(fleet.unsaved, 0, 'the timer wrote them');
      assert.equal(store.getNode(a)?.free_slots, 0, 'the latest advert (seq 20: 20 % 5 free)');
      assert.equal(store.getNode(a)?.online, 1);
      fleet.onStatus(b, 'r', false);
      const view = fleet.views().find((n) => n.id === b)!;
      assert.equal(view.online, false);
      assert.equal(store.getNode(b)?.online, 0, 'views() wrote the change first');
      assert.equal(fleet.onlineCount(), 1);
    } finally {
      await store.closeAsync();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('alert views carry what the full views say of every node, in memory or only stored', () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmlet-soft-'));
    const store = new Store(dir, { durability: 'full' });
    try {
      const rep = new Reputation(store);
      const fleet = new Fleet(store, rep, 100);
      const ids = ['a', 'b', 'c', 'd', 'e', 'f'].map((c) => c.repeat(32));
      const [hot, undervolt, offline, benched, quarantined, storedOnly] = ids as [string, string, string, string, string, string];
      for (const id of ids) fleet.onAdvert(advert(id, 1, 2));
      fleet.onAdvert({ ...advert(hot, 2, 0), state: 'critical' });
      fleet.onAdvert({ ...advert(undervolt, 2, 2), throttled: { now: 0x1, sinceBoot: 0x1 } });
      fleet.onStatus(offline, 'r', false);
      for (let i = 0; i < 12; i++) fleet.grants.expired(benched);
      rep.punish(quarantined);
      fleet.flush();
      // A node known only from the store (seen before a restart): a new Fleet over the same store.
      const after = new Fleet(store, rep, 100);
      for (const id of ids) if (id !== storedOnly) after.onAdvert(id === hot ? { ...advert(id, 2, 0), state: 'critical' } : id === undervolt ? { ...advert(id, 2, 2), throttled: { now: 0x1, sinceBoot: 0x1 } } : advert(id, 3, 2));
      after.onStatus(offline, 'r', false);
      for (let i = 0; i < 12; i++) after.grants.expired(benched);
      for (const f of [fleet, after]) {
        const now = Date.now();
        const pick = (v: { id: string; online: boolean; quarantined: boolean; thermalState: unknown; benchedUntil: number | null; lastSeen: number | null; throttled: { now: { underVoltage: boolean } } | null }) =>
          ({ id: v.id, online: v.online, quarantined: v.quarantined, thermalState: v.thermalState, benchedUntil: v.benchedUntil, lastSeen: v.lastSeen, underVoltage: v.throttled?.now.underVoltage ?? null });
        const full = f.liveViews(now, 0).map(pick).sort((x, y) => (x.id < y.id ? -1 : 1));
        const light = f.alertViews(now, 0).map(pick).sort((x, y) => (x.id < y.id ? -1 : 1));
        assert.deepEqual(light, full);
        assert.equal(full.length, ids.length);
        const by = new Map(light.map((v) => [v.id, v]));
        assert.equal(by.get(hot)!.thermalState, 'critical');
        assert.equal(by.get(undervolt)!.underVoltage, true);
        assert.equal(by.get(offline)!.online, false);
        assert.ok(by.get(benched)!.benchedUntil! > now);
        assert.equal(by.get(quarantined)!.quarantined, true);
      }
      assert.equal(after.alertViews(Date.now(), 0).find((v) => v.id === storedOnly)!.online, false, 'a stored-only node is offline');
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
