/**
 * The topic-indexed retained store (broker/retained.ts) against aedes' own memory
 * persistence: the same retained messages for exact and wildcard filters, after random
 * stores and clears (an empty payload clears a topic); and end to end through a real
 * swarmlet broker beside a plain aedes broker.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { createServer, type AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import fc from 'fast-check';
import mqtt, { type MqttClient } from 'mqtt';
import { Aedes } from 'aedes';
import { RetainedIndex, IndexedMemoryPersistence, type RetainedPacket } from '../../broker/retained.js';
import { startBroker } from '../../broker/index.js';

const require = createRequire(import.meta.url);
const AedesMemory = require('aedes-persistence/asyncPersistence.js') as new () => {
  storeRetained(p: RetainedPacket): Promise<void>;
  createRetainedStreamCombi(patterns: string[]): Readable;
};

async function drain(s: Readable): Promise<string[]> {
  const out: string[] = [];
  for await (const p of s) out.push(`${(p as RetainedPacket).topic}=${String((p as RetainedPacket).payload)}`);
  return out.sort();
}

// Words include the empty one (a//b), `$`-prefixed ones and the real topic words.
const word = fc.constantFrom('', 'a', 'b', '$SYS', 'swarm', 'v1', 'cap', 'x');
const topicArb = fc.array(word, { minLength: 1, maxLength: 4 }).map((w) => w.join('/')).filter((t) => t.length > 0);
const filterArb = fc.tuple(fc.array(fc.oneof(word, fc.constant('+')), { minLength: 1, maxLength: 4 }), fc.boolean())
  .map(([w, hash]) => (hash ? [...w, '#'] : w).join('/'))
  .filter((f) => f.length > 0);
const opArb = fc.record({ topic: topicArb, clear: fc.boolean(), v: fc.nat(9) });

test('exact and wildcard filters get what aedes\' own persistence gives, after random stores and clears', async () => {
  await fc.assert(fc.asyncProperty(fc.array(opArb, { maxLength: 40 }), fc.array(filterArb, { minLength: 1, maxLength: 4 }), async (ops, filters) => {
    const ours = new IndexedMemoryPersistence();
    const theirs = new AedesMemory();
    for (const op of ops) {
      const packet = { cmd: 'publish', topic: op.topic, payload: Buffer.from(op.clear ? '' : `v${op.v}`), qos: 0, retain: true };
      await ours.storeRetained({ ...packet });
      await theirs.storeRetained({ ...packet });
    }
    // One filter at a time and all together (one SUBSCRIBE with several filters).
    for (const f of filters) assert.deepEqual(await drain(ours.createRetainedStreamCombi([f])), await drain(theirs.createRetainedStreamCombi([f])), `filter ${f}`);
    assert.deepEqual(await drain(ours.createRetainedStreamCombi(filters)), await drain(theirs.createRetainedStreamCombi(filters)));
  }), { numRuns: 400 });
});

test('the index forgets cleared topics entirely (no empty branches left behind)', () => {
  const idx = new RetainedIndex();
  for (let i = 0; i < 100; i++) idx.set({ topic: `swarm/v1/eu/cap/n${i}`, payload: Buffer.from('x') });
  idx.set({ topic: 'swarm/v1/eu/status/n1', payload: Buffer.from('on') });
  assert.equal(idx.size, 101);
  for (let i = 0; i < 100; i++) idx.set({ topic: `swarm/v1/eu/cap/n${i}`, payload: Buffer.alloc(0) });
  assert.equal(idx.size, 1);
  assert.deepEqual(idx.match('swarm/v1/+/cap/+'), []);
  assert.deepEqual(idx.match('#').map((p) => p.topic), ['swarm/v1/eu/status/n1']);
  idx.delete('swarm/v1/eu/status/n1');
  assert.deepEqual(idx.match('#'), []);
  assert.equal((idx as unknown as { root: { children: Map<string, unknown> | null } }).root.children?.size ?? 0, 0);
});

/** Connect, subscribe to `filters`, and return the retained messages delivered (topic=payload). */
async function retainedVia(url: string, filters: string[]): Promise<string[]> {
  const c = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0 });
  const got: string[] = [];
  c.on('message', (t, p, packet) => { if (packet.retain) got.push(`${t}=${p.toString()}`); });
  await c.subscribeAsync(filters, { qos: 1 });
  await new Promise((r) => setTimeout(r, 150)); // retained messages follow the SUBACK
  await c.endAsync();
  return got.sort();
}

async function publishAll(url: string, list: [string, string][]): Promise<void> {
  const c: MqttClient = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0 });
  for (const [t, p] of list) await c.publishAsync(t, Buffer.from(p), { qos: 1, retain: true });
  await c.endAsync();
}

test('through a real broker: retained delivery is the same as plain aedes, and an empty payload clears', async () => {
  const ours = await startBroker({ port: 0, allowAnonymous: true });
  const plain = await Aedes.createBroker();
  const srv = createServer(plain.handle);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const plainUrl = `mqtt://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  try {
    const msgs: [string, string][] = [
      ['swarm/v1/eu/cap/n1', 'a1'], ['swarm/v1/eu/cap/n2', 'a2'], ['swarm/v1/us/cap/n3', 'a3'],
      ['swarm/v1/eu/status/n1', 'on'], ['swarm/v1/modules/aa', 'm'], ['swarm/v1/eu/cap/n1', 'a1b'],
    ];
    for (const url of [ours.url, plainUrl]) await publishAll(url, msgs);
    const cases = [
      ['swarm/v1/eu/cap/n1'], ['swarm/v1/eu/cap/n9'], ['swarm/v1/+/cap/+'], ['swarm/v1/eu/#'], ['swarm/v1/#'],
      ['swarm/v1/modules/+', 'swarm/v1/eu/status/n1'], ['swarm/v1/+/+/n1'],
    ];
    for (const filters of cases) {
      const a = await retainedVia(ours.url, filters);
      assert.deepEqual(a, await retainedVia(plainUrl, filters), `filters ${filters.join(' ')}`);
    }
    assert.deepEqual(await retainedVia(ours.url, ['swarm/v1/eu/cap/n1']), ['swarm/v1/eu/cap/n1=a1b']);
    // Clearing: an empty retained payload removes the topic for later subscribers.
    for (const url of [ours.url, plainUrl]) await publishAll(url, [['swarm/v1/eu/cap/n1', '']]);
    for (const filters of [['swarm/v1/eu/cap/n1'], ['swarm/v1/eu/cap/+']]) {
      const a = await retainedVia(ours.url, filters);
      assert.deepEqual(a, await retainedVia(plainUrl, filters));
      assert.ok(!a.some((x) => x.startsWith('swarm/v1/eu/cap/n1=')), 'cleared topic not delivered');
    }
  } finally {
    await ours.close();
    await new Promise<void>((r) => plain.close(() => r()));
    await new Promise<void>((r) => srv.close(() => r()));
  }
});
