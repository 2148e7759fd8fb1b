/**
 * WAL checkpoints run in a worker thread with its own connection: the main connection never
 * checkpoints inside a commit, the log still gets copied back into the database, and if the
 * thread dies the main connection takes auto-checkpoint back (the log never grows unbounded).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Store } from '../../gateway/store.js';
import { sha256 } from '../../protocol/hash.js';
import { waitFor } from '../helpers/common.js';

/** Write ~`mb` MiB of task inputs in commits of 64 tasks. */
function fill(s: Store, tag: string, mb: number): void {
  const per = 64;
  for (let j = 0; j < Math.ceil((mb * 1024 * 1024) / (per * 16 * 1024)); j++) {
    const id = `${tag}${j}`;
    const tasks = Array.from({ length: per }, (_, i) => {
      const input = new Uint8Array(randomBytes(16 * 1024));
      return { id: `${id}.${i}`, idx: i, input, inputHash: sha256(input), spot: false };
    });
    s.insertJob({ id, task_name: 'sha256', module_hash: '00'.repeat(32), redundancy: 1, spot_check: 0, max_price: 1, region: 'local',
      deadline: Date.now() + 60_000, fuel_limit: 1e9, created_at: Date.now(), n_tasks: per }, tasks);
  }
}

describe('WAL checkpoints off the main thread', () => {
  it('the main connection does not auto-checkpoint, yet the log reaches the database file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmlet-ckpt-'));
    const s = new Store(dir);
    try {
      assert.equal(s.db.pragma('wal_autocheckpoint', { simple: true }), 0);
      const dbFile = join(dir, 'gateway.sqlite');
      const before = statSync(dbFile).size;
      fill(s, 'a', 8);
      // Written to the log only (nothing checkpoints on this thread) until the worker copies it back.
      await waitFor('pages checkpointed into the database file', () => statSync(dbFile).size > before + 6 * 1024 * 1024, 20_000);
      assert.equal((s.db.prepare('SELECT COUNT(*) AS n FROM tasks').get() as { n: number }).n, 8 * 64, 'every row readable');
    } finally {
      await s.closeAsync();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a dead checkpoint thread hands checkpoints back to the main connection', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmlet-ckpt-'));
    const errors: string[] = [];
    const s = new Store(dir, { onSyncError: (e) => errors.push(e.message) });
    try {
      const t = s.checkpointer.thread;
      assert.ok(t, 'a checkpoint thread runs');
      await t.terminate();
      await waitFor('auto-checkpoint back on', () => s.db.pragma('wal_autocheckpoint', { simple: true }) === 1000, 10_000);
      assert.ok(errors.some((m) => /checkpoint thread gone/.test(m)), 'reported');
      assert.equal(s.checkpointer.thread, null);
      // And the store still works, checkpointing inline now.
      fill(s, 'b', 6);
      assert.ok(statSync(join(dir, 'gateway.sqlite')).size > 4 * 1024 * 1024, 'the main connection checkpointed');
    } finally {
      await s.closeAsync();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
