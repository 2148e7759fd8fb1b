/** Agent configuration (file < env < flags), the bid rules, and the CLI's argument errors. */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, defaultSampleIntervalMs, loadAgentConfig, parseAgentConfig, decideBid, type BidContext } from '../../agent/index.js';
import { sha256 } from '../../protocol/hash.js';
import type { Offer } from '../../protocol/messages.js';
import { tempDir } from './harness.js';

const dir = tempDir('swarmlet-agent-config-');
after(() => dir.cleanup());
const KEY = 'ab'.repeat(32);
const CLI = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

describe('agent config', () => {
  it('merges defaults < file < env < flags and validates the result', () => {
    const file = join(dir.path, 'a.json');
    writeFileSync(file, JSON.stringify({
      brokers: ['mqtt://user:p%40ss@hub.local:1883', { url: 'mqtts://backup:8883' }],
      region: 'eu-west', slots: 2, priceFloor: 3, trustedPublishers: [KEY.toUpperCase()],
      location: { lat: 48.13743, lon: 11.57549 }, cheat: { rate: 0.1 },
    }));
    const c = loadAgentConfig({ file, env: { SWARMLET_REGION: 'eu-north', SWARMLET_SLOTS: '3' }, flags: { slots: '4', 'max-fuel': '1000' } });
    assert.deepEqual(c.brokers[0], { url: 'mqtt://hub.local:1883', username: 'user', password: 'p@ss' });
    assert.deepEqual(c.brokers[1], { url: 'mqtts://backup:8883' });
    assert.equal(c.region, 'eu-north', 'env beats file');
    assert.equal(c.slots, 4, 'flags beat env');
    assert.equal(c.priceFloor, 3);
    assert.equal(c.limits.fuel, 1000);
    assert.equal(c.limits.memoryPages, 256, 'defaults fill the rest');
    assert.equal(c.meshId, 'swarmlet');
    assert.deepEqual(c.trustedPublishers, [KEY]);
    assert.deepEqual(c.location, { lat: 48.1, lon: 11.6 }, 'coarse location');
    assert.equal(c.cheat?.rate, 0.1);
  });

  it('samples the sensors once a second of device time: simulated time scales it (20 ms at least); a set value stands', () => {
    const at = (o: Record<string, unknown>) => defaultSampleIntervalMs(parseAgentConfig({ brokers: ['mqtt://x:1'], ...o }));
    assert.equal(at({}), 1000, 'real sensors');
    assert.equal(at({ profile: 'pi4-bare' }), 1000);
    assert.equal(at({ profile: 'pi4-bare', timeScale: 20 }), 50);
    assert.equal(at({ profile: 'pi4-bare', timeScale: 1000 }), 20);
    assert.equal(parseAgentConfig({ brokers: ['mqtt://x:1'], sampleIntervalMs: 200 }).sampleIntervalMs, 200);
  });

  it('gives one clear error naming the bad setting', () => {
    const bad: [unknown, RegExp][] = [
      [{}, /brokers/],
      [{ brokers: ['http://x'] }, /only mqtt/],
      [{ brokers: ['mqtt://x:1'], region: 'a/b' }, /region/],
      [{ brokers: ['mqtt://x:1'], region: 'modules' }, /reserved/],
      [{ brokers: ['mqtt://x:1'], trustedPublishers: ['zz'] }, /trustedPublishers\.0/],
      [{ brokers: ['mqtt://x:1'], slots: 0 }, /slots/],
      [{ brokers: ['mqtt://x:1'], cheat: { rate: 2 } }, /cheat\.rate/],
      [{ brokers: ['mqtt://x:1'], nonsense: 1 }, /nonsense|Unrecognized/i],
      [{ brokers: ['mqtt://x:1'], reconnect: { minMs: 1000, maxMs: 10 } }, /maxMs/],
    ];
    for (const [input, re] of bad) assert.throws(() => parseAgentConfig(input), (e: Error) => e instanceof ConfigError && re.test(e.message), JSON.stringify(input));
    assert.throws(() => loadAgentConfig({ file: join(dir.path, 'missing.json'), env: {} }), /cannot read config file/);
    const notJson = join(dir.path, 'bad.json');
    writeFileSync(notJson, '{ nope');
    assert.throws(() => loadAgentConfig({ file: notJson, env: {} }), /not JSON/);
    assert.throws(() => loadAgentConfig({ env: { SWARMLET_BROKERS: 'mqtt://a:1', SWARMLET_SLOTS: 'many' } }), /slots must be a number/);
    assert.throws(() => loadAgentConfig({ env: {}, flags: { broker: ['mqtt://a:1'], lat: '1' } }), /--lat and --lon go together/);
  });
});

