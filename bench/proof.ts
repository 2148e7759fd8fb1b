/**
 * bench/proof: the recursive ledger prover (gateway/prover), as the gateway's prover process
 * runs it (LedgerFolder, the default backend: native when @o1js/native is installed):
 *  - CPU and wall time per proof step: one batch of 10, 100 and 1,000 receipts (`fold`), and
 *    two batches of 1,000 (`fold2`, what the prover runs while it is behind); a step's cost
 *    is its circuit's size, not its receipts;
 *  - verify time and proof size at steps 1, 2 and the last (must stay constant), and a warm
 *    verify repeated (CPU time: min and median of 5) as `swarmlet proof check` runs it
 *    (o1js `verify` against the committed key);
 *  - prover memory (peak RSS of this process, which holds only the prover);
 *  - receipts proved per CPU-second and per second by one prover vs the gateway's receipt
 *    intake rate (bench/lib-intake, measured in the same run) and vs the goal of 100/s.
 * Side by side with a baseline: SWARMLET_BENCH_PROOF_BASELINE=DIR runs DIR's built
 * dist/bench/proof.js first (another checkout, e.g. the previous circuit, keys from its
 * own cache: SWARMLET_BENCH_PROOF_BASELINE_CACHE, else the default one; its length:
 * SWARMLET_BENCH_PROOF_BASELINE_QUICK, else as this run's) and prints the two runs'
 * numbers and their ratios.
 * Run: npm run bench -- proof   (SWARMLET_BENCH_QUICK=1: 4 steps instead of 8;
 * SWARMLET_BENCH_PROOF_OUT=FILE keeps the last proof, e.g. to time a cold verifier)
 * The compiled keys come from the shared cache ($SWARMLET_ZK_CACHE or ~/.cache/swarmlet/zk);
 * a cold cache adds the compile (several minutes), reported separately.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, loadavg, cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { priceToMicro } from '../protocol/ledger-proof.js';
import { LedgerFolder, type ProverReceipt } from '../gateway/prover/folder.js';
import { cpuMs } from '../util/cpu.js';
import { loadO1js, zkBackend } from '../gateway/prover/o1js.js';
import { defaultZkCache } from '../gateway/prover/o1js.js';
import { readLedgerVk } from '../gateway/prover/vk.js';
import { intakePart } from './lib-intake.js';
import { fmt, json, percentile, table } from './lib.js';

const QUICK = process.env.SWARMLET_BENCH_QUICK === '1';
const BASELINE = process.env.SWARMLET_BENCH_PROOF_BASELINE;

interface Summary { cpuPerReceipt: number; provedPerCpuSec: number; provedPerSec: number; stepCpuMs: number; warmVerifyCpuMs: number; proofBytes: number; peakRssMb: number; openCpuMs: number }

/** The baseline checkout's run: its output passed through, its BENCH_JSON summarised. */
function baseline(dir: string): Summary | null {
  console.log(`# baseline: ${dir}/dist/bench/proof.js`);
  // Its keys come from its own cache (another circuit): SWARMLET_BENCH_PROOF_BASELINE_CACHE, else the default.
  const env: NodeJS.ProcessEnv = { ...process.env, SWARMLET_BENCH_PROOF_BASELINE: '', SWARMLET_BENCH_PROOF_OUT: '' };
  delete env.SWARMLET_ZK_CACHE;
  if (process.env.SWARMLET_BENCH_PROOF_BASELINE_CACHE) env.SWARMLET_ZK_CACHE = process.env.SWARMLET_BENCH_PROOF_BASELINE_CACHE;
  if (process.env.SWARMLET_BENCH_PROOF_BASELINE_QUICK) env.SWARMLET_BENCH_QUICK = process.env.SWARMLET_BENCH_PROOF_BASELINE_QUICK;
  const r = spawnSync(process.execPath, [join(dir, 'dist', 'bench', 'proof.js')], { cwd: dir, encoding: 'utf8', env, maxBuffer: 64 << 20 });
  process.stdout.write((r.stdout ?? '').replace(/^/gm, '  | '));
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('BENCH_JSON '));
  if (r.status !== 0 || !line) { console.log(`# baseline failed (exit ${r.status}): ${(r.stderr ?? '').slice(-500)}`); return null; }
  const b = JSON.parse(line.slice('BENCH_JSON '.length)) as { steps: Array<{ receipts: number; proveCpuMs: number; proveMs: number; verifyCpuMs?: number; proofBytes?: number }>; peakRssMb: number; openCpuMs: number; warmVerify?: { cpuMs: number[] } };
  const full = b.steps.filter((s) => s.receipts >= 1000);
  const cpu = full.reduce((a, s) => a + s.proveCpuMs, 0);
  const wall = full.reduce((a, s) => a + s.proveMs, 0);
  const n = full.reduce((a, s) => a + s.receipts, 0);
  const verifies = b.warmVerify?.cpuMs ?? b.steps.slice(1).map((s) => s.verifyCpuMs).filter((x): x is number => x !== undefined);
  return {
    cpuPerReceipt: cpu / n, provedPerCpuSec: n / (cpu / 1000), provedPerSec: n / (wall / 1000), stepCpuMs: cpu / full.length,
    warmVerifyCpuMs: percentile([...verifies].sort((x, y) => x - y), 50), proofBytes: b.steps.find((s) => s.proofBytes)?.proofBytes ?? 0, peakRssMb: b.peakRssMb, openCpuMs: b.openCpuMs,
  };
}

