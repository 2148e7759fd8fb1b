/**
 * Adverts and statuses verified in the verifier worker threads (VerifyPool.parseSoft)
 * reach the same verdicts as on the main thread, one per item and in order: good adverts
 * and statuses, a forged signature, another node's advert on this node's topic, a region
 * that differs from the topic, garbage, and an emptied retained topic (the node is gone).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seal } from '../../protocol/envelope.js';
import { generateIdentity } from '../../protocol/identity.js';
import type { CapacityAdvert } from '../../protocol/messages.js';
import { parseSoftState, type SoftItem, type SoftOutcome } from '../../gateway/parse.js';
import { SOFT_INLINE_BELOW, VerifyPool } from '../../gateway/verify-pool.js';
import mqtt from 'mqtt';
import { GatewayLink } from '../../gateway/mqtt.js';
import { topics } from '../../protocol/topics.js';
import { createLogger } from '../../util/log.js';
import { startBroker, waitFor } from './harness.js';

const a = generateIdentity();
const b = generateIdentity();
const advert = (nodeId: string, region: string, seq: number): CapacityAdvert => ({
  nodeId, region, seq, at: Date.now(), state: 'cool', tempC: 40, throttled: null, load: 0.1, memFreeMb: 100,
  power: { source: 'ac', batteryPct: null }, slots: 2, freeSlots: 2, fuelRate: 1e6, headroom: 0.9, priceFloor: 1, location: null, profile: 'p', sources: [],
});

const summary = (list: SoftOutcome[]) => list.map((o) => (!o.ok ? `refused ${o.why}` : o.type === 'gone' ? 'gone' : `${o.type} ${o.message.nodeId} ${o.type === 'cap' ? o.message.seq : o.message.online}`));

test('adverts and statuses verified in workers give the main thread\'s verdicts, in order', async () => {
  const good = seal('cap', advert(a.nodeId, 'eu', 1), a).bytes;
  const forged = good.slice();
  forged[forged.length - 5] ^= 0xff; // inside the signature
  const items: SoftItem[] = [];
  for (let i = 0; i < 3 * SOFT_INLINE_BELOW; i++) {
    items.push({ type: 'cap', nodeId: a.nodeId, region: 'eu', payload: seal('cap', advert(a.nodeId, 'eu', i + 2), a).bytes });
    if (i % 4 === 0) items.push({ type: 'status', nodeId: a.nodeId, region: 'eu', payload: seal('status', { nodeId: a.nodeId, region: 'eu', online: i % 8 === 0, at: Date.now() }, a).bytes });
  }
  items.splice(3, 0,
    { type: 'cap', nodeId: a.nodeId, region: 'eu', payload: forged },
    { type: 'cap', nodeId: a.nodeId, region: 'eu', payload: seal('cap', advert(b.nodeId, 'eu', 1), b).bytes },
    { type: 'cap', nodeId: a.nodeId, region: 'us', payload: good },
    { type: 'status', nodeId: a.nodeId, region: 'eu', payload: new Uint8Array([1, 2, 3]) },
    { type: 'status', nodeId: a.nodeId, region: 'eu', payload: new Uint8Array(0) },
  );
  const inline = items.map(parseSoftState);
  const s = summary(inline);
  assert.deepEqual(s.slice(3, 8).map((x) => x.split(' ')[0]), ['refused', 'refused', 'refused', 'refused', 'gone']);
  assert.ok(s[5]!.includes('region'), s[5]);
  assert.equal(s.filter((x) => x.startsWith('cap')).length, 3 * SOFT_INLINE_BELOW);
  const pool = new VerifyPool(2);
  try {
    assert.deepEqual(summary(await pool.parseSoft(items)), s);
    assert.deepEqual(summary(await pool.parseSoft(items.slice(0, 2))), s.slice(0, 2), 'a small batch, inline');
  } finally {
    await pool.close();
  }
});

test('adverts arriving one at a time are gathered into batches for the workers, and applied in arrival order', async () => {
  const broker = await startBroker();
  const gw = generateIdentity();
  const batches: number[] = [];
  const seen: number[] = [];
  const pool = new VerifyPool(2);
  const link = new GatewayLink({
    brokerUrl: broker.url, meshId: 'swarmlet', identity: gw, regions: ['eu'], log: createLogger('test', {}),
    isEnrolledNode: () => true,
    handlers: { advert: (m) => seen.push(m.seq), status: () => undefined, bid: () => undefined, result: () => undefined },
    parseSoft: (items) => { batches.push(items.length); return pool.parseSoft(items); },
  });
  const device = mqtt.connect(broker.url, { protocolVersion: 4 });
  try {
    await link.ready(10_000);
    await new Promise<void>((r) => device.once('connect', () => r()));
    await new Promise((r) => setTimeout(r, 300)); // the gateway's subscriptions are in place
    const n = 3 * SOFT_INLINE_BELOW;
    // One message each, as a fleet's periodic adverts arrive: each used to be its own batch,
    // verified on the main thread (below the pool's inline threshold).
    for (let i = 0; i < n; i++) device.publish(topics.cap('eu', a.nodeId), Buffer.from(seal('cap', advert(a.nodeId, 'eu', i + 1), a).bytes), { qos: 0 });
    await waitFor('every advert applied', () => seen.length === n, 10_000);
    assert.deepEqual(seen, Array.from({ length: n }, (_, i) => i + 1), 'every advert, in arrival order');
    assert.ok(batches.length < n, `gathered into fewer batches than messages: ${JSON.stringify(batches)}`);
    assert.ok(Math.max(...batches) >= SOFT_INLINE_BELOW, `a batch big enough for the workers: ${JSON.stringify(batches)}`);
  } finally {
    device.end(true);
    await link.close();
    await pool.close();
    await broker.close();
  }
});