describe('bidding rules', () => {
  const offer = (o: Partial<Offer> = {}): Offer => ({
    offerId: 'o1', jobId: 'j', taskId: 't', region: 'r', moduleHash: sha256(new Uint8Array(1)), moduleName: 'm',
    inputHash: sha256(new Uint8Array(0)), inputSize: 0, fuelLimit: 1e6, memoryPages: 16, timeoutMs: 1000,
    maxPrice: 10, bidUntil: 2000, deadline: 5000, ...o,
  });
  const ctx = (o: Partial<BidContext> = {}): BidContext => ({
    nodeId: 'a'.repeat(32), region: 'r', priceFloor: 2, limits: { fuel: 1e9, memoryPages: 256, timeoutMs: 10_000 },
    capacity: { state: 'cool', headroom: 1, slots: 2, freeSlots: 2, fuelRate: 1e6, accepts: true, reason: null },
    busy: 0, queuedFuel: 0, location: null, moduleAvailable: true, moduleKnownBad: false, outboxFull: false, draining: false, now: 1000, ...o,
  });

  it('bids with a price between floor and max that rises as headroom falls', () => {
    const cool = decideBid(offer(), ctx());
    const warm = decideBid(offer(), ctx({ capacity: { ...ctx().capacity, state: 'warm', headroom: 0.25 } }));
    assert.ok('bid' in cool && 'bid' in warm);
    assert.equal(cool.bid.price, 2);
    assert.equal(warm.bid.price, 3.5);
    assert.equal(decideBid(offer({ maxPrice: 2.5 }), ctx({ capacity: { ...ctx().capacity, headroom: 0 } })).hasOwnProperty('bid'), true);
    const capped = decideBid(offer({ maxPrice: 2.5 }), ctx({ capacity: { ...ctx().capacity, headroom: 0 } }));
    assert.ok('bid' in capped && capped.bid.price === 2.5, 'never above the offer maximum');
    // Finish time: this task's fuel at the fuel rate, plus queued work spread over the slots.
    assert.equal(cool.bid.etaMs, 1000);
    const queued = decideBid(offer(), ctx({ busy: 1, queuedFuel: 2e6 }));
    assert.ok('bid' in queued && queued.bid.etaMs === 2000);
  });

  it('skips offers it should not take, saying why', () => {
    const cases: [Partial<Offer>, Partial<BidContext>, RegExp][] = [
      [{}, { draining: true }, /draining/],
      [{ region: 'x' }, {}, /region/],
      [{ bidUntil: 999 }, {}, /window/],
      [{ maxPrice: 1 }, {}, /floor/],
      [{ fuelLimit: 2e9 }, {}, /fuel/],
      [{ memoryPages: 300 }, {}, /memory/],
      [{ timeoutMs: 20_000 }, {}, /timeout/],
      [{}, { moduleKnownBad: true }, /module/],
      [{}, { outboxFull: true }, /outbox/],
      [{}, { capacity: { state: 'critical', headroom: 0, slots: 2, freeSlots: 0, fuelRate: 1, accepts: false, reason: 'critical: 81 C' } }, /critical/],
      [{}, { busy: 2 }, /slot/],
    ];
    for (const [o, c, re] of cases) {
      const d = decideBid(offer(o), ctx(c));
      assert.ok('skip' in d && re.test(d.skip), `${JSON.stringify(o)} ${JSON.stringify(c)} -> ${JSON.stringify(d)}`);
    }
  });
});

describe('swarmlet agent CLI arguments', () => {
  it('prints help, and refuses bad arguments with a one-line error and exit 2', () => {
    const help = spawnSync(process.execPath, [CLI, 'agent', '--help'], { encoding: 'utf8' });
    assert.equal(help.status, 0);
    assert.match(help.stdout, /--sim-profile/);
    const cases = [['--bogus'], ['--broker', 'http://x'], ['--broker', 'mqtt://127.0.0.1:1', '--slots', 'x'], []];
    for (const args of cases) {
      const r = spawnSync(process.execPath, [CLI, 'agent', ...args], { encoding: 'utf8', env: { ...process.env, SWARMLET_BROKERS: '' } });
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /^swarmlet: agent/);
    }
  });
});
