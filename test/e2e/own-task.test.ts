/**
 * Bring your own task, the whole path through the real CLI: `swarmlet task new` scaffolds a
 * project; a new AssemblyScript task (chunked Adler-32) and its TypeScript reference are
 * written into it; `task build` compiles it and the project's own test passes;
 * `task publish` sends it to a running mesh's registry; `job submit --input-json` runs a
 * 100-task job on simulated devices (real agents) and every decoded output equals the
 * TypeScript reference's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { decodeValue, parseTaskLayout } from '../../protocol/layout.js';
import { projectTest, run } from '../helpers/cli.js';
import { withMesh } from './helpers.js';

const LAYOUT = {
  input: { fields: [{ name: 'chunk', type: 'u32', description: 'bytes per checksum, 1..65536' }, { name: 'data', type: 'bytes', count: '*' }] },
  output: { fields: [{ name: 'sums', type: 'u32', count: '*', description: 'Adler-32 of each chunk, in order' }] },
};

const TASK = `// adler: [chunk u32][data...] -> the Adler-32 of each \`chunk\` bytes of data (the last piece may be shorter), u32 LE each.
import { input, output, u32At, putU32, fail } from 'swarmlet/abi';
export { alloc } from 'swarmlet/abi';

export function run(ptr: i32, len: i32): i64 {
  const a = input(ptr, len);
  const chunk = <i32>u32At(a, 0);
  if (chunk < 1 || chunk > 65536) fail('adler: chunk must be 1..65536');
  const n = len - 4;
  const pieces = (n + chunk - 1) / chunk;
  const out = new Uint8Array(pieces * 4);
  for (let p = 0; p < pieces; p++) {
    let s1: u32 = 1, s2: u32 = 0;
    const end = min(4 + (p + 1) * chunk, len);
    for (let i = 4 + p * chunk; i < end; i++) {
      s1 = (s1 + <u32>a[i]) % 65521;
      s2 = (s2 + s1) % 65521;
    }
    putU32(out, p * 4, (s2 << 16) | s1);
  }
  return output(out);
}
`;

const REFERENCE = `export function reference(input: Uint8Array): Uint8Array {
  if (input.length < 4) throw new Error('input too short');
  const chunk = new DataView(input.buffer, input.byteOffset, input.byteLength).getUint32(0, true);
  if (chunk < 1 || chunk > 65536) throw new Error('adler: chunk must be 1..65536');
  const data = input.subarray(4);
  const pieces = Math.ceil(data.length / chunk);
  const out = new Uint8Array(pieces * 4);
  const dv = new DataView(out.buffer);
  for (let p = 0; p < pieces; p++) {
    let s1 = 1, s2 = 0;
    for (const b of data.subarray(p * chunk, (p + 1) * chunk)) { s1 = (s1 + b) % 65521; s2 = (s2 + s1) % 65521; }
    dv.setUint32(p * 4, ((s2 << 16) | s1) >>> 0, true);
  }
  return out;
}

export function sample(seed: number): Uint8Array {
  let s = seed >>> 0;
  const next = () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 4294967296; };
  const n = Math.floor(next() * 600);
  const input = new Uint8Array(4 + n);
  new DataView(input.buffer).setUint32(0, 1 + Math.floor(next() * 80), true);
  for (let i = 4; i < input.length; i++) input[i] = Math.floor(next() * 256);
  return input;
}
`;

test('a task written from the scaffold is built, published to a running mesh and run as a 100-task job equal to its TypeScript reference', async () => {
  await withMesh({ devices: 4, fleet: { profiles: 'pi5-active,pi4-heatsink' } }, async (mesh, dir) => {
    const proj = join(dir, 'adler');
    const made = await run(['task', 'new', 'adler'], dir);
    assert.equal(made.code, 0, made.stderr);
    // write the new task into the scaffold
    const task = JSON.parse(readFileSync(join(proj, 'task.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(proj, 'task.json'), JSON.stringify({ ...task, version: '1.0.0', description: 'chunked Adler-32', layout: LAYOUT }, null, 2));
    writeFileSync(join(proj, 'assembly', 'index.ts'), TASK);
    writeFileSync(join(proj, 'test', 'reference.ts'), REFERENCE);
    writeFileSync(join(proj, 'inputs', 'example.json'), JSON.stringify({ chunk: 9, data: { text: 'Wikipedia' } }));

    const built = await run(['task', 'build'], proj);
    assert.equal(built.code, 0, built.stderr);
    const own = await projectTest(proj);
    assert.equal(own.code, 0, own.out);
    const local = await run(['task', 'run', '--input-json', 'inputs/example.json', '--json'], proj);
    assert.equal(local.code, 0, local.stderr);
    assert.deepEqual((JSON.parse(local.stdout) as { output: unknown }).output, { sums: [0x11e60398] }, 'Adler-32 of "Wikipedia"');

    const auth = ['--gateway', mesh.url, '--token-file', mesh.tokenFile];
    const pub = await run(['task', 'publish', ...auth], proj);
    assert.equal(pub.code, 0, pub.stderr);
    assert.match(pub.stdout, /^published adler@1\.0\.0 \(sha256 [0-9a-f]{64}, \d+ bytes\)$/m);

    // 100 inputs as JSON files, from the reference's own sample generator
    const refFile = join(dir, 'reference.mjs');
    writeFileSync(refFile, ts.transpileModule(REFERENCE, { compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 } }).outputText);
    const ref = (await import(pathToFileURL(refFile).href)) as { reference(i: Uint8Array): Uint8Array; sample(seed: number): Uint8Array };
    const layout = parseTaskLayout(LAYOUT);
    const inDir = join(dir, 'json-inputs');
    mkdirSync(inDir);
    const samples = Array.from({ length: 100 }, (_, i) => ref.sample(i + 1));
    samples.forEach((b, i) => writeFileSync(join(inDir, `${String(i).padStart(3, '0')}.json`), JSON.stringify(decodeValue(layout.input, b, 'input'))));

    const job = await run(['job', 'submit', ...auth, '--task', 'adler@1.0.0', '--input-json', inDir, '--wait', '--json', '--spot-check', '0.1'], dir);
    assert.equal(job.code, 0, job.stderr + job.stdout.slice(0, 2000));
    const out = JSON.parse(job.stdout) as { job: { state: string; task: string; totals: { tasks: number; done: number } }; results: Array<{ file: string; ok: boolean; output: unknown; outputHex: string; nodeId: string }> };
    assert.equal(out.job.state, 'done');
    assert.equal(out.job.task, 'adler@1.0.0');
    assert.equal(out.results.length, 100);
    out.results.forEach((r, i) => {
      assert.equal(r.file, `${String(i).padStart(3, '0')}.json`);
      assert.equal(r.ok, true);
      const expected = ref.reference(samples[i]!);
      assert.equal(r.outputHex, Buffer.from(expected).toString('hex'), `task ${i}: bytes equal the reference's`);
      assert.deepEqual(r.output, decodeValue(layout.output, expected), `task ${i}: decoded output`);
    });
    assert.ok(new Set(out.results.map((r) => r.nodeId)).size >= 2, 'spread over several simulated devices');

    // the human output shows each result and its status
    const human = await run(['job', 'submit', ...auth, '--task', 'adler', '--input-json', join(proj, 'inputs', 'example.json'), '--wait'], dir);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /\(adler@1\.0\.0\): done; 1 done, 0 failed/);
    assert.match(human.stdout, /example\.json\tok\t\{"sums":\[300286872\]\}\t[0-9a-f]{32}/);
  });
});
