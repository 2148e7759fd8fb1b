/**
 * A task project as a task author uses it, through the real CLI: `task new` scaffolds it,
 * `task build` compiles it (the ABI helper imported as 'swarmlet/abi'), `task run` runs it
 * on JSON inputs, the scaffold's own TypeScript test passes against its reference, and
 * mistakes (a bad name, a compile error, a forbidden import, no build yet) are one-line
 * errors with exit code 2.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/common.js';
import { projectTest, run } from '../helpers/cli.js';

describe('a task project', () => {
  const dir = tempDir('swarmlet-project-');
  const proj = join(dir.path, 'rollmean');
  after(() => dir.cleanup());

  before(async () => {
    const r = await run(['task', 'new', 'rollmean'], dir.path);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /made task rollmean/);
  });

  it('is scaffolded with its layout, task, reference and test', () => {
    for (const f of ['task.json', 'asconfig.json', 'assembly/index.ts', 'test/reference.ts', 'test/task.test.ts', 'inputs/example.json', 'README.md', 'package.json']) {
      assert.ok(existsSync(join(proj, f)), f);
    }
    const task = JSON.parse(readFileSync(join(proj, 'task.json'), 'utf8')) as { name: string; version: string; layout: unknown };
    assert.equal(task.name, 'rollmean');
    assert.equal(task.version, '0.1.0');
    assert.match(readFileSync(join(proj, 'assembly/index.ts'), 'utf8'), /from 'swarmlet\/abi'/);
  });

  it('refuses a second scaffold in the same place, and a bad name', async () => {
    const again = await run(['task', 'new', 'rollmean'], dir.path);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /exists and is not empty/);
    const bad = await run(['task', 'new', 'Bad Name'], dir.path);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr.trim().split('\n').length, 1);
  });

  it('says to build before running', async () => {
    const r = await run(['task', 'run', '--input-json', 'inputs/example.json'], proj);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /build it first: swarmlet task build/);
  });

  it('builds (from another folder, naming it), runs on JSON inputs, and passes its own test against the TypeScript reference', async () => {
    const b = await run(['task', 'build', 'rollmean'], dir.path);
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stdout, /built build\/rollmean\.wasm \(\d+ bytes, sha256 [0-9a-f]{64}\)/);
    const r = await run(['task', 'run', '--input-json', 'inputs/example.json', '--json'], proj);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { ok: boolean; output: unknown; fuel: number };
    assert.deepEqual(out.output, { means: [2, 3, 4, 5] });
    assert.ok(out.fuel > 0);
    // several inputs: an array in one file
    writeFileSync(join(dir.path, 'many.json'), JSON.stringify([{ window: 1, samples: [7] }, { window: 2, samples: [1, 2, 4] }]));
    const m = await run(['task', 'run', '--input-json', join(dir.path, 'many.json')], proj);
    assert.equal(m.code, 0, m.stderr);
    assert.match(m.stdout, /#0: ok[\s\S]*\{"means":\[7\]\}[\s\S]*#1: ok[\s\S]*\{"means":\[1\.5,3\]\}/);
    // a bad input is the task's own refusal, exit 2
    writeFileSync(join(dir.path, 'bad.json'), JSON.stringify({ window: 9, samples: [1] }));
    const bad = await run(['task', 'run', '--input-json', join(dir.path, 'bad.json')], proj);
    assert.equal(bad.code, 2);
    assert.match(bad.stdout, /failed: trap: abort: rollmean: window must be/);
    // JSON that does not fit the layout: named field, exit 2
    writeFileSync(join(dir.path, 'typo.json'), JSON.stringify({ windw: 2, samples: [1] }));
    const typo = await run(['task', 'run', '--input-json', join(dir.path, 'typo.json')], proj);
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /windw: no such field/);
    const t = await projectTest(proj);
    assert.equal(t.code, 0, t.out);
    assert.match(t.out, /pass 2/);
  });

  it('refuses a folder with no task.json; compile errors and forbidden imports are clear refusals', async () => {
    const notProject = await run(['task', 'build', dir.path], dir.path);
    assert.equal(notProject.code, 2);
    assert.match(notProject.stderr, /holds no task\.json/);
    const src = join(proj, 'assembly', 'index.ts');
    const good = readFileSync(src, 'utf8');
    try {
      writeFileSync(src, good.replace('let sum: f64 = 0;', 'let sum: f64 = Math.random();'));
      const r = await run(['task', 'build'], proj);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /outside ABI v1 \(forbidden-import\).*env\.seed/);
      writeFileSync(src, good.replace('let sum: f64 = 0;', 'let sum: f64 = nope;'));
      const c = await run(['task', 'build'], proj);
      assert.equal(c.code, 2);
      assert.match(c.stderr, /asc failed on assembly\/index\.ts[\s\S]*nope/);
    } finally {
      writeFileSync(src, good);
    }
    assert.ok(existsSync(join(proj, 'build', 'rollmean.wasm')), 'a failed build leaves the last good module in place');
  });
});
