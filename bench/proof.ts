/**
 * bench/proof: the recursive ledger prover (gateway/prover), as the gateway's prover process
 * runs it (LedgerFolder, the default backend: native when @o1js/native is installed):
 *  - prove time per fold step for batches of 10, 100 and 1,000 receipts (a step always
 *    proves 1,024 slots, so the cost is per step, not per receipt);
 *  - verify time and proof size at heights 1, 2 and 8 (must stay constant);
 *  - prover memory (peak RSS of this process, which holds only the prover);
 *  - beside each wall time the CPU time of this process (all threads): this machine is
 *    shared, and CPU seconds do not grow with other processes' load the way wall time does;
 *  - receipts proved per second by one prover vs the gateway's receipt intake rate
 *    (bench/lib-intake, measured in the same run) and vs the issue's goal of 100/s.
 * Run: npm run bench -- proof   (SWARMLET_BENCH_QUICK=1: 4 steps instead of 8;
 * SWARMLET_BENCH_PROOF_OUT=FILE keeps the last proof, e.g. to time a cold verifier)
 * The compiled keys come from the shared cache ($SWARMLET_ZK_CACHE or ~/.cache/swarmlet/zk);
 * a cold cache adds the compile (several minutes), reported separately.
 */
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
import { intakePart } from './lib-intake.js';
import { fmt, json, table } from './lib.js';

const QUICK = process.env.SWARMLET_BENCH_QUICK === '1';
const dir = mkdtempSync(join(tmpdir(), 'swarmlet-bench-proof-'));
const sizes = QUICK ? [10, 100, 1000, 1000] : [10, 100, 1000, 1000, 1000, 1000, 1000, 1000];
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

const steps: Array<{ height: number; receipts: number; proveMs: number; proveCpuMs: number; verifyMs?: number; verifyCpuMs?: number; proofBytes?: number }> = [];
for (let i = 0; i < sizes.length; i++) {
  const n = sizes[i]!;
  const rows = receipts(n);
  t0 = performance.now();
  c0 = cpuMs();
  const p = await f.fold(i + 1, rows);
  const step: (typeof steps)[number] = { height: i + 1, receipts: n, proveMs: performance.now() - t0, proveCpuMs: cpuMs() - c0 };
  if ([1, 2, sizes.length].includes(i + 1)) {
    const vk = (await import('../gateway/prover/vk.js')).readLedgerVk().data;
    t0 = performance.now();
    c0 = cpuMs();
    const ok = await o.verify(p.proof, vk);
    step.verifyMs = performance.now() - t0;
    step.verifyCpuMs = cpuMs() - c0;
    if (!ok) throw new Error(`proof at height ${i + 1} does not verify`);
    step.proofBytes = Buffer.from(p.proof.proof, 'base64').length;
  }
  steps.push(step);
  if (process.env.SWARMLET_BENCH_PROOF_OUT) writeFileSync(process.env.SWARMLET_BENCH_PROOF_OUT, JSON.stringify(p));
  console.log(`# step ${i + 1}: ${n} receipts, ${fmt(step.proveMs / 1000, 1)} s${step.verifyMs ? `, verify ${fmt(step.verifyMs)} ms` : ''}`);
}
f.close();
rmSync(dir, { recursive: true, force: true });

const big = steps.filter((s) => s.receipts === 1000);
const per1000 = big.reduce((a, s) => a + s.proveMs, 0) / big.length;
const provedPerSec = 1000 / (per1000 / 1000);
const load1 = loadavg()[0]!;

table(`Fold steps (backend ${zkBackend()}, ${cpus().length} cores, load ${fmt(load0, 1)} -> ${fmt(load1, 1)}; open incl. compile/cache and genesis ${fmt(openMs / 1000, 1)} s, ${fmt(openCpuMs / 1000, 1)} s CPU)`,
  ['height', 'receipts in batch', 'prove s', 'prove CPU s', 'verify ms', 'verify CPU ms', 'proof bytes'],
  steps.map((s) => [s.height, s.receipts, fmt(s.proveMs / 1000, 1), fmt(s.proveCpuMs / 1000, 1), s.verifyMs === undefined ? '' : fmt(s.verifyMs),
    s.verifyCpuMs === undefined ? '' : fmt(s.verifyCpuMs), s.proofBytes ?? '']));
table('Receipts per second: one prover vs intake (same run)', ['measure', 'receipts/s', 'ratio to intake'], [
  ['gateway receipt intake (verify + chain + store, fsync)', fmt(intake.intakePerSec), '1.00'],
  ['one prover, batches of 1,000 (mean step)', fmt(provedPerSec, 1), fmt(provedPerSec / intake.intakePerSec, 4)],
  ['goal', '100', fmt(100 / intake.intakePerSec, 4)],
]);
console.log(`prover peak RSS ${fmt(rssMb())} MB; goals: verify <= 500 ms and constant size (see table), >= 100 receipts/s: ${provedPerSec >= 100 ? 'met' : 'MISSED'}`);
json('proof', {
  backend: zkBackend(), cores: cpus().length, loadavg: [load0, load1], openMs, openCpuMs, steps, provedPerSec, intakePerSec: intake.intakePerSec, peakRssMb: rssMb(),
});
