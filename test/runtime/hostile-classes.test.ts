/**
 * Issue 12's classes of hostile modules (test/runtime/hostile-modules.ts): huge tables and
 * element segments, compile bombs, bulk memory, stack exhaustion, deep nesting, features
 * outside ABI v1. Each ends with its typed outcome, the pool runs a real task right after,
 * and admission gives the same answer in a fresh process (nothing warmed up) as in a warm
 * one. Times and peak memory per case are measured by bench/sandbox, not here.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createWorkerPool } from '../../agent/runtime/index.js';
import { STATIC_LIMITS } from '../../agent/runtime/static-limits.js';
import type { Catalogue } from '../../agent/runtime/catalogue.js';
import type { TaskRunner } from '../../agent/runtime/types.js';
import { deepSum, HOSTILE_CASES, nestedBlocks } from './hostile-modules.js';
import { catalogue, hex } from './helpers.js';

const MAIN = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

describe('hostile module classes', () => {
  let pool: TaskRunner;
  let cat: Catalogue;
  before(async () => {
    cat = await catalogue();
    pool = createWorkerPool({ size: 2 });
  });
  after(() => pool.close());

  async function stillWorks(): Promise<void> {
    const input = new TextEncoder().encode('still alive');
    const o = await pool.run(cat.byName('sha256')!.wasm, input);
    assert.ok(o.ok, !o.ok ? o.error.message : '');
    assert.equal(hex(o.output), createHash('sha256').update(input).digest('hex'));
  }

  for (const c of HOSTILE_CASES.filter((h) => !h.heavy)) {
    it(`${c.cls}: ${c.name} -> ${c.kind}`, async () => {
      const o = await pool.run(c.module(), new Uint8Array([1, 2, 3]), c.limits);
      assert.equal(o.ok ? 'ok' : o.error.kind, c.kind, !o.ok ? o.error.message : '');
      if (c.message && !o.ok) assert.match(o.error.message, c.message);
      assert.ok(Number.isSafeInteger(o.fuel) && o.fuel >= 0);
      if (c.kind === 'fuel-exhausted') assert.equal(o.fuel, c.limits.fuel);
      await stillWorks();
    });
  }

  it('admission at and past the nesting limit: the same in a fresh process as in a warm one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmlet-nest-'));
    try {
      const deepest = Math.floor(STATIC_LIMITS.nesting / 2) - 1;
      const modules: [string, Uint8Array, string][] = [
        ['deepest blocks', nestedBlocks(deepest), 'ok'],
        ['deepest sum', deepSum(STATIC_LIMITS.nesting - 4), 'ok'],
        ['blocks one deeper than allowed', nestedBlocks(deepest + 1), 'invalid-module'],
      ];
      for (const [name, wasm, kind] of modules) {
        const file = join(dir, 'm.wasm');
        writeFileSync(file, wasm);
        // A fresh process: this module is the first thing its instrumenter ever sees.
        const r = spawnSync(process.execPath, [MAIN, 'task', 'run', file, '--json'], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, SWARMLET_LOG_LEVEL: 'warn' } });
        const fresh = JSON.parse(r.stdout) as { ok: boolean; error?: { kind: string; message: string }; fuel: number };
        assert.equal(fresh.ok ? 'ok' : fresh.error!.kind, kind, `${name}, fresh: ${r.stdout}`);
        const warm = await pool.run(wasm, new Uint8Array(0));
        assert.equal(warm.ok ? 'ok' : warm.error.kind, kind, `${name}, warm`);
        assert.equal(warm.fuel, fresh.fuel, name);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
