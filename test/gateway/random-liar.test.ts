/**
 * A liar with random claims (property test): an enrolled device sends a few hundred
 * messages that are each VALID by the wire schema and correctly signed, with values drawn
 * at random up to the schema's bounds: adverts (any state, 1,024 slots, seq going back,
 * timestamps an hour off), bids at any price, ETA and headroom, results for tasks it won
 * and for tasks it never had, with right or random outputs, any fuel up to the protocol
 * bound, broken receipt chains, statuses saying it left; and the same claims published on
 * another device's topics and in another region (the broker here is a plain aedes without
 * ACLs, so the gateway alone must tell). Three honest devices run a job meanwhile.
 *
 * Whatever the draws: the job ends with every output right, the liar is paid only for
 * results that are right at the fuel our runtime measures, the gateway stays healthy and
 * still takes work. The seed is fixed (SWARMLET_FUZZ_SEED=N picks another) and printed.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { seal } from '../../protocol/envelope.js';
import { generateIdentity } from '../../protocol/identity.js';
import { sha256, toHex } from '../../protocol/hash.js';
import { THERMAL_STATES, MAX_TASK_FUEL, type Assignment, type CapacityAdvert, type Offer } from '../../protocol/messages.js';
import { topics } from '../../protocol/topics.js';
import { startGateway } from '../../gateway/index.js';
import { authedFetch, operatorToken } from '../helpers/operator.js';
import { closeRuntime, devices, enc, enrollmentFor, gatewayRuntime, runtime, startBroker, tempDir, waitFor, type Device } from './harness.js';

after(closeRuntime);

const SEED = Number(process.env.SWARMLET_FUZZ_SEED ?? 20261203);
const MESSAGES = 300;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A number in [min, max], biased (by fast-check) to the bounds and to 0. */
const within = (min: number, max: number) => fc.double({ min, max, noNaN: true });
const whole = (min: number, max: number) => fc.integer({ min, max });

function advertArb(d: Device, now: number): fc.Arbitrary<CapacityAdvert> {
  return fc.record({
    nodeId: fc.constant(d.nodeId), region: fc.constant(d.region),
    seq: fc.oneof(whole(0, 50), fc.constant(Number.MAX_SAFE_INTEGER)),
    at: whole(now - 3_600_000, now + 3_600_000),
    state: fc.constantFrom(...THERMAL_STATES),
    tempC: fc.option(within(-60, 200), { nil: null }),
    throttled: fc.option(fc.record({ now: whole(0, 2 ** 31), sinceBoot: whole(0, 2 ** 31) }), { nil: null }),
    load: within(0, 1024),
    memFreeMb: whole(0, 2 ** 40),
    power: fc.record({ source: fc.constantFrom('ac' as const, 'battery' as const, 'unknown' as const), batteryPct: fc.option(within(0, 100), { nil: null }) }),
    slots: whole(0, 1024),
    freeSlots: whole(0, 1024),
    fuelRate: within(0, 1e15),
    headroom: within(0, 1),
    priceFloor: within(0, 1e12),
    location: fc.option(fc.record({ lat: within(-90, 90), lon: within(-180, 180) }), { nil: null }),
    profile: fc.string({ maxLength: 64 }),
    sources: fc.array(fc.string({ maxLength: 64 }), { maxLength: 32 }),
    thermal: fc.option(fc.record({
      clock: within(0, 1), budget: whole(0, 1024),
      sustain: fc.option(fc.array(within(0, 1), { maxLength: 64 }), { nil: null }),
      sprintS: fc.option(fc.array(within(0, 86_400), { maxLength: 64 }), { nil: null }),
      trendCPerMin: fc.option(within(-1000, 1000), { nil: null }),
    }), { nil: undefined }),
    limits: fc.option(fc.record({ fuel: whole(0, MAX_TASK_FUEL), memoryPages: whole(1, 65536) }), { nil: undefined }),
  }, { requiredKeys: ['nodeId', 'region', 'seq', 'at', 'state', 'tempC', 'throttled', 'load', 'memFreeMb', 'power', 'slots', 'freeSlots', 'fuelRate', 'headroom', 'priceFloor', 'location', 'profile', 'sources'] });
}

