/**
 * The publish limit holds per node, not per connection: a node that opens many sessions
 * or reconnects after every cut gets no more than rate x time + burst delivered. Real
 * broker, real mqtt.js clients; the bound is checked on counts (delivered vs what a token
 * bucket allows over the measured window), not on timing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker } from '../../broker/index.js';
import { IdentityBudgets } from '../../broker/budgets.js';
import { credentialsFor } from '../../broker/auth.js';
import { topics } from '../../protocol/topics.js';
import { makeMesh, connectAs, tryConnect, waitClose } from './helpers.js';
import { allowed, parallelSessions, reconnectLoop } from './floods.js';

const RATE = 50;
const BURST = 100;

test('20 parallel sessions of one node id: delivered stays within rate x time + burst, others unaffected', async () => {
  const { enrollment, members } = makeMesh({ evil: 'node', calm: 'node', gw: 'gateway' });
  const broker = await startBroker({ port: 0, enrollment, limits: { publishRate: RATE, publishBurst: BURST } });
  try {
    const calm = await connectAs(broker.url, members.calm!);
    const r = await parallelSessions({ url: broker.url, node: members.evil!, counter: members.gw!, sessions: 20, durationMs: 2500, maxAttempts: 3000 });
    const bound = allowed(RATE, BURST, r.elapsedMs);
    // Meaningful only if the attack got many sessions in: with a budget per connection, each
    // of them alone would have had a full burst (10 x 100 already over the bound).
    assert.ok(r.connects >= 10 && 10 * BURST > bound, `sessions in: ${r.connects}; bound ${bound}`);
    assert.ok(r.sent > bound, `the attack tried for more than the bound (sent ${r.sent}, bound ${bound})`);
    assert.ok(r.delivered > 0, 'the node is limited, not silenced');
    assert.ok(r.delivered <= bound * 1.05, `delivered ${r.delivered} over ${r.elapsedMs} ms; a per-node bucket allows ${Math.floor(bound)}`);
    // A node that keeps to its budget is not touched by its neighbour's flood.
    assert.ok(calm.connected);
    await calm.publishAsync(topics.bids('eu'), Buffer.from('calm'), { qos: 1 });
    await calm.endAsync();
  } finally {
    await broker.close();
  }
});

test('reconnecting after every burst: no fresh bucket per connection, and connects are budgeted too', async () => {
  const { enrollment, members } = makeMesh({ evil: 'node', gw: 'gateway' });
  const broker = await startBroker({ port: 0, enrollment, limits: { publishRate: RATE, publishBurst: BURST, connectBurst: 10, connectRate: 1 } });
  try {
    const r = await reconnectLoop({ url: broker.url, node: members.evil!, counter: members.gw!, perConnect: BURST, durationMs: 2500, maxAttempts: 60 });
    const bound = allowed(RATE, BURST, r.elapsedMs);
    const attempts = r.connects + r.refused;
    // With a budget per connection each of these connects would have had a fresh burst.
    assert.ok(r.connects >= 5 && r.connects * BURST > bound, `connects ${r.connects}; bound ${bound}`);
    assert.ok(r.delivered > 0);
    assert.ok(r.delivered <= bound * 1.05, `delivered ${r.delivered} over ${r.elapsedMs} ms (${r.connects} connects); a per-node bucket allows ${Math.floor(bound)}`);
    // At most burst + rate x time connects get through; the rest get CONNACK 3.
    assert.ok(r.connects <= allowed(1, 10, r.elapsedMs), `${r.connects} connects in ${r.elapsedMs} ms`);
    if (attempts > allowed(1, 10, r.elapsedMs) + 1) assert.ok(r.refused > 0);
  } finally {
    await broker.close();
  }
});

test('a node over its connect budget gets CONNACK 3; other nodes connect; the budget refills', async () => {
  const { enrollment, members } = makeMesh({ a: 'node', b: 'node' });
  const broker = await startBroker({ port: 0, enrollment, limits: { connectBurst: 3, connectRate: 5 } });
  try {
    const a = members.a!;
    const codes: (number | undefined)[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await tryConnect(broker.url, { clientId: a.nodeId, ...credentialsFor(a, 'swarmlet', a.nodeId) });
      codes.push(r.client ? 0 : r.code);
      await r.client?.endAsync();
    }
    assert.ok(codes.includes(3), `codes ${codes.join(',')}`);
    assert.equal(codes.filter((c) => c === 0).length <= 3 + 2, true, `codes ${codes.join(',')}`);
    const b = await connectAs(broker.url, members.b!);
    await b.endAsync();
    // Refilled at 5/s: a later attempt succeeds.
    let ok = false;
    for (let i = 0; i < 50 && !ok; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const r = await tryConnect(broker.url, { clientId: a.nodeId, ...credentialsFor(a, 'swarmlet', a.nodeId) });
      ok = !!r.client;
      await r.client?.endAsync();
    }
    assert.ok(ok, 'the connect budget refills');
  } finally {
    await broker.close();
  }
});

test('one live session per node: a reconnect takes over the stale session (same or another client id)', async () => {
  const { enrollment, members } = makeMesh({ a: 'node', op: 'operator' });
  const broker = await startBroker({ port: 0, enrollment });
  try {
    const a = members.a!;
    // A device whose old connection is still open on the broker (a cut it has not noticed).
    const stale = await connectAs(broker.url, a);
    const staleGone = waitClose(stale, 5000);
    const fresh = await connectAs(broker.url, a);
    await staleGone;
    assert.ok(fresh.connected);
    const other = await connectAs(broker.url, a, { clientId: `${a.nodeId}-2` });
    await waitClose(fresh, 5000);
    assert.ok(other.connected);
    await other.publishAsync(topics.bids('eu'), Buffer.from('still works'), { qos: 1 });
    await other.endAsync();
    // Operators may hold a few sessions (several tools).
    const ops = await Promise.all([1, 2, 3].map((i) => connectAs(broker.url, members.op!, { clientId: `${members.op!.nodeId}-${i}` })));
    assert.ok(ops.every((c) => c.connected));
    for (const c of ops) await c.endAsync();
  } finally {
    await broker.close();
  }
});

test('identity budgets: kept while draining, forgotten once refilled, bounded in number', () => {
  const b = new IdentityBudgets({ publishRate: 10, publishBurst: 20, connectRate: 1, connectBurst: 5 }, 3);
  assert.equal(b.refillMs, 5000);
  const x = b.get('x', 0);
  for (let i = 0; i < 20; i++) assert.ok(x.publish.take(0));
  assert.ok(!x.publish.take(0));
  assert.equal(b.get('x', 100), x, 'a reconnect gets the same, still empty, bucket');
  assert.ok(!x.publish.take(100) || !x.publish.take(100));
  assert.equal(b.sweep(1000), 0);
  assert.equal(b.sweep(100 + 5000), 1, 'refilled: forgotten');
  // Bounded: a fourth identity pushes out the least recently connected one without a live session.
  const p = b.get('p', 10_000);
  p.live = 1;
  b.get('q', 10_001).publish.take(10_001);
  b.get('r', 10_002).publish.take(10_002);
  b.get('s', 10_003);
  assert.equal(b.size, 3);
  assert.equal(b.get('p', 10_004), p, 'an identity with a live session is never evicted');
});
