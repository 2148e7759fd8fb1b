/** The instrumentation worker: module faults are 'invalid-module', this machine's are 'timeout', and it recovers. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Instrumenter } from '../../agent/runtime/instrumenter.js';
import { compileHeavy } from './hostile-modules.js';
import { abiModule } from './wat.js';

describe('instrumenter', () => {
  it('past its time limit the worker is ended with a timeout, and the next job gets a fresh one', async () => {
    const slow = new Instrumenter(1);
    try {
      const r = await slow.instrument(compileHeavy(2));
      assert.equal(!r.ok && r.kind, 'timeout');
      assert.match(!r.ok ? r.message : '', /took over 1 ms/);
    } finally {
      await slow.close();
    }
    const ok = new Instrumenter();
    try {
      const jobs = await Promise.all([ok.instrument(abiModule('(i64.const 0)')), ok.instrument(abiModule('(v128.const i64x2 0 0) (drop) (i64.const 0)')), ok.instrument(abiModule('(i64.const 1)'))]);
      assert.deepEqual(jobs.map((j) => (j.ok ? 'ok' : j.kind)), ['ok', 'invalid-module', 'ok']);
    } finally {
      await ok.close();
    }
  });

  it('after close, jobs end at once with a timeout', async () => {
    const i = new Instrumenter();
    await i.close();
    const r = await i.instrument(abiModule('(i64.const 0)'));
    assert.equal(!r.ok && r.kind, 'timeout');
  });
});
