/**
 * Group commit: effects of a commit (acks, assignments, batch headers) run only after an
 * fdatasync of the log that began after the commit; commits made in the same turn share
 * one sync; durability 'normal' runs them at once.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../../gateway/store.js';
import { WalSync } from '../../gateway/sqlite.js';

function withStore(durability: 'full' | 'normal', fn: (s: Store) => Promise<void>) {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmlet-wal-'));
    const s = new Store(dir, { durability });
    try { await fn(s); } finally { await s.closeAsync(); rmSync(dir, { recursive: true, force: true }); }
  };
}

describe('store log syncs', () => {
  it('full: effects wait for a sync; one sync serves every commit of the turn', withStore('full', async (s) => {
    const ran: number[] = [];
    const before = s.syncs;
    for (let i = 0; i < 10; i++) {
      s.setMeta(`k${i}`, String(i));
      s.afterSync(() => ran.push(i));
    }
    assert.deepEqual(ran, [], 'nothing runs before the sync');
    await s.synced();
    assert.deepEqual(ran, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'all ran, in order');
    assert.equal(s.syncs - before, 1, 'one fdatasync for the ten commits');
    s.setMeta('later', 'x');
    let later = false;
    s.afterSync(() => { later = true; });
    await s.synced();
    assert.equal(later, true);
    assert.equal(s.syncs - before, 2);
  }));

  it('a failed sync runs none of its effects and rejects its waiters', async () => {
    const errors: Error[] = [];
    const w = new WalSync(join(tmpdir(), 'swarmlet-no-such-dir', 'gateway.sqlite-wal'), (e) => errors.push(e));
    let ran = false;
    w.after(() => { ran = true; });
    await assert.rejects(w.synced(), /ENOENT/);
    assert.equal(ran, false, 'an effect of an unsynced commit never runs');
    assert.ok(errors.length >= 1);
    assert.equal(w.syncs, 0);
    await w.close();
  });

  it('normal: effects run at once, no syncs', withStore('normal', async (s) => {
    let ran = false;
    s.setMeta('k', 'v');
    s.afterSync(() => { ran = true; });
    assert.equal(ran, true);
    await s.synced();
    assert.equal(s.syncs, 0);
  }));
});
