/**
 * Not a test by itself: test/runtime/tiers.test.ts runs this script in child processes with
 * V8's Liftoff tier on and off and compares what they print. It runs every catalogue task
 * and every hostile case whose outcome does not depend on the machine's speed (no
 * deadlines), each twice on a two-worker pool, and prints one JSON line per run:
 * {name, kind, fuel, out (sha256 of the output)}.
 */
import { createHash } from 'node:crypto';
import { createWorkerPool } from '../../agent/runtime/index.js';
import { HOSTILE_CASES } from './hostile-modules.js';
import { sampleInput, TASK_NAMES } from './inputs.js';
import { catalogue } from './helpers.js';
import { abiModule } from './wat.js';

const cat = await catalogue();
const pool = createWorkerPool({ size: 2 });
const cases: { name: string; module: Uint8Array; input: Uint8Array; limits: object }[] = [];
for (const name of TASK_NAMES) {
  for (const seed of [1, 2]) cases.push({ name: `${name}/${seed}`, module: cat.byName(name)!.wasm, input: sampleInput(name, { seed }), limits: {} });
  // The same task just short of its fuel: fuel-exhausted where a loop or call charges.
  cases.push({ name: `${name}/short`, module: cat.byName(name)!.wasm, input: sampleInput(name, { seed: 1 }), limits: { fuel: 12_345 } });
}
for (const c of HOSTILE_CASES) {
  if (c.kind !== 'timeout') cases.push({ name: c.name, module: c.module(), input: new Uint8Array([1, 2, 3]), limits: c.limits });
}
// Bulk memory with a length from the input.
const fill = abiModule('(memory.fill (i32.const 0) (i32.const 9) (i32.load (local.get $p))) (i64.const 0)');
for (const n of [0, 1, 1000, 65_000]) cases.push({ name: `memory.fill of ${n}`, module: fill, input: new Uint8Array(new Uint32Array([n]).buffer), limits: {} });

for (let round = 0; round < 2; round++) {
  const outs = await Promise.all(cases.map((c) => pool.run(c.module, c.input, c.limits)));
  outs.forEach((o, i) => {
    const out = o.ok ? createHash('sha256').update(o.output).digest('hex') : null;
    process.stdout.write(JSON.stringify({ name: cases[i]!.name, kind: o.ok ? 'ok' : o.error.kind, fuel: o.fuel, out }) + '\n');
  });
}
await pool.close();
