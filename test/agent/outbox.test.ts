/** The durable outbox on real files in a temp dir: restart, torn tails, group commit, bounds, compaction. */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Outbox } from '../../agent/outbox.js';
import { sha256, toHex } from '../../protocol/hash.js';
import type { ChainHead } from '../../protocol/receipt.js';
import { tempDir } from './harness.js';

const dirs: { cleanup(): void }[] = [];
after(() => dirs.forEach((d) => d.cleanup()));
function dir(): string {
  const d = tempDir('swarmlet-outbox-');
  dirs.push(d);
  return d.path;
}

const opts = { maxEntries: 1000, maxBytes: 64 * 1024 * 1024 };
/** An entry whose id chains to the head, like a receipt would. */
const entry = (size = 100) => (head: ChainHead) => {
  const data = new Uint8Array(size).fill(head.seq & 0xff);
  const id = sha256(new Uint8Array([...head.id, ...data, head.seq & 0xff]));
  return { seq: head.seq + 1, id, taskId: `t${head.seq + 1}`, data };
};

describe('outbox', () => {
  it('keeps entries and the chain head across a restart, and forgets removed ones', async () => {
    const d = dir();
    const ob = await Outbox.open(d, opts);
    const es = await Promise.all([ob.append(entry()), ob.append(entry()), ob.append(entry())]);
    assert.deepEqual(es.map((e) => e.seq), [1, 2, 3]);
    assert.ok(es.every((e) => e.durable));
    ob.remove(es[1]!.idHex);
    await ob.close();

    const again = await Outbox.open(d, opts);
    assert.deepEqual(again.pending().map((e) => e.seq), [1, 3]);
    assert.equal(again.head().seq, 3);
    assert.equal(toHex(again.head().id), es[2]!.idHex);
    const next = await again.append(entry());
    assert.equal(next.seq, 4);
    await again.close();
  });

  it('keeps the head even when every entry was acknowledged and the journal compacted', async () => {
    const d = dir();
    const ob = await Outbox.open(d, { ...opts, compactMinBytes: 4096 });
    let last = '';
    for (let i = 0; i < 40; i++) {
      const e = await ob.append(entry(1000));
      last = e.idHex;
      ob.remove(e.idHex);
    }
    await ob.flush();
    await ob.append(entry(10)); // a write after the deletes triggers compaction
    await ob.flush();
    assert.ok(ob.stats().compactions >= 1, 'journal was compacted');
    assert.ok(statSync(join(d, 'outbox.log')).size < 8 * 1024, 'compacted journal is small');
    await ob.close();
    const again = await Outbox.open(d, opts);
    assert.equal(again.head().seq, 41);
    assert.equal(again.pending().length, 1);
    assert.notEqual(toHex(again.head().id), last);
    await again.close();
  });

  it('cuts off a torn record at the tail (power cut mid-write) and continues the chain', async () => {
    const d = dir();
    const ob = await Outbox.open(d, opts);
    await ob.append(entry());
    const second = await ob.append(entry());
    await ob.close();
    // Half a record: a length header promising more than is there, then a few bytes.
    appendFileSync(join(d, 'outbox.log'), Buffer.from([0, 0, 1, 0, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3]));
    const again = await Outbox.open(d, opts);
    assert.equal(again.stats().truncatedBytes, 11);
    assert.equal(again.head().seq, 2);
    assert.equal(toHex(again.head().id), second.idHex);
    const third = await again.append(entry());
    assert.equal(third.seq, 3);
    await again.close();
    const third2 = await Outbox.open(d, opts);
    assert.deepEqual(third2.pending().map((e) => e.seq), [1, 2, 3], 'records after the cut are readable');
    await third2.close();
  });

  it('a corrupted byte inside a record stops the replay there (CRC)', async () => {
    const d = dir();
    const ob = await Outbox.open(d, opts);
    await ob.append(entry(50));
    await ob.append(entry(50));
    await ob.close();
    const { readFileSync, writeFileSync } = await import('node:fs');
    const f = join(d, 'outbox.log');
    const bytes = readFileSync(f);
    bytes[bytes.length - 5] ^= 0xff; // inside the second record's payload
    writeFileSync(f, bytes);
    const again = await Outbox.open(d, opts);
    assert.equal(again.head().seq, 1);
    assert.ok(again.stats().truncatedBytes > 0);
    await again.close();
  });

  it('group-commits concurrent appends into few write+fsync batches', async () => {
    const d = dir();
    const ob = await Outbox.open(d, opts);
    const all = await Promise.all(Array.from({ length: 200 }, () => ob.append(entry(200))));
    assert.deepEqual(all.map((e) => e.seq), Array.from({ length: 200 }, (_, i) => i + 1));
    const s = ob.stats();
    assert.equal(s.records, 200);
    assert.ok(s.commits < 200 / 4, `expected batching, got ${s.commits} commits for 200 records`);
    await ob.close();
  });

  it('reports full at its entry and byte bounds', async () => {
    const d = dir();
    const ob = await Outbox.open(d, { maxEntries: 3, maxBytes: 64 * 1024 });
    await ob.append(entry());
    await ob.append(entry());
    assert.equal(ob.isFull(), false);
    const third = await ob.append(entry());
    assert.equal(ob.isFull(), true);
    ob.remove(third.idHex);
    assert.equal(ob.isFull(), false);
    await ob.append(entry(70 * 1024));
    assert.equal(ob.isFull(), true, 'byte bound');
    await ob.close();
  });

  it('refuses an entry that does not follow the head, leaving the head unchanged', async () => {
    const d = dir();
    const ob = await Outbox.open(d, opts);
    await ob.append(entry());
    assert.throws(() => ob.append((h) => ({ ...entry()(h), seq: h.seq + 2 })), /does not follow/);
    assert.equal(ob.head().seq, 1);
    await ob.close();
  });
});