type Act =
  | { kind: 'advert'; advert: CapacityAdvert; elsewhere: boolean }
  | { kind: 'bid'; price: number; etaMs: number; headroom: number; freeSlots: number; fuelRate: number; state: (typeof THERMAL_STATES)[number]; pick: number; otherRegion: boolean }
  | { kind: 'result'; own: boolean; pick: number; right: boolean; fuel: number | 'real'; chain: 'ok' | 'gap' | 'replay' }
  | { kind: 'status'; online: boolean; skew: number };

function actArb(d: Device, now: number): fc.Arbitrary<Act> {
  return fc.oneof(
    fc.record({ kind: fc.constant('advert' as const), advert: advertArb(d, now), elsewhere: fc.boolean() }),
    { arbitrary: fc.record({
      kind: fc.constant('bid' as const), price: fc.oneof(within(0, 2), within(0, 1e12)), etaMs: fc.oneof(whole(0, 10_000), fc.constant(Number.MAX_SAFE_INTEGER)),
      headroom: within(0, 1), freeSlots: whole(0, 1024), fuelRate: within(0, 1e15), state: fc.constantFrom(...THERMAL_STATES),
      pick: fc.nat(), otherRegion: fc.boolean(),
    }), weight: 4 },
    { arbitrary: fc.record({
      // Mostly the truth (so it can earn trust and win more), sometimes a lie in output, fuel or chain.
      kind: fc.constant('result' as const), own: fc.constantFrom(true, true, true, false), pick: fc.nat(), right: fc.constantFrom(true, true, true, true, false),
      fuel: fc.oneof({ arbitrary: fc.constant('real' as const), weight: 4 }, whole(0, 2_000_000), fc.constant(MAX_TASK_FUEL)),
      chain: fc.constantFrom('ok' as const, 'ok' as const, 'ok' as const, 'gap' as const, 'replay' as const),
    }), weight: 4 },
    fc.record({ kind: fc.constant('status' as const), online: fc.boolean(), skew: whole(-3_600_000, 3_600_000) }),
  );
}

