/**
 * bench/runtime: for every catalogue task, in one run, on the same input:
 *   metered wasm (what the agent runs) vs unmetered wasm vs the TypeScript reference,
 * plus cold start (instantiating the metered module) and tasks per second through the pool.
 * Prints a table and one JSON line. No thresholds: the targets (metering <= 1.25x unmetered,
 * median over tasks; wasm >= TS on most tasks) are printed next to the figures.
 *
 *   node dist/bench/runtime.js [--quick] [--liftoff] [--baseline DIST]
 * --liftoff keeps V8's baseline wasm compiler (what the pool avoids; see agent/runtime/tiering.ts).
 * --baseline DIST also meters every task with another build's instrumenter (e.g. main's
 * dist/) and times it in the same rounds, so the two overheads are measured side by side.
 */
import { availableParallelism } from 'node:os';
import { buildTasks } from '../agent/runtime/build-tasks.js';
import { loadCatalogue } from '../agent/runtime/catalogue.js';
import { checkAbi } from '../agent/runtime/abi-check.js';
import { execute, type MemoryShape } from '../agent/runtime/execute.js';
import { instrument, loadBinaryen } from '../agent/runtime/meter.js';
import { createWorkerPool } from '../agent/runtime/pool.js';
import { preferOptimizingCompiler } from '../agent/runtime/tiering.js';
import { REFERENCES } from '../test/runtime/references.js';
import { sampleInput } from '../test/runtime/inputs.js';

const quick = process.argv.includes('--quick');
const liftoff = process.argv.includes('--liftoff');
const turbofan = liftoff ? false : preferOptimizingCompiler();
const BUDGET_MS = quick ? 150 : 600;
const LIMITS = { fuel: Number.MAX_SAFE_INTEGER, memoryPages: 1024 };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const bi = process.argv.indexOf('--baseline');
const baselineDist = bi >= 0 ? process.argv[bi + 1] : undefined;
/** The median metering overhead last recorded before issue 12 (the call stack and bulk-memory metering). */
const LAST_RECORDED_METERING_X = 1.058;

/**
 * Median ms of each fn, run round-robin (so a load spike on this shared machine hits every
 * variant alike): at least 5 rounds, until the time budget is spent, at most 200.
 */
function timeAll(fns: (() => void)[]): number[] {
  for (const fn of fns) fn(); // warm up (tier-up, caches)
  const xs: number[][] = fns.map(() => []);
  const until = performance.now() + BUDGET_MS * fns.length;
  for (let round = 0; round < 5 || (performance.now() < until && round < 200); round++) {
    fns.forEach((fn, i) => {
      const t = performance.now();
      fn();
      xs[i]!.push(performance.now() - t);
    });
  }
  return xs.map((v) => median(v));
}

/** Median ms of fn over repeated runs (at least 5, until the time budget is spent, at most 200). */
function time(fn: () => void): number {
  fn(); // warm up (tier-up, caches)
  const xs: number[] = [];
  const until = performance.now() + BUDGET_MS;
  while (xs.length < 5 || (performance.now() < until && xs.length < 200)) {
    const t = performance.now();
    fn();
    xs.push(performance.now() - t);
  }
  xs.sort((a, b) => a - b);
  return xs[xs.length >> 1]!;
}

const f = (x: number, d = 3) => x.toFixed(d);

