/**
 * Every catalogue task end to end from JSON inputs to decoded outputs, through the real
 * CLI against a running mesh (real agents on simulated devices): inputs written by hand
 * and inputs from the seeded generators, encoded by each task's declared layout, outputs
 * decoded by it and equal to the TypeScript references. A task that fails is failed
 * everywhere: the CLI's exit code and lines, the API's job state and totals, the metrics.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeValue, encodeValue } from '../../protocol/layout.js';
import { loadCatalogue } from '../../agent/runtime/catalogue.js';
import { REFERENCES } from '../runtime/references.js';
import { sampleInput, TASK_NAMES } from '../runtime/inputs.js';
import { authedFetch } from '../helpers/operator.js';
import { run } from '../helpers/cli.js';
import { withMesh } from './helpers.js';

const HAND_WRITTEN: Record<string, unknown[]> = {
  sha256: [{ data: { text: 'hello' } }, { data: 'deadbeef' }, { data: { base64: 'AAEC' } }],
  matmul: [{ m: 2, k: 2, n: 2, a: [1, 2, 3, 4], b: [5, 6, 7, 8] }],
  blur: [{ width: 3, height: 2, pixels: [0, 16, 32, 48, 64, 80] }],
  stats: [{ samples: [1, 2, 3, 4] }],
  mlp: [{ windows: [[0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56, 60], Array(16).fill(5)] }],
  mandelbrot: [{ x0: -2, y0: -1, step: 0.5, width: 4, height: 4, maxIter: 50 }],
  primes: [{ lo: 0, hi: 100 }],
};

interface Out { job: { id: string; state: string; totals: { done: number; failed: number } }; results: Array<{ ok: boolean; output: unknown; outputHex: string; error: string | null }> }

test('each catalogue task runs from JSON inputs to decoded outputs; a failed task is failed everywhere', async () => {
  const catalogue = loadCatalogue();
  await withMesh({ devices: 3, fleet: { profiles: 'pi5-active' } }, async (mesh, dir) => {
    const auth = ['--gateway', mesh.url, '--token-file', mesh.tokenFile];
    for (const name of TASK_NAMES) {
      const { layout } = catalogue.byName(name)!;
      const generated = [1, 2].map((seed) => JSON.parse(JSON.stringify(decodeValue(layout.input, sampleInput(name, { seed }), 'input'))) as unknown);
      const values = [...HAND_WRITTEN[name]!, ...generated];
      const file = join(dir, `${name}.json`);
      writeFileSync(file, JSON.stringify(values));
      const r = await run(['job', 'submit', ...auth, '--task', name, '--input-json', file, '--wait', '--json'], dir);
      assert.equal(r.code, 0, `${name}: ${r.stderr}`);
      const out = JSON.parse(r.stdout) as Out;
      assert.equal(out.job.state, 'done', name);
      assert.equal(out.results.length, values.length);
      out.results.forEach((res, i) => {
        const expected = REFERENCES[name]!(encodeValue(layout.input, values[i]));
        assert.equal(res.outputHex, Buffer.from(expected).toString('hex'), `${name} #${i}`);
        assert.deepEqual(res.output, JSON.parse(JSON.stringify(decodeValue(layout.output, expected))), `${name} #${i} decoded`);
      });
      if (name === 'matmul') assert.deepEqual(out.results[0]!.output, { c: [19, 22, 43, 50] });
      if (name === 'stats') assert.deepEqual(out.results[0]!.output, { count: 4, mean: 2.5, variance: 1.25, min: 1, max: 4, p50: 2, p90: 4, p99: 4 });
      if (name === 'primes') assert.deepEqual(out.results[0]!.output, { count: 25 });
      if (name === 'mlp') assert.ok((out.results[0]!.output as { classes: string[] }).classes.every((c) => typeof c === 'string'), 'classes by name');
    }

    // --output hex, --out-dir, and raw bytes of a one-task job
    const statsFile = join(dir, 'stats.json');
    const hex = await run(['job', 'submit', ...auth, '--task', 'stats', '--input-json', statsFile, '--wait', '--json', '--output', 'hex'], dir);
    assert.equal(hex.code, 0, hex.stderr);
    for (const x of (JSON.parse(hex.stdout) as Out).results) assert.equal(x.output, x.outputHex);
    const outDir = join(dir, 'outputs');
    const files = await run(['job', 'submit', ...auth, '--task', 'stats', '--input-json', statsFile, '--wait', '--out-dir', outDir], dir);
    assert.equal(files.code, 0, files.stderr);
    assert.deepEqual(readdirSync(outDir).sort(), ['task-0.json', 'task-1.json', 'task-2.json']);
    assert.deepEqual(JSON.parse(readFileSync(join(outDir, 'task-0.json'), 'utf8')), { count: 4, mean: 2.5, variance: 1.25, min: 1, max: 4, p50: 2, p90: 4, p99: 4 });
    writeFileSync(join(dir, 'one.json'), JSON.stringify({ data: { text: 'abc' } }));
    const raw = await run(['job', 'submit', ...auth, '--task', 'sha256', '--input-json', join(dir, 'one.json'), '--wait', '--output', 'raw'], dir);
    assert.equal(raw.code, 0, raw.stderr);
    assert.equal(raw.bytes.toString('hex'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');

    // A task that traps: exit 1, a FAILED line with the task's reason; the API and metrics agree.
    writeFileSync(join(dir, 'mixed.json'), JSON.stringify([{ lo: 0, hi: 100 }, { lo: 0, hi: 4294967295 }]));
    const mixed = await run(['job', 'submit', ...auth, '--task', 'primes', '--input-json', join(dir, 'mixed.json'), '--wait'], dir);
    assert.equal(mixed.code, 1, mixed.stdout + mixed.stderr);
    assert.match(mixed.stdout, /\(primes\): failed; 1 done, 1 failed, 0 open of 2/);
    assert.match(mixed.stdout, /^#0\tok\t\{"count":25\}/m);
    assert.match(mixed.stdout, /^#1\tFAILED\ttrap: abort: primes: range over 16 Mi/m);
    const id = /job (\S+) \(primes\)/.exec(mixed.stdout)![1]!;
    const api = authedFetch(mesh.token);
    const view = (await (await api(`${mesh.url}/api/jobs/${id}`)).json()) as { state: string; error: string; totals: { done: number; failed: number }; results: Array<{ ok: boolean; error: string | null }> };
    assert.equal(view.state, 'failed');
    assert.deepEqual([view.totals.done, view.totals.failed], [1, 1]);
    assert.match(view.error, /1 of 2 tasks failed: trap: abort: primes: range over 16 Mi/);
    assert.deepEqual(view.results.map((x) => x.ok), [true, false]);
    const status = await run(['job', 'status', id, ...auth], dir);
    assert.equal(status.code, 1, 'job status of a failed job exits 1');
    const metrics = await (await api(`${mesh.url}/metrics`)).text();
    assert.match(metrics, /swarmlet_tasks_total\{outcome="failed"\} 1\b/);
    assert.match(metrics, /swarmlet_jobs_total\{event="failed"\} 1\b/);
    assert.doesNotMatch(metrics, /outcome="error"/);

    // JSON that does not fit the layout never reaches the gateway
    writeFileSync(join(dir, 'typo.json'), JSON.stringify({ lo: 0, high: 10 }));
    const typo = await run(['job', 'submit', ...auth, '--task', 'primes', '--input-json', join(dir, 'typo.json'), '--wait'], dir);
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /typo\.json\.high: no such field/);
  });
});
