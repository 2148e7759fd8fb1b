import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createWorkerPool, loadCatalogue } from '../../agent/runtime/index.js';
import { fileMeteredStore, meteringFingerprint } from '../../agent/runtime/metered-store.js';
import { tasksBuildDir } from '../../util/paths.js';
import { tempDir } from '../helpers/common.js';
import { sampleInput } from './inputs.js';

test('the shipped pre-metered catalogue gives the same fuel and output as metering live', async () => {
  const cat = loadCatalogue();
  const store = fileMeteredStore({ readOnly: [join(tasksBuildDir(), 'metered')] });
  const shipped = createWorkerPool({ size: 1, metered: store });
  const live = createWorkerPool({ size: 1 });
  try {
    for (const e of cat.entries) {
      assert.ok(store.get(e.hashHex), `${e.name} is shipped metered (${meteringFingerprint()})`);
      const input = sampleInput(e.name, { seed: 3 });
      const [a, b] = await Promise.all([shipped.run(e.wasm, input), live.run(e.wasm, input)]);
      assert.ok(a.ok && b.ok, e.name);
      assert.equal(a.fuel, b.fuel, e.name);
      assert.deepEqual(a.ok && a.output, b.ok && b.output, e.name);
    }
  } finally {
    await Promise.all([shipped.close(), live.close()]);
  }
});

test('a device keeps what it metered under the current rules only, and a damaged file is metered again', async () => {
  const dir = tempDir();
  try {
    mkdirSync(join(dir.path, 'v0-old'), { recursive: true });
    writeFileSync(join(dir.path, 'v0-old', `${'a'.repeat(64)}.wasm`), 'stale');
    const store = fileMeteredStore({ writable: dir.path });
    assert.deepEqual(readdirSync(dir.path), [], 'folders of other metering rules are removed');
    assert.equal(store.get('../../etc/passwd'), undefined);
    store.put('not-a-hash', new Uint8Array([1]));
    const e = loadCatalogue().byName('sha256')!;
    const pool = createWorkerPool({ size: 1, metered: store });
    const input = sampleInput('sha256', { seed: 1 });
    const first = await pool.run(e.wasm, input);
    await pool.close();
    const file = join(dir.path, meteringFingerprint(), `${e.hashHex}.wasm`);
    assert.ok(existsSync(file), 'metered once, kept');
    assert.deepEqual(readdirSync(join(dir.path, meteringFingerprint())), [`${e.hashHex}.wasm`]);
    writeFileSync(file, 'garbage');
    const again = createWorkerPool({ size: 1, metered: fileMeteredStore({ writable: dir.path }) });
    const second = await again.run(e.wasm, input);
    await again.close();
    assert.ok(first.ok && second.ok);
    assert.equal(second.fuel, first.fuel);
    assert.notEqual(readFileSync(file, 'utf8').slice(0, 7), 'garbage', 'the damaged file was replaced');
  } finally {
    dir.cleanup();
  }
});