async function main(): Promise<void> {
  await buildTasks();
  const cat = loadCatalogue();
  const binaryen = await loadBinaryen();
  type Meter = typeof import('../agent/runtime/meter.js');
  const old = baselineDist ? (await import(`${baselineDist}/agent/runtime/meter.js`)) as Meter : null;
  const oldBinaryen = old ? await old.loadBinaryen() : null;
  const rows: Record<string, number | string>[] = [];
  for (const e of cat.entries) {
    const input = sampleInput(e.name, { size: 'bench' });
    const check = checkAbi(e.wasm);
    if (!check.ok) throw new Error(`${e.name}: ${check.message}`);
    const shape: MemoryShape = { initialPages: check.initialPages, maximumPages: check.maximumPages };
    const plain = new WebAssembly.Module(e.wasm as Uint8Array<ArrayBuffer>);
    const metered = new WebAssembly.Module(instrument(binaryen, e.wasm).wasm as Uint8Array<ArrayBuffer>);
    const ref = REFERENCES[e.name]!;
    const probe = execute(metered, input, LIMITS, shape);
    if (!probe.ok) throw new Error(`${e.name}: ${probe.error.kind}: ${probe.error.message}`);
    const check2 = execute(plain, input, LIMITS, shape);
    if (!check2.ok || Buffer.compare(check2.output, probe.output) !== 0 || Buffer.compare(ref(input), probe.output) !== 0) {
      throw new Error(`${e.name}: outputs differ between metered, unmetered and reference`);
    }
    const before = old ? new WebAssembly.Module(old.instrument(oldBinaryen!, e.wasm).wasm as Uint8Array<ArrayBuffer>) : null;
    const beforeProbe = before ? execute(before, input, LIMITS, shape) : null;
    if (beforeProbe && (!beforeProbe.ok || Buffer.compare(beforeProbe.output, probe.output) !== 0)) throw new Error(`${e.name}: the baseline's metered output differs`);
    const [meteredMs, plainMs, tsMs, beforeMs] = timeAll([
      () => execute(metered, input, LIMITS, shape),
      () => execute(plain, input, LIMITS, shape),
      () => ref(input),
      ...(before ? [() => execute(before, input, LIMITS, shape)] : []),
    ]) as [number, number, number, number | undefined];
    const coldMs = time(() => {
      const memory = new WebAssembly.Memory({ initial: shape.initialPages, maximum: 256 });
      new WebAssembly.Instance(metered, { env: { abort: () => { throw new Error('abort'); } }, swarmlet: { memory } });
    });
    rows.push({
      task: e.name, inputBytes: input.length, fuel: probe.fuel,
      meteredMs: meteredMs, unmeteredMs: plainMs, tsMs,
      meteringX: meteredMs / plainMs, tsOverWasmX: tsMs / meteredMs, coldStartMs: coldMs,
      fuelPerMs: probe.fuel / meteredMs,
      ...(beforeProbe && beforeMs !== undefined ? { fuelBefore: beforeProbe.fuel, meteringBeforeX: beforeMs / plainMs } : {}),
    });
  }

  // Tasks per second through the pool (small sha256 tasks: mostly the per-task overhead).
  const size = availableParallelism();
  const pool = createWorkerPool({ size, liftoff });
  const sha = cat.byName('sha256')!;
  const small = sampleInput('sha256', { seed: 3 });
  const n = quick ? 100 : 400;
  await Promise.all(Array.from({ length: size * 2 }, () => pool.run(sha.wasm, small))); // warm workers and cache
  const t0 = performance.now();
  const outs = await Promise.all(Array.from({ length: n }, () => pool.run(sha.wasm, small)));
  const poolMs = performance.now() - t0;
  await pool.close();
  if (outs.some((o) => !o.ok)) throw new Error('pool run failed');
  const shaShape = { initialPages: 1, maximumPages: null };
  const shaMod = new WebAssembly.Module(instrument(binaryen, sha.wasm).wasm as Uint8Array<ArrayBuffer>);
  const directMs = time(() => execute(shaMod, small, LIMITS, shaShape));

  const cols = ['task', 'inputBytes', 'fuel', ...(old ? ['fuelBefore'] : []), 'meteredMs', 'unmeteredMs', 'tsMs', 'meteringX', ...(old ? ['meteringBeforeX'] : []), 'tsOverWasmX', 'coldStartMs'];
  const cell = (r: Record<string, number | string>, c: string) => {
    const v = r[c]!;
    return typeof v === 'string' ? v : c.endsWith('X') ? `${f(v, 2)}x` : c.startsWith('fuel') || c === 'inputBytes' ? String(v) : f(v);
  };
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r, c).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padStart(widths[i]!)).join('  ');
  console.log(`bench/runtime: metered wasm vs unmetered wasm vs TypeScript reference (median ms per task, fresh instance each; wasm compiler: ${turbofan ? 'TurboFan' : 'V8 default (Liftoff first)'})`);
  console.log(line([...cols]));
  for (const r of rows) console.log(line(cols.map((c) => cell(r, c))));
  const meteringMedian = median(rows.map((r) => r.meteringX as number));
  const wasmWins = rows.filter((r) => (r.tsOverWasmX as number) >= 1).length;
  console.log('');
  const beforeMedian = old ? median(rows.map((r) => r.meteringBeforeX as number)) : null;
  console.log(`metering overhead, median over tasks: ${f(meteringMedian, 3)}x (target <= 1.25x; last recorded ${f(LAST_RECORDED_METERING_X, 3)}x${beforeMedian !== null ? `; baseline in this run ${f(beforeMedian, 3)}x, ratio ${f(meteringMedian / beforeMedian, 3)}` : ''})`);
  console.log(`metered wasm at least as fast as TS on ${wasmWins}/${rows.length} tasks (target: most)`);
  console.log(`cold start (instantiate metered module), median: ${f(median(rows.map((r) => r.coldStartMs as number)), 3)} ms`);
  console.log(`pool (${size} workers): ${f(n / (poolMs / 1000), 0)} tasks/s of sha256 on ${small.length} bytes; same task direct in-thread: ${f(1000 / directMs, 0)} tasks/s`);
  console.log(JSON.stringify({
    bench: 'runtime', node: process.version, cores: size, quick, wasmCompiler: turbofan ? 'turbofan' : 'v8-default',
    tasks: rows, meteringMedianX: meteringMedian, meteringBeforeMedianX: beforeMedian, lastRecordedMeteringX: LAST_RECORDED_METERING_X, wasmFasterThanTsCount: wasmWins, taskCount: rows.length,
    pool: { workers: size, tasks: n, tasksPerSec: n / (poolMs / 1000), directTasksPerSec: 1000 / directMs, inputBytes: small.length },
  }));
}

main().catch((e: unknown) => {
  console.error(`bench/runtime: ${(e as Error)?.stack ?? String(e)}`);
  process.exitCode = 1;
});
