/**
 * Advert coalescing: a change of thermal state or of whether work is accepted goes out at
 * once; free-slot-only changes are coalesced to one advert per gap carrying the latest
 * count; nothing follows stop().
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Advertiser } from '../../agent/advertiser.js';
import { generateIdentity } from '../../protocol/identity.js';
import { createLogger } from '../../util/log.js';
import type { CapacityAdvert, ThermalState } from '../../protocol/messages.js';
import type { CapacitySnapshot, SensorReading } from '../../agent/capacity/types.js';

const SLOTS = 4;

function rig(gapMs: number) {
  let busy = 0;
  let state: ThermalState = 'cool';
  let refusal: string | null = null;
  const sent: CapacityAdvert[] = [];
  const reading: SensorReading = { at: Date.now(), tempC: 40, load: 0.1, memFreeMb: 512, power: { source: 'ac', batteryPct: null }, throttled: null, cpuFreqRatio: 1 };
  const adv = new Advertiser({
    identity: generateIdentity(), region: 'test',
    sensors: { kind: 'sim', sources: ['test'], read: async () => reading },
    capacity: { update: (_r, b): CapacitySnapshot => ({ state, headroom: 0.5, slots: SLOTS, freeSlots: SLOTS - b, fuelRate: 1e6, accepts: SLOTS - b > 0 && state !== 'critical', reason: null }) },
    busy: () => busy, priceFloor: 1, location: null, profile: 'test', limits: { fuel: 2e9, memoryPages: 256 },
    sampleIntervalMs: 60_000, advertIntervalMs: 60_000, minAdvertGapMs: gapMs,
    publish: async () => true, refusal: () => refusal, onAdvert: (a) => sent.push(a), logger: createLogger('test'),
  });
  return {
    adv, sent,
    setBusy(b: number) { busy = b; adv.evaluate(); },
    setState(s: ThermalState) { state = s; adv.evaluate(); },
    refuse(r: string | null) { refusal = r; adv.evaluate(); },
  };
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('advert coalescing', () => {
  it('free-slot changes within the gap become one advert with the latest count', async () => {
    const r = rig(150);
    await r.adv.start();
    await settle(10);
    assert.equal(r.sent.length, 1, 'first advert at start');
    for (let b = 1; b <= SLOTS; b++) r.setBusy(b); // all busy: the tracker says accepts=false, still only a slot change
    r.setBusy(2);
    await settle(10);
    assert.equal(r.sent.length, 1, 'nothing yet: only the slot count moved');
    await settle(250);
    assert.equal(r.sent.length, 2, 'one coalesced advert after the gap');
    assert.equal(r.sent[1]!.freeSlots, SLOTS - 2, 'carrying the latest free-slot count');
    await r.adv.stop();
  });

  it('a thermal state change or a refusal goes out at once, with the current slots', async () => {
    const r = rig(10_000);
    await r.adv.start();
    await settle(10);
    r.setBusy(1);
    r.setState('hot');
    await settle(10);
    assert.equal(r.sent.length, 2);
    assert.equal(r.sent[1]!.state, 'hot');
    assert.equal(r.sent[1]!.freeSlots, SLOTS - 1);
    r.refuse('draining');
    await settle(10);
    assert.equal(r.sent.length, 3);
    assert.equal(r.sent[2]!.freeSlots, 0, 'refusing shows no free slot');
    await r.adv.stop();
  });

  it('no advert follows stop(), even one that was waiting for its gap', async () => {
    const r = rig(100);
    await r.adv.start();
    await settle(10);
    r.setBusy(3);
    await r.adv.stop();
    await settle(200);
    assert.equal(r.sent.length, 1);
  });
});
