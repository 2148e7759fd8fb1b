/**
 * The console's HTTP side against a real local mesh (authenticating broker, gateway, real
 * agents): the live stream (snapshot, deltas, a revoked token ends it, a cap on streams),
 * drill-down and history, paged and filtered lists, totals over every batch and
 * swarmlet_batches_total, per-node gauges, job cancel by owner or admin, a trapped task failed
 * apart from successes, drain, revoke and readmit through the API taking effect on the
 * broker, a join request approved, roles, and the favicon.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startLocalMesh, type LocalMesh } from '../../sim/mesh.js';
import { startFleet, type Fleet } from '../../sim/fleet.js';
import { toHex } from '../../protocol/hash.js';
import { authedFetch, operatorToken } from '../helpers/operator.js';
import { tempDir, waitFor } from '../helpers/common.js';

const dir = tempDir('swarmlet-console-api-');
let mesh: LocalMesh;
let admin: typeof fetch;
let viewer: typeof fetch;
let op: typeof fetch;
let opToken: string;
const FAST_RECONNECT = { reconnect: { minMs: 50, maxMs: 300 } };

before(async () => {
  mesh = await startLocalMesh({
    dataDir: dir.path, devices: 3,
    fleet: { profiles: 'pi5-active', advertIntervalMs: 300, agent: FAST_RECONNECT },
    gateway: { batch: { maxReceipts: 1, maxDelayMs: 50 }, console: { history: { stepMs: 500, points: 1800 }, live: { pushMs: 100, recheckMs: 200, maxPerPrincipal: 2 } } },
  });
  admin = authedFetch(mesh.token);
  viewer = authedFetch(operatorToken(mesh.gateway, 'viewer'));
  opToken = operatorToken(mesh.gateway, 'operator');
  op = authedFetch(opToken);
  await waitFor('3 devices online', () => mesh.gateway.console.nodes().filter((n) => n.online).length === 3, 30_000);
});

after(async () => {
  await mesh?.stop();
  dir.cleanup();
});

const json = async (p: Promise<Response>) => (await p).json() as Promise<Record<string, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any
const post = (f: typeof fetch, path: string, body?: unknown) => f(`${mesh.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', origin: mesh.url }, body: JSON.stringify(body ?? {}) });
const hex = (s: string) => Buffer.from(s, 'hex').toString('base64');
const deviceIds = () => mesh.fleet!.devices.map((d) => d.nodeId);
const connectedAtBroker = (id: string) => Object.values((mesh.broker.aedes as unknown as { clients: Record<string, { id: string }> }).clients).some((c) => c.id.startsWith(id));

/** Read server-sent events from a stream until `until` says stop (or the stream ends). */
async function readEvents(res: Response, until: (events: Array<{ event: string; data: any }>) => boolean, ms = 15_000) { // eslint-disable-line @typescript-eslint/no-explicit-any
  const events: Array<{ event: string; data: any }> = []; // eslint-disable-line @typescript-eslint/no-explicit-any
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let buf = '';
  const stop = Date.now() + ms;
  try {
    while (Date.now() < stop && !until(events)) {
      const r = await Promise.race([reader.read(), new Promise<{ done: true; value: undefined }>((ok) => setTimeout(() => ok({ done: true, value: undefined }), stop - Date.now()))]);
      if (r.done) break;
      buf += dec.decode(r.value, { stream: true });
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const ev = /^event: (.+)$/m.exec(block)?.[1];
        const data = /^data: (.+)$/m.exec(block)?.[1];
        if (ev && data) events.push({ event: ev, data: JSON.parse(data) });
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return events;
}

test('the live stream: a snapshot on connect, then only what changed; a history point each bucket', async () => {
  const res = await viewer(`${mesh.url}/api/events`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
  assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/);
  const events = await readEvents(res, (ev) => ev.some((e) => e.event === 'nodes' && !e.data.full) && ev.some((e) => e.event === 'history'));
  const names = events.map((e) => e.event);
  assert.deepEqual(names.slice(0, 6), ['hello', 'nodes', 'summary', 'alerts', 'jobs', 'batches']);
  const snap = events[1]!.data;
  assert.equal(snap.full, true);
  assert.deepEqual(snap.nodes.map((n: { id: string }) => n.id).sort(), [...deviceIds()].sort());
  const n0 = snap.nodes[0];
  for (const k of ['throttled', 'load', 'memFreeMb', 'power', 'location', 'version', 'grantedSlots', 'benchedUntil', 'drained', 'name', 'enrollment']) assert.ok(k in n0, `node view has ${k}`);
  assert.equal(n0.version, JSON.parse((await import('node:fs')).readFileSync('package.json', 'utf8')).version);
  const delta = events.find((e) => e.event === 'nodes' && !e.data.full)!.data;
  assert.ok(delta.nodes.length <= 3 && delta.nodes.length >= 1, 'a delta carries only changed nodes');
  const h = events.find((e) => e.event === 'history')!.data;
  assert.equal(h.stepMs, 500);
  assert.ok(Object.keys(h.nodes).length >= 1 && typeof h.fleet.online === 'number');
});

test('a stream ends (logout event) when its token is revoked; streams per operator are capped', async () => {
  const token = operatorToken(mesh.gateway, 'viewer');
  const f = authedFetch(token);
  const a = await f(`${mesh.url}/api/events`);
  const b = await f(`${mesh.url}/api/events`);
  const c = await f(`${mesh.url}/api/events`);
  assert.equal(c.status, 429);
  assert.match(((await c.json()) as { error: string }).error, /too many live connections/);
  await b.body!.cancel();
  assert.ok(mesh.gateway.access.tokens.revoke(token.split('_')[1]!), 'revoked (by id)');
  const events = await readEvents(a, (ev) => ev.some((e) => e.event === 'logout'));
  assert.ok(events.some((e) => e.event === 'logout'), 'told to log out');
});

test('drill-down and history of a device; lists filtered, sorted and paged; bad parameters are 400', async () => {
  const id = deviceIds()[0]!;
  const d = await json(viewer(`${mesh.url}/api/nodes/${id}`));
  assert.equal(d.node.id, id);
  assert.equal(d.enrollment.status, 'enrolled');
  assert.equal(d.enrollment.publicKey, toHex(mesh.fleet!.devices[0]!.publicKey));
  for (const k of ['standing', 'grants', 'leases', 'receipts', 'billing', 'alerts']) assert.ok(k in d, k);
  assert.equal((await viewer(`${mesh.url}/api/nodes/${'f'.repeat(32)}`)).status, 404);
  assert.equal((await viewer(`${mesh.url}/api/nodes/xyz`)).status, 400);
  await waitFor('a history point', () => mesh.gateway.console.history.latest());
  const hist = await json(viewer(`${mesh.url}/api/nodes/${id}/history?range=15m`));
  assert.equal(hist.resolutionMs, 500);
  assert.ok(hist.t.length >= 1 && hist.temp.length === hist.t.length);
  assert.equal((await viewer(`${mesh.url}/api/nodes/${id}/history?range=2y`)).status, 400);
  const fleet = await json(viewer(`${mesh.url}/api/fleet/history?range=1h`));
  assert.ok(fleet.t.length >= 1 && fleet.online.length === fleet.t.length);

  const page = await json(viewer(`${mesh.url}/api/nodes?status=online&sort=id&order=desc&limit=2`));
  assert.equal(page.total, 3);
  assert.deepEqual(page.nodes.map((n: { id: string }) => n.id), [...deviceIds()].sort().reverse().slice(0, 2));
  const search = await json(viewer(`${mesh.url}/api/nodes?q=${id.slice(0, 8)}`));
  assert.deepEqual(search.nodes.map((n: { id: string }) => n.id), [id]);
  for (const q of ['sort=nope', 'limit=0', 'status=sideways', `q=${'x'.repeat(70)}`]) assert.equal((await viewer(`${mesh.url}/api/nodes?${q}`)).status, 400, q);
  assert.equal((await viewer(`${mesh.url}/api/jobs?state=sideways`)).status, 400);
});

test('a job with a trapping input: the job fails, the task is failed with its reason; tasks paged and filtered; totals over every batch; batches counted in /metrics', async () => {
  // primes: lo,hi u32 LE; a 1-byte input traps ("input too short").
  const good = Array.from({ length: 60 }, (_, i) => hex(Buffer.from(new Uint32Array([i * 10, i * 10 + 50]).buffer).toString('hex')));
  const r = await post(op, '/api/jobs', { task: 'primes', inputs: [...good, hex('00')], spotCheck: 0 });
  assert.equal(r.status, 201);
  const { id } = (await r.json()) as { id: string };
  const job = await mesh.gateway.waitForJob(id, 90_000);
  assert.equal(job.state, 'failed');
  assert.equal(job.totals.failed, 1, 'the trapped task is failed');
  assert.equal(job.totals.done, 60);
  const errs = await json(viewer(`${mesh.url}/api/jobs/${id}/tasks?state=failed`));
  assert.equal(errs.total, 1);
  assert.equal(errs.items[0].index, 60);
  assert.equal(errs.items[0].ok, false);
  assert.match(errs.items[0].error, /trap/);
  const p2 = await json(viewer(`${mesh.url}/api/jobs/${id}/tasks?limit=25&offset=25&sort=index`));
  assert.equal(p2.total, 61);
  assert.deepEqual(p2.items.map((t: { index: number }) => t.index), Array.from({ length: 25 }, (_, i) => 25 + i));
  assert.equal(typeof p2.items[0].outputSha256, 'string');
  const noResults = await json(viewer(`${mesh.url}/api/jobs/${id}?results=false`));
  assert.equal(noResults.results, undefined);

  mesh.gateway.flushBatches();
  const sealed = await waitFor('more than 50 batches', () => {
    const n = (mesh.gateway.store.db.prepare('SELECT COUNT(*) AS n, TOTAL(count) AS r FROM batches').get() as { n: number; r: number });
    return n.n > 50 ? n : null;
  }, 30_000);
  const b = await json(viewer(`${mesh.url}/api/batches?limit=50`));
  assert.equal(b.batches.length, 50);
  assert.ok(b.total > 50);
  // The totals follow each batch once it is on disk.
  await waitFor('batch totals include every batch', () => mesh.gateway.console.batchTotals().receipts >= sealed.r);
  const x = await json(viewer(`${mesh.url}/api/batches?limit=10`));
  assert.ok(x.totals.receipts >= sealed.r && x.totals.batches >= sealed.n, `totals over every batch: ${JSON.stringify(x.totals)} vs ${JSON.stringify(sealed)}`);
  const metrics = await (await viewer(`${mesh.url}/metrics`)).text();
  const batchesTotal = Number(/^swarmlet_batches_total (\d+)/m.exec(metrics)?.[1]);
  assert.ok(batchesTotal > 50, `swarmlet_batches_total counts sealed batches (${batchesTotal})`);
  for (const id of deviceIds()) {
    assert.match(metrics, new RegExp(`swarmlet_node_temperature_celsius\\{node="${id}"\\} \\d`));
    assert.match(metrics, new RegExp(`swarmlet_node_slots\\{node="${id}",kind="granted"\\} \\d`));
    assert.match(metrics, new RegExp(`swarmlet_node_state\\{node="${id}",state="cool"\\} 1`));
  }
  assert.match(metrics, /swarmlet_nodes\{condition="cool"\} 3/);
  assert.match(metrics, /swarmlet_alerts_active\{kind="node-critical"\} 0/);
});

test('cancel: the operator who submitted a job may cancel it, another operator may not, an admin may; the job ends cancelled', async () => {
  const big = hex(Buffer.from(new Uint32Array([0, 16_000_000]).buffer).toString('hex'));
  const { id } = (await (await post(op, '/api/jobs', { task: 'primes', inputs: Array(12).fill(big), spotCheck: 0 })).json()) as { id: string };
  const other = authedFetch(operatorToken(mesh.gateway, 'operator'));
  const refused = await post(other, `/api/jobs/${id}/cancel`);
  assert.equal(refused.status, 403);
  const ok = await post(op, `/api/jobs/${id}/cancel`);
  assert.equal(ok.status, 200, await ok.clone().text());
  const j = await json(viewer(`${mesh.url}/api/jobs/${id}?results=false`));
  assert.equal(j.state, 'cancelled');
  assert.match(j.error, /cancelled by/);
  assert.equal(j.totals.open, 0);
  assert.equal((await post(admin, `/api/jobs/${id}/cancel`)).status, 409, 'not running any more');
  const list = await json(viewer(`${mesh.url}/api/jobs?state=cancelled`));
  assert.deepEqual(list.jobs.map((x: { id: string }) => x.id), [id]);
  const { id: id2 } = (await (await post(other, '/api/jobs', { task: 'primes', inputs: Array(6).fill(big), spotCheck: 0 })).json()) as { id: string };
  assert.equal((await post(admin, `/api/jobs/${id2}/cancel`)).status, 200, 'an admin cancels any job');
});

test('drain: a drained device gets no new work and says so; roles are enforced', async () => {
  const id = deviceIds()[2]!;
  assert.equal((await post(viewer, `/api/nodes/${id}/drain`, { drain: true })).status, 403);
  assert.equal((await post(op, `/api/nodes/${id}/drain`, { drain: 'yes' })).status, 400);
  assert.equal((await post(op, `/api/nodes/${id}/drain`, { drain: true })).status, 200);
  assert.equal((await json(viewer(`${mesh.url}/api/nodes/${id}`))).node.drained, true);
  const ins = Array.from({ length: 30 }, (_, i) => hex(Buffer.from(`drain ${i}`).toString('hex')));
  const { id: job } = (await (await post(op, '/api/jobs', { task: 'sha256', inputs: ins, spotCheck: 0 })).json()) as { id: string };
  const done = await mesh.gateway.waitForJob(job, 60_000);
  assert.equal(done.results!.filter((r) => r.nodeId === id).length, 0, 'no task went to the drained device');
  assert.equal((await post(op, `/api/nodes/${id}/drain`, { drain: false })).status, 200);
  assert.equal((await json(viewer(`${mesh.url}/api/nodes/${id}`))).node.drained, false);
  assert.equal((await post(op, `/api/nodes/${id}/readmit`)).status, 403, 'readmit is for admins');
});

test('revoke then readmit through the API: the broker cuts the device off, then lets it back in and it comes online', async () => {
  const id = deviceIds()[1]!;
  assert.ok(connectedAtBroker(id));
  assert.equal((await post(admin, `/api/nodes/${id}/readmit`)).status, 409, 'enrolled: nothing to readmit');
  assert.equal((await post(admin, `/api/nodes/${id}/revoke`)).status, 200);
  await waitFor('the broker disconnected it', () => !connectedAtBroker(id), 10_000);
  const d = await json(viewer(`${mesh.url}/api/nodes/${id}`));
  assert.equal(d.enrollment.status, 'revoked');
  assert.equal(d.node.enrollment, 'revoked');
  await new Promise((r) => setTimeout(r, 700)); // it keeps trying, and keeps being refused
  assert.equal(connectedAtBroker(id), false);
  assert.equal(mesh.enrollment.pending.get(id), undefined, 'a revoked key is not listed as a join request');
  assert.equal((await post(admin, `/api/nodes/${id}/readmit`)).status, 200);
  await waitFor('it reconnected', () => connectedAtBroker(id), 15_000);
  await waitFor('it is online again', () => mesh.gateway.console.node(id)?.online && mesh.gateway.console.node(id)?.enrollment === 'enrolled', 15_000);
  assert.equal((await post(admin, `/api/nodes/${'0'.repeat(32)}/readmit`)).status, 404);
});

test('a device with an unenrolled key asks to join: listed as pending, approved, then it connects and comes online', async () => {
  let extra: Fleet | null = null;
  try {
    extra = await startFleet({
      brokers: [mesh.brokerUrl], devices: 1, dataDir: join(dir.path, 'newcomer'), trustedPublishers: [toHex(mesh.gatewayIdentity.publicKey)],
      profiles: 'router', advertIntervalMs: 300, agent: FAST_RECONNECT, threads: 0,
    });
    const id = extra.devices[0]!.nodeId;
    const pending = await waitFor('listed as pending', () => mesh.enrollment.pending.get(id), 15_000);
    assert.ok(pending.attempts >= 1);
    const list = await json(viewer(`${mesh.url}/api/enrollment?status=pending`));
    assert.deepEqual(list.items.map((k: { nodeId: string }) => k.nodeId), [id]);
    assert.equal(list.counts.pending, 1);
    assert.equal((await post(op, `/api/enrollment/pending/${id}/approve`, {})).status, 403, 'approving is for admins');
    assert.equal((await post(admin, `/api/enrollment/pending/${id}/approve`, { name: 'new-router' })).status, 200);
    await waitFor('the newcomer connects and comes online', () => mesh.gateway.console.node(id)?.online, 20_000);
    assert.equal(mesh.gateway.console.node(id)?.name, 'new-router');
    assert.equal(mesh.enrollment.pending.size, 0);
    assert.equal((await post(admin, `/api/enrollment/pending/${id}/deny`)).status, 404, 'no request left');
    assert.equal((await post(admin, '/api/enrollment', { publicKey: 'zz' })).status, 400);
  } finally {
    await extra?.stop();
  }
});

test('the favicon is served (no 404)', async () => {
  const r = await fetch(`${mesh.url}/favicon.ico`, { redirect: 'follow' });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /svg/);
});
