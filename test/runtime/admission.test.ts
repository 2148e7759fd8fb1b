import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, cpSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { admitModule, loadCatalogue, publishModuleEnvelope, runOnce, verifyPublishedModule } from '../../agent/runtime/index.js';
import type { Catalogue } from '../../agent/runtime/catalogue.js';
import { seal } from '../../protocol/envelope.js';
import { ProtocolError } from '../../protocol/errors.js';
import { generateIdentity } from '../../protocol/identity.js';
import { sha256 } from '../../protocol/hash.js';
import { tasksBuildDir } from '../../util/paths.js';
import { abiModule } from './wat.js';
import { catalogue, hex } from './helpers.js';

describe('admission', () => {
  let cat: Catalogue;
  before(async () => { cat = await catalogue(); });

  it('admits every catalogue module and returns its hash', () => {
    for (const e of cat.entries) {
      const a = admitModule(e.wasm, { expectedHash: e.hash, maxMemoryPages: 256 });
      assert.ok(a.ok, e.name);
      assert.equal(a.ok && hex(a.hash), e.hashHex);
    }
  });

  it('refuses a hash mismatch, a foreign import, bad bytes and too much initial memory', () => {
    const wasm = cat.byName('sha256')!.wasm;
    const wrong = admitModule(wasm, { expectedHash: new Uint8Array(32) });
    assert.equal(!wrong.ok && wrong.error.kind, 'invalid-module');
    assert.match(!wrong.ok ? wrong.error.message : '', /not the expected/);
    const big = admitModule(abiModule('(i64.const 0)', '', '(memory (export "memory") 300)'), { maxMemoryPages: 256 });
    assert.equal(!big.ok && big.error.kind, 'memory-limit');
    assert.equal(admitModule(abiModule('(i64.const 0)', '', '(memory (export "memory") 300)')).ok, true, 'no cap given: admitted');
    const junk = admitModule(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0xff]));
    assert.equal(!junk.ok && junk.error.kind, 'invalid-module');
  });

  it('the pool refuses to run a module whose hash is not the expected one', async () => {
    const wasm = cat.byName('sha256')!.wasm;
    const o = await runOnce(wasm, new Uint8Array(0), {}, { expectedHash: sha256(new Uint8Array([1])) });
    assert.equal(!o.ok && o.error.kind, 'invalid-module');
  });
});

describe('published modules', () => {
  let cat: Catalogue;
  before(async () => { cat = await catalogue(); });

  it('a module sealed by a trusted publisher opens, with its bytes and hash', () => {
    const publisher = generateIdentity();
    const e = cat.byName('mandelbrot')!;
    const env = publishModuleEnvelope(e, publisher);
    const m = verifyPublishedModule(env, [generateIdentity().publicKey, publisher.publicKey]);
    assert.equal(m.name, 'mandelbrot');
    assert.equal(hex(m.hash), e.hashHex);
    assert.equal(hex(m.wasm), hex(e.wasm));
    assert.equal(m.description, e.description);
  });

  it('refuses an untrusted signer, a hash that does not match the wasm, a tampered envelope and another kind', () => {
    const publisher = generateIdentity();
    const e = cat.byName('primes')!;
    const env = publishModuleEnvelope(e, publisher);
    assert.throws(() => verifyPublishedModule(env, [generateIdentity().publicKey]), (err: unknown) => err instanceof ProtocolError && err.code === 'wrong-signer');
    assert.throws(() => verifyPublishedModule(env, []), ProtocolError);
    const lying = seal('module', { name: 'primes', hash: sha256(new Uint8Array([9])), wasm: e.wasm, description: 'x', publishedAt: 1 }, publisher).bytes;
    assert.throws(() => verifyPublishedModule(lying, [publisher.publicKey]), (err: unknown) => err instanceof ProtocolError && /hash/.test(err.message));
    const tampered = env.slice();
    tampered[tampered.length - 100] ^= 1;
    assert.throws(() => verifyPublishedModule(tampered, [publisher.publicKey]), ProtocolError);
    const status = seal('status', { nodeId: publisher.nodeId, region: 'r1', online: true, at: 1 }, publisher);
    assert.throws(() => verifyPublishedModule(status.bytes, [publisher.publicKey]), ProtocolError);
    assert.throws(() => publishModuleEnvelope({ ...e, hash: new Uint8Array(32) }, publisher), ProtocolError);
  });
});

describe('catalogue', () => {
  it('loads from a copy, and refuses a manifest whose hash does not match its file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmlet-cat-'));
    try {
      cpSync(tasksBuildDir(), dir, { recursive: true });
      const cat = loadCatalogue(dir);
      assert.ok(cat.byName('sha256'));
      assert.equal(cat.byName('nope'), undefined);
      assert.equal(cat.byHash(cat.byName('sha256')!.hashHex.toUpperCase())?.name, 'sha256');
      writeFileSync(join(dir, 'blur.wasm'), new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
      assert.throws(() => loadCatalogue(dir), /does not match its manifest hash/);
      assert.throws(() => loadCatalogue(join(dir, 'missing')), /not found/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
