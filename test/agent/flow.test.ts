/**
 * The agent against a real aedes broker on loopback, with a harness playing the gateway:
 * adverts, bids, assignments -> signed receipts with a valid chain, acks empty the outbox.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startAgent, type AgentHandle } from '../../agent/index.js';
import { bytesEqual, sha256, toHex } from '../../protocol/hash.js';
import { checkChain } from '../../protocol/receipt.js';
import type { TaskRunner } from '../../agent/runtime/types.js';
import { FakeGateway, startAedes, tempDir, waitFor, type TestBroker } from './harness.js';
import { closeAll } from '../helpers/common.js';
import { taskWasm, testRunner } from './runner.js';

describe('agent flow', () => {
  let broker: TestBroker;
  let gw: FakeGateway;
  let agent: AgentHandle;
  let runner: TaskRunner;
  const dir = tempDir();
  const wasm = taskWasm('sha256');
  let moduleHash: Uint8Array;
  const errors: string[] = [];

  before(async () => {
    broker = await startAedes();
    gw = new FakeGateway(broker.url);
    await gw.connect();
    moduleHash = await gw.publishModule(wasm, 'sha256');
    runner = await testRunner(2);
    agent = await startAgent({
      brokers: [broker.url], region: 'test', dataDir: dir.path, profile: 'pi5-active', slots: 2,
      fuelRate: 100_000_000, priceFloor: 2, trustedPublishers: [gw.publicKeyHex],
      advertIntervalMs: 60_000, sampleIntervalMs: 50, location: { lat: 52.5163, lon: 13.3777 },
    }, { runner });
    agent.on('error', (e) => errors.push(e.message));
  });

  after(() => closeAll(agent, gw, runner, broker, dir));

  it('publishes a signed retained advert and online status', async () => {
    const advert = await waitFor('advert', () => gw.adverts.find((a) => a.nodeId === agent.nodeId));
    assert.equal(advert.region, 'test');
    assert.equal(advert.profile, 'pi5-active');
    assert.equal(advert.slots, 2);
    assert.equal(advert.priceFloor, 2);
    assert.deepEqual(advert.location, { lat: 52.5, lon: 13.4 }, 'location is coarse (0.1 degree)');
    assert.ok(advert.fuelRate > 0);
    await waitFor('online status', () => gw.statuses.find((s) => s.nodeId === agent.nodeId && s.online));
  });

  it('bids on an offer it can serve, not on one below its price floor or over its limits', async () => {
    const cheap = gw.makeOffer(moduleHash, { maxPrice: 1 });
    const huge = gw.makeOffer(moduleHash, { fuelLimit: 1e12 }); // over the agent's 2e9 limit, within the protocol's 2^40
    const good = gw.makeOffer(moduleHash, { maxPrice: 50 });
    await gw.offer(cheap);
    await gw.offer(huge);
    await gw.offer(good);
    const bid = await waitFor('bid', () => gw.bids.find((b) => b.offerId === good.offerId));
    assert.equal(bid.nodeId, agent.nodeId);
    assert.ok(bid.price >= 2 && bid.price <= 50, `price ${bid.price} within floor and max`);
    assert.ok(bid.etaMs > 0);
    assert.deepEqual(bid.location, { lat: 52.5, lon: 13.4 });
    assert.equal(gw.bids.some((b) => b.offerId === cheap.offerId || b.offerId === huge.offerId), false);
    assert.ok(agent.stats().skipped >= 2);
  });

  it('runs assignments into valid signed receipts forming a chain, and forgets them when acked', async () => {
    const inputs = [new Uint8Array([1, 2, 3]), new TextEncoder().encode('hello swarm'), new Uint8Array(5000).fill(7)];
    const assignments = inputs.map((input) => gw.makeAssignment(agent.nodeId, moduleHash, input));
    for (const a of assignments) await gw.assign(a);
    const got = await waitFor('3 results', () => (gw.resultsFor(agent.nodeId).length >= 3 ? gw.resultsFor(agent.nodeId) : null));
    for (const a of assignments) {
      const r = got.find((g) => g.opened.message.taskId === a.taskId);
      assert.ok(r, `result for ${a.taskId}`);
      const res = r.opened.message;
      const rc = r.receipt.message;
      assert.equal(res.ok, true);
      assert.equal(r.opened.signerId, agent.nodeId);
      assert.ok(bytesEqual(res.output, sha256(a.input)), 'output is the sha256 of the input');
      assert.ok(bytesEqual(rc.outputHash, sha256(res.output)));
      assert.ok(bytesEqual(rc.inputHash, sha256(a.input)));
      assert.ok(bytesEqual(rc.moduleHash, moduleHash));
      assert.equal(rc.outcome, 'ok');
      assert.ok(rc.fuel > 0);
      assert.ok(rc.finishedAt >= rc.startedAt);
      assert.equal(typeof rc.tempStartC, 'number', 'simulated sensor temperature recorded');
    }
    const chain = got.map((g) => ({ receipt: g.receipt.message, id: g.receipt.id })).sort((a, b) => a.receipt.seq - b.receipt.seq);
    assert.deepEqual(chain.map((c) => c.receipt.seq), [1, 2, 3]);
    assert.deepEqual(checkChain(chain), []);
    await waitFor('outbox emptied by acks', () => agent.stats().outbox.entries === 0);
    assert.equal(agent.stats().acked, 3);
    assert.deepEqual(errors, []);
  });

  it('answers a failing task with a failure receipt (module hash mismatch is refused before running)', async () => {
    const other = await gw.publishModule(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]), 'empty');
    const a = gw.makeAssignment(agent.nodeId, other, new Uint8Array([1]));
    await gw.assign(a);
    const r = await waitFor('failure result', () => gw.resultsFor(agent.nodeId).find((g) => g.opened.message.taskId === a.taskId));
    assert.equal(r.opened.message.ok, false);
    assert.notEqual(r.receipt.message.outcome, 'ok');
    assert.equal(r.receipt.message.seq, 4);
    const prev = gw.resultsFor(agent.nodeId).find((g) => g.receipt.message.seq === 3)!;
    assert.equal(toHex(r.receipt.message.prevHash), toHex(prev.receipt.id));
  });

  it('drain: advertises no free slot, stops bidding, publishes offline', async () => {
    await agent.drain();
    await waitFor('advert with no free slot', () => gw.adverts.filter((a) => a.nodeId === agent.nodeId).at(-1)?.freeSlots === 0);
    await waitFor('offline status', () => gw.statuses.find((s) => s.nodeId === agent.nodeId && !s.online));
    const o = gw.makeOffer(moduleHash);
    const skipped = agent.stats().skipped;
    await gw.offer(o);
    await waitFor('offer skipped', () => agent.stats().skipped > skipped);
    assert.equal(gw.bids.some((b) => b.offerId === o.offerId), false);
  });
});