test(`a liar sending ${MESSAGES} schema-valid random claims: every output right, paid only for right results, the gateway stays up (seed ${SEED})`, async () => {
  console.log(`# random-liar seed ${SEED} (SWARMLET_FUZZ_SEED to change)`);
  const broker = await startBroker();
  const dir = tempDir();
  const gwId = generateIdentity();
  const ids = [0, 1, 2, 3].map(() => generateIdentity());
  const gw = await startGateway({
    brokerUrl: broker.url, identity: gwId, enrollment: enrollmentFor(gwId, ids), dataDir: dir.path,
    runtime: gatewayRuntime(true), bidWindowMs: 80, durability: 'normal', batch: { maxDelayMs: 50 },
  });
  const ds = await devices(broker.url, gwId.publicKey, [
    { slots: 2, identity: ids[0]!, holdMs: 60 }, { slots: 2, identity: ids[1]!, holdMs: 60 }, { slots: 2, identity: ids[2]!, holdMs: 60 },
    { slots: 2, identity: ids[3]!, bid: false, behavior: 'silent' }, // the liar: its bids and results are the fuzzer's
  ]);
  const liar = ds[3]!;
  const victim = ds[0]!;
  try {
    await waitFor('adverts', () => gw.store.listNodes().filter((n) => n.online === 1).length === 4);
    const ins = Array.from({ length: 120 }, (_, i) => enc(`random-liar-${SEED}-${i}`));
    const { id } = await gw.submitJob({ task: 'sha256', inputs: ins });

    const { catalogue, runner } = runtime();
    const run = (input: Uint8Array) => runner.run(catalogue.byName('sha256')!.wasm, input);
    const acts = fc.sample(actArb(liar, Date.now()), { seed: SEED, numRuns: MESSAGES });
    const counts: Record<string, number> = {};
    const pub = (topic: string, bytes: Uint8Array) => liar.client.publish(topic, Buffer.from(bytes), { qos: 1 });
    const pickOffer = (n: number): Offer | undefined => liar.offers[liar.offers.length - 1 - (n % Math.max(1, Math.min(liar.offers.length, 20)))];
    const seen = (n: number, own: boolean): Assignment | undefined => {
      const list = own ? liar.assignments : victim.assignments;
      return list.length ? list[n % list.length] : undefined;
    };
    for (const [i, act] of acts.entries()) {
      counts[act.kind] = (counts[act.kind] ?? 0) + 1;
      if (act.kind === 'advert') {
        const bytes = seal('cap', act.advert, liar.identity).bytes;
        pub(act.elsewhere ? topics.cap(liar.region, victim.nodeId) : topics.cap(liar.region, liar.nodeId), bytes);
      } else if (act.kind === 'bid') {
        const offer = pickOffer(act.pick);
        if (offer) {
          const region = act.otherRegion ? 'elsewhere' : liar.region;
          pub(topics.bids(region), seal('bid', {
            offerId: offer.offerId, taskId: offer.taskId, nodeId: liar.nodeId, region, price: act.price, etaMs: act.etaMs,
            headroom: act.headroom, state: act.state, freeSlots: act.freeSlots, fuelRate: act.fuelRate, location: null,
          }, liar.identity).bytes);
        }
      } else if (act.kind === 'result') {
        const a = seen(act.pick, act.own);
        if (a) {
          const output = act.right ? sha256(a.input) : new Uint8Array(randomBytes(32));
          const chain = act.chain === 'gap' ? { seq: liar.seq + 2 } : act.chain === 'replay' && liar.seq > 0 ? { seq: liar.seq, prev: liar.prev } : {};
          const fuel = act.fuel === 'real' ? (await run(a.input)).fuel : act.fuel;
          liar.publishResult(liar.makeResult(a, output, { fuel, ...chain }));
        }
      } else {
        pub(topics.status(liar.region, liar.nodeId), seal('status', { nodeId: liar.nodeId, region: liar.region, online: act.online, at: Date.now() + act.skew }, liar.identity).bytes);
      }
      // ~150 messages a second: within the per-device budgets a real broker enforces.
      if (i % 15 === 14) await new Promise((r) => setTimeout(r, 100));
    }
    console.log(`# random-liar sent ${JSON.stringify(counts)}; it won ${liar.assignments.length} tasks`);

    // The job ends with every output right, revisions included (the liar may have been caught after the fact).
    const v = await waitFor('job done and settled', () => {
      const j = gw.getJob(id);
      return j && j.state === 'done' && j.revisions.every((r) => r.state === 'done') ? j : null;
    }, 90_000);
    assert.deepEqual(v.results!.map((r) => r.outputHex), ins.map(sha), 'every output right');

    // Paid only for right results at the real fuel: each billed row of the liar's names an attempt whose output was right.
    const tasks = new Map(gw.store.jobTasks(id).map((t) => [t.id, t]));
    const attempts = gw.store.jobAttempts(id);
    for (const row of gw.store.ledgerRows(id).filter((r) => r.node_id === liar.nodeId && r.voided === 0)) {
      const t = tasks.get(row.task_id)!;
      const at = attempts.find((x) => x.receipt_id === row.receipt_id)!;
      assert.equal(at.ok, 1);
      assert.equal(toHex(at.output!), sha(t.input), `task ${t.idx}: the liar is paid only for a right output`);
      const real = await run(t.input);
      assert.equal(row.fuel, real.fuel, `task ${t.idx}: billed at the fuel our runtime measures`);
    }
    // The honest devices' records are theirs: claims on their topics signed by the liar changed nothing.
    const vNode = gw.store.getNode(victim.nodeId)!;
    assert.equal(vNode.online, 1, 'the victim is still online');
    assert.equal(vNode.quarantined, 0, 'the victim is not quarantined');

    const paid = gw.store.ledgerRows(id).filter((r) => r.node_id === liar.nodeId && r.voided === 0).length;
    console.log(`# the liar: ${paid} results paid, quarantined ${gw.store.getNode(liar.nodeId)?.quarantined === 1}`);

    // Healthy, and still takes work.
    const fetch = authedFetch(operatorToken(gw, 'viewer'));
    const h = (await (await fetch(`${gw.url}/healthz`)).json()) as { ok: boolean; mqtt: boolean };
    assert.deepEqual({ ok: h.ok, mqtt: h.mqtt }, { ok: true, mqtt: true });
    const { id: id2 } = await gw.submitJob({ task: 'sha256', inputs: [enc('after the liar')] });
    const v2 = await gw.waitForJob(id2, 30_000);
    assert.equal(v2.state, 'done');
    assert.equal(v2.results![0]!.outputHex, sha(enc('after the liar')));
  } finally {
    for (const d of ds) await d.stop().catch(() => {});
    await gw.stop();
    await broker.close();
    dir.cleanup();
  }
});