const base = BASELINE ? baseline(BASELINE) : null;

const dir = mkdtempSync(join(tmpdir(), 'swarmlet-bench-proof-'));
/** Receipts per batch of each step: one batch, or two (a fold2 step). */
const plan: number[][] = QUICK ? [[10], [1000], [1000, 1000], [1000, 1000]] : [[10], [100], [1000], [1000, 1000], [1000, 1000], [1000, 1000], [1000, 1000], [1000, 1000]];
const rssMb = () => Math.round(process.resourceUsage().maxRSS / 1024);

const receipts = (n: number): ProverReceipt[] => Array.from({ length: n }, (_, i) => ({
  id: randomBytes(32).toString('hex'), nodeId: randomBytes(16).toString('hex'), taskId: `job-${i >> 6}.${i}`,
  fuel: String(20_000 + i), price: String(priceToMicro(1.25)),
}));

const intake = await intakePart(join(dir, 'intake'), QUICK ? 4096 : 8192);
const load0 = loadavg()[0]!;
const o = await loadO1js();
let t0 = performance.now();
let c0 = cpuMs();
const f = await LedgerFolder.open({ o1js: o, dataDir: join(dir, 'gw'), cacheDir: defaultZkCache() });
const openMs = performance.now() - t0;
const openCpuMs = cpuMs() - c0;
const vk = readLedgerVk().data;

type Step = { step: number; height: number; batches: number; receipts: number; proveMs: number; proveCpuMs: number; verifyMs?: number; verifyCpuMs?: number; proofBytes?: number };
const steps: Step[] = [];
let p = f.latest!;
for (let i = 0; i < plan.length; i++) {
  const [a, b] = plan[i]!.map(receipts);
  t0 = performance.now();
  c0 = cpuMs();
  p = await f.fold(f.height + 1, a!, b);
  const step: Step = { step: i + 1, height: p.state.height, batches: plan[i]!.length, receipts: a!.length + (b?.length ?? 0), proveMs: performance.now() - t0, proveCpuMs: cpuMs() - c0 };
  if ([1, 2, plan.length].includes(i + 1)) {
    t0 = performance.now();
    c0 = cpuMs();
    const ok = await o.verify(p.proof, vk);
    step.verifyMs = performance.now() - t0;
    step.verifyCpuMs = cpuMs() - c0;
    if (!ok) throw new Error(`proof at step ${i + 1} does not verify`);
    step.proofBytes = Buffer.from(p.proof.proof, 'base64').length;
  }
  steps.push(step);
  if (process.env.SWARMLET_BENCH_PROOF_OUT) writeFileSync(process.env.SWARMLET_BENCH_PROOF_OUT, JSON.stringify(p));
  console.log(`# step ${i + 1}: ${plan[i]!.join(' + ')} receipts, ${fmt(step.proveMs / 1000, 1)} s, ${fmt(step.proveCpuMs / 1000, 1)} s CPU${step.verifyMs ? `, verify ${fmt(step.verifyMs)} ms` : ''}`);
}
// A warm verify, repeated: the cost `swarmlet proof check` pays per proof once its verifier is
// set up (o1js verify against the key as committed), and the compiled program's own verify.
const timed = async (check: () => Promise<boolean>) => {
  const r = { ms: [] as number[], cpuMs: [] as number[] };
  for (let i = 0; i < 5; i++) {
    t0 = performance.now();
    c0 = cpuMs();
    if (!await check()) throw new Error('the last proof does not verify');
    r.ms.push(performance.now() - t0);
    r.cpuMs.push(cpuMs() - c0);
  }
  return r;
};
const warmVerify = await timed(() => o.verify(p.proof, vk));
const programVerify = await timed(() => f.verify(p));
f.close();
rmSync(dir, { recursive: true, force: true });

