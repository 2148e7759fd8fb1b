/**
 * The module registry on a real local mesh (authenticating broker, gateway, simulated
 * devices running real agents): an operator publishes a module written in WebAssembly
 * text; it is admitted by the agents' own runtime, stored, listed, announced on the
 * retained module topic, and jobs name it by `name@version`, by its bare name (the newest
 * version) or by hash. Every refusal is a 4xx naming why; the registry survives a restart.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { startLocalMesh, type LocalMesh } from '../../sim/mesh.js';
import { startGateway } from '../../gateway/index.js';
import { Modules, ModuleRefused } from '../../gateway/modules/index.js';
import { Store } from '../../gateway/store.js';
import { createWorkerPool } from '../../agent/runtime/index.js';
import { createLogger } from '../../util/log.js';
import { sha256Hex } from '../../protocol/hash.js';
import { MAX_MODULE_BYTES } from '../../protocol/messages.js';
import { abiModule, wat } from '../runtime/wat.js';
import { BYTESUM_LAYOUT, BYTESUM_WAT, bytesumReference, publishModule, REVERSE_WAT } from '../helpers/modules.js';
import { authedFetch } from '../helpers/operator.js';
import { tempDir } from '../helpers/common.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const inputs = (n: number) => Array.from({ length: n }, (_, i) => Uint8Array.from({ length: 10 + i * 13 }, (_, j) => (i * 31 + j * 7) & 0xff));

describe('module registry', () => {
  let dir: string;
  let mesh: LocalMesh;
  let operator: string;
  let viewer: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'swarmlet-registry-'));
    mesh = await startLocalMesh({ dataDir: dir, devices: 2, fleet: { profiles: 'pi5-active' } });
    operator = mesh.gateway.access.tokens.create('publisher', 'operator').token;
    viewer = mesh.gateway.access.tokens.create('watcher', 'viewer').token;
  });
  after(async () => {
    await mesh?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('publishes a WAT module, lists it, and runs jobs on it by name@version, by name and by hash', async () => {
    const r = await publishModule(mesh.url, operator, { name: 'bytesum', version: '1.0.0', wasm: BYTESUM_WAT, description: 'sum of bytes', layout: BYTESUM_LAYOUT });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.ref, 'bytesum@1.0.0');
    assert.equal(r.body.hash, sha256Hex(BYTESUM_WAT));
    assert.equal(r.body.publishedBy, 'publisher');
    assert.equal(r.body.created, true);

    const api = authedFetch(viewer);
    const list = (await (await api(`${mesh.url}/api/modules`)).json()) as { modules: Array<{ ref: string; source: string; layout: unknown; hash: string }> };
    assert.ok(list.modules.some((m) => m.ref === 'sha256' && m.source === 'catalogue' && m.layout !== null), 'catalogue entries with their layouts');
    const listed = list.modules.find((m) => m.ref === 'bytesum@1.0.0');
    assert.deepEqual(listed?.layout, BYTESUM_LAYOUT);
    assert.equal(listed?.source, 'registry');
    for (const ref of ['bytesum@1.0.0', 'bytesum', sha256Hex(BYTESUM_WAT)]) {
      const one = await api(`${mesh.url}/api/modules/${encodeURIComponent(ref)}`);
      assert.equal(one.status, 200, ref);
      assert.equal(((await one.json()) as { ref: string }).ref, 'bytesum@1.0.0', ref);
    }
    assert.equal((await api(`${mesh.url}/api/modules/nothing@1`)).status, 404);
    assert.equal((await api(`${mesh.url}/api/modules/${encodeURIComponent('bad\nref')}`)).status, 400);

    for (const task of ['bytesum@1.0.0', 'bytesum', sha256Hex(BYTESUM_WAT)]) {
      const ins = inputs(task === 'bytesum@1.0.0' ? 20 : 3);
      const { id } = await mesh.gateway.submitJob({ task, inputs: ins, spotCheck: 0.5 });
      const job = await mesh.gateway.waitForJob(id, 60_000);
      assert.equal(job.state, 'done', `${task}: ${job.error}`);
      assert.equal(job.task, 'bytesum@1.0.0');
      assert.deepEqual(job.results!.map((x) => x.outputHex), ins.map((b) => hex(bytesumReference(b))), task);
    }
  });

  it('a module close to the 1 MiB limit is admitted, carried to the devices and run', async () => {
    // 900 KB of data: the signed module envelope, the retained message and the agents' fetch all carry it.
    const big = abiModule('(i64.or (i64.shl (i64.const 100) (i64.const 32)) (i64.const 4))', `(data (i32.const 100) "${'ab'.repeat(450_000)}")`, '(memory (export "memory") 16)');
    assert.ok(big.length > 900_000 && big.length <= MAX_MODULE_BYTES, `${big.length} bytes`);
    const r = await publishModule(mesh.url, operator, { name: 'big', version: '1', wasm: big });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const { id } = await mesh.gateway.submitJob({ task: 'big@1', inputs: [Uint8Array.of(1), Uint8Array.of(2)], spotCheck: 0 });
    const job = await mesh.gateway.waitForJob(id, 60_000);
    assert.equal(job.state, 'done', job.error ?? '');
    assert.deepEqual(job.results!.map((x) => x.outputHex), ['61626162', '61626162']);
  });

  it('versions are immutable; the same bytes again change nothing; a bare name means the newest version', async () => {
    const again = await publishModule(mesh.url, operator, { name: 'bytesum', version: '1.0.0', wasm: BYTESUM_WAT });
    assert.equal(again.status, 200);
    assert.equal(again.body.created, false);
    const clash = await publishModule(mesh.url, operator, { name: 'bytesum', version: '1.0.0', wasm: REVERSE_WAT });
    assert.equal(clash.status, 409);
    assert.equal(clash.body.kind, 'version-taken');
    const v2 = await publishModule(mesh.url, operator, { name: 'bytesum', version: '2.0.0-rev', wasm: REVERSE_WAT });
    assert.equal(v2.status, 201);
    const { id } = await mesh.gateway.submitJob({ task: 'bytesum', inputs: [Uint8Array.of(1, 2, 3)] });
    const job = await mesh.gateway.waitForJob(id, 60_000);
    assert.equal(job.task, 'bytesum@2.0.0-rev');
    assert.equal(job.results![0]!.outputHex, '030201');
  });

  it('refuses what an agent would refuse, and bad requests, with the reason', async () => {
    const refuse = async (body: Record<string, unknown>, status: number, kind: string, re?: RegExp) => {
      const r = await publishModule(mesh.url, operator, { name: 'bad', version: '1', ...body });
      assert.equal(r.status, status, `${kind}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.kind, kind);
      if (re) assert.match(String(r.body.error), re);
    };
    await refuse({ wasm: wat('(module (import "env" "seed" (func (result f64))) (memory (export "memory") 1) (func (export "alloc") (param i32) (result i32) (i32.const 0)) (func (export "run") (param i32 i32) (result i64) (i64.const 0)))') },
      422, 'forbidden-import', /env\.seed/);
    await refuse({ wasm: wat('(module (memory (export "memory") 1) (func (export "run") (param i32 i32) (result i64) (i64.const 0)))') }, 422, 'invalid-module', /alloc/);
    // SIMD passes WebAssembly.validate: only the runtime's instrumentation (the dry run) refuses it.
    await refuse({ wasm: abiModule('(drop (i32x4.add (v128.const i32x4 1 2 3 4) (v128.const i32x4 1 2 3 4))) (i64.const 0)') }, 422, 'invalid-module', /SIMD/);
    await refuse({ wasm: abiModule('(i64.const 0)', '', '(memory (export "memory") 300)') }, 422, 'memory-limit', /300 initial pages/);
    await refuse({ wasm: Uint8Array.of(1, 2, 3, 4) }, 422, 'invalid-module');
    await refuse({ name: 'Bad Name', wasm: BYTESUM_WAT }, 400, 'bad-name');
    await refuse({ version: '', wasm: BYTESUM_WAT }, 400, 'bad-version');
    await refuse({ name: 'sha256', wasm: BYTESUM_WAT }, 409, 'name-taken');
    await refuse({ wasm: BYTESUM_WAT, layout: { input: { fields: [{ name: 'a', type: 'u8', count: 'n' }] }, output: { fields: [] } } }, 400, 'bad-layout', /count names n/);
    await refuse({ wasm: 'not base64!' }, 400, 'bad-request', /base64/);
    assert.equal((await publishModule(mesh.url, viewer, { name: 'x', version: '1', wasm: BYTESUM_WAT })).status, 403, 'a viewer may not publish');
    assert.equal((await publishModule(mesh.url, null, { name: 'x', version: '1', wasm: BYTESUM_WAT })).status, 401, 'nor anyone without a token');
    const big = await publishModule(mesh.url, operator, { name: 'x', version: '1', wasm: new Uint8Array(MAX_MODULE_BYTES + 128 * 1024) });
    assert.equal(big.status, 413, 'a body over the limit is refused before it is read');
    // nothing refused was stored
    const list = (await (await authedFetch(viewer)(`${mesh.url}/api/modules`)).json()) as { modules: Array<{ name: string }> };
    assert.deepEqual(list.modules.filter((m) => m.name === 'bad' || m.name === 'x'), []);
    const unknown = await authedFetch(operator)(`${mesh.url}/api/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ task: 'bad@1', inputs: ['AA=='] }) });
    assert.equal(unknown.status, 400);
  });

  it('keeps the registry across a gateway restart', async () => {
    await mesh.gateway.stop();
    const gw = await startGateway({ brokerUrl: mesh.brokerUrl, identity: mesh.gatewayIdentity, enrollment: mesh.enrollment, dataDir: join(dir, 'gateway'), regions: ['local'] });
    try {
      const ins = inputs(4);
      const { id } = await gw.submitJob({ task: 'bytesum@1.0.0', inputs: ins, spotCheck: 1 });
      const job = await gw.waitForJob(id, 60_000);
      assert.equal(job.state, 'done', job.error ?? '');
      assert.deepEqual(job.results!.map((x) => x.outputHex), ins.map((b) => hex(bytesumReference(b))));
      assert.ok(job.results!.every((x) => x.verified), 're-executed by the gateway from the registry\'s copy');
    } finally {
      await gw.stop();
    }
  });
});

describe('module registry limits', () => {
  it('refuses a module past the count or byte limit, and stores nothing', async () => {
    const dir = tempDir('swarmlet-registry-');
    const store = new Store(dir.path, { durability: 'normal' });
    const runner = createWorkerPool({ size: 1 });
    try {
      const modules = new Modules({
        db: store.db, catalogue: [], runner, caps: { memoryPages: 256, timeoutMs: 10_000 }, synced: () => store.synced(),
        log: createLogger('test'), limits: { maxModules: 2, maxBytes: 1_000_000 },
      });
      const published: string[] = [];
      modules.onPublished = (a) => published.push(a.name);
      await modules.publish({ name: 'a', version: '1', wasm: BYTESUM_WAT, by: 't' });
      await modules.publish({ name: 'a', version: '2', wasm: BYTESUM_WAT, by: 't' }); // same bytes: no new module
      await modules.publish({ name: 'b', version: '1', wasm: REVERSE_WAT, by: 't' });
      assert.deepEqual(published, ['a@1', 'b@1'], 'each distinct module announced once');
      await assert.rejects(modules.publish({ name: 'c', version: '1', wasm: abiModule('(i64.const 0)'), by: 't' }),
        (e: unknown) => e instanceof ModuleRefused && e.status === 507 && e.kind === 'registry-full');
      assert.equal(modules.view('c@1'), undefined);
      assert.deepEqual([...modules.announcements()].map((a) => a.name).sort(), ['a@1', 'b@1']);
      assert.equal(modules.resolve('a')?.name, 'a@2');
      // at most 4 admissions at once: a fifth is refused, not queued
      const five = await Promise.allSettled([1, 2, 3, 4, 5].map((i) => modules.publish({ name: 'a', version: `3.${i}`, wasm: BYTESUM_WAT, by: 't' })));
      assert.deepEqual(five.map((x) => (x.status === 'rejected' ? (x.reason as ModuleRefused).kind : 'ok')), ['ok', 'ok', 'ok', 'ok', 'busy']);
    } finally {
      await runner.close();
      store.close();
      dir.cleanup();
    }
  });
});