const sorted = (xs: number[]) => [...xs].sort((x, y) => x - y);
// Throughput as the prover runs while behind: steps of full batches (two per step where the circuit has fold2).
const full = steps.filter((s) => s.receipts >= 1000);
const maxBatches = Math.max(...full.map((s) => s.batches));
const busy = full.filter((s) => s.batches === maxBatches);
const sum = (xs: Step[], k: 'proveMs' | 'proveCpuMs' | 'receipts') => xs.reduce((a, s) => a + s[k], 0);
const provedPerSec = sum(busy, 'receipts') / (sum(busy, 'proveMs') / 1000);
const provedPerCpuSec = sum(busy, 'receipts') / (sum(busy, 'proveCpuMs') / 1000);
const load1 = loadavg()[0]!;
const warmCpu = percentile(sorted(warmVerify.cpuMs), 50);

table(`Proof steps (backend ${zkBackend()}, ${cpus().length} cores, load ${fmt(load0, 1)} -> ${fmt(load1, 1)}; open incl. compile/cache and genesis ${fmt(openMs / 1000, 1)} s, ${fmt(openCpuMs / 1000, 1)} s CPU)`,
  ['step', 'height', 'receipts', 'prove s', 'prove CPU s', 'receipts / CPU s', 'verify ms', 'verify CPU ms', 'proof bytes'],
  steps.map((s) => [s.step, s.height, s.batches > 1 ? `${s.receipts} (${s.batches} batches)` : s.receipts, fmt(s.proveMs / 1000, 1), fmt(s.proveCpuMs / 1000, 1),
    fmt(s.receipts / (s.proveCpuMs / 1000), 1), s.verifyMs === undefined ? '' : fmt(s.verifyMs), s.verifyCpuMs === undefined ? '' : fmt(s.verifyCpuMs), s.proofBytes ?? '']));
const spread = (xs: number[]) => [fmt(sorted(xs)[0]!), fmt(percentile(sorted(xs), 50)), fmt(sorted(xs)[xs.length - 1]!)];
table('Warm verify of the last proof, 5 times each', ['measure', 'min', 'median', 'max'], [
  ['o1js verify(proof, committed key) wall ms (as `swarmlet proof check`)', ...spread(warmVerify.ms)],
  ['o1js verify(proof, committed key) CPU ms', ...spread(warmVerify.cpuMs)],
  ['compiled program.verify(proof) wall ms', ...spread(programVerify.ms)],
  ['compiled program.verify(proof) CPU ms', ...spread(programVerify.cpuMs)],
]);
table('Receipts per second: one prover vs intake (same run)', ['measure', 'receipts/s', 'ratio to intake'], [
  ['gateway receipt intake (verify + chain + store, fsync)', fmt(intake.intakePerSec), '1.00'],
  [`one prover, steps of ${maxBatches} x 1,000 receipts (wall, this load)`, fmt(provedPerSec, 1), fmt(provedPerSec / intake.intakePerSec, 4)],
  [`one prover, per CPU-second (a 2-core idle machine proves ~2x this)`, fmt(provedPerCpuSec, 1), fmt(provedPerCpuSec / intake.intakePerSec, 4)],
  ['goal', '100', fmt(100 / intake.intakePerSec, 4)],
]);
if (base) {
  const stepCpu = sum(busy, 'proveCpuMs') / busy.length;
  const rows: Array<[string, number, number, number]> = [
    ['receipts proved per CPU-second', base.provedPerCpuSec, provedPerCpuSec, 1],
    ['receipts proved per second (wall)', base.provedPerSec, provedPerSec, 1],
    ['CPU s per busy step', base.stepCpuMs / 1000, stepCpu / 1000, 1],
    ['CPU ms per receipt', base.cpuPerReceipt, sum(busy, 'proveCpuMs') / sum(busy, 'receipts'), 1],
    ['warm verify CPU ms (median)', base.warmVerifyCpuMs, warmCpu, 0],
    ['proof bytes', base.proofBytes, steps.find((s) => s.proofBytes)?.proofBytes ?? 0, 0],
    ['peak RSS MB', base.peakRssMb, rssMb(), 0],
    ['open (keys from cache + genesis) CPU s', base.openCpuMs / 1000, openCpuMs / 1000, 1],
  ];
  table(`Side by side: baseline ${BASELINE} vs this checkout (same run)`, ['measure', 'baseline', 'this', 'this / baseline'],
    rows.map(([m, b, t, d]) => [m, fmt(b, d), fmt(t, d), fmt(t / b, 2)]));
}
console.log(`prover peak RSS ${fmt(rssMb())} MB; goals: verify <= 500 ms (warm median ${fmt(warmCpu)} ms CPU) and constant size (see table), >= 100 receipts/s: ${provedPerSec >= 100 ? 'met' : 'MISSED'}`);
json('proof', {
  backend: zkBackend(), cores: cpus().length, loadavg: [load0, load1], openMs, openCpuMs, steps, warmVerify, programVerify, provedPerSec, provedPerCpuSec,
  intakePerSec: intake.intakePerSec, peakRssMb: rssMb(), baseline: base,
});
