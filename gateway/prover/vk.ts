/**
 * The ledger circuit's verification key, committed as gateway/prover/ledger-vk.json: what
 * `swarmlet proof check` and the dashboard verify a ledger proof against, without
 * compiling the circuit (minutes) and without taking the gateway's word for it. Anyone can
 * reproduce it from the source (`node dist/gateway/prover/vk.js --write` compiles and
 * rewrites it); the real-proof test fails when the circuit changes and the file does not.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as v from 'valibot';
import { fieldString, LEDGER_PROGRAM } from '../../protocol/ledger-proof.js';
import { cpuMs } from '../../util/cpu.js';
import { projectRoot } from '../../util/paths.js';
import { check } from '../../util/valid.js';

export const vkPath = (): string => join(projectRoot(), 'gateway', 'prover', 'ledger-vk.json');

const VkFile = v.strictObject({
  program: v.literal(LEDGER_PROGRAM),
  o1js: v.string(),
  hash: fieldString(),
  data: v.pipe(v.string(), v.regex(/^[A-Za-z0-9+/=]+$/)),
});
export type LedgerVk = v.InferOutput<typeof VkFile>;

export function readLedgerVk(file = vkPath()): LedgerVk {
  let raw: unknown;
  try { raw = JSON.parse(readFileSync(file, 'utf8')); } catch (e) { throw new Error(`cannot read the ledger verification key ${file}: ${(e as Error).message}`); }
  const r = check(VkFile, raw);
  if (!r.ok) throw new Error(`${file}: ${r.reason}`);
  return r.value;
}

export function o1jsVersion(): string {
  return (JSON.parse(readFileSync(join(projectRoot(), 'node_modules', 'o1js', 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * Compile the circuit with the key cache (`cache`), timed: its verification key as the file
 * would hold it, wall and CPU ms. Cold, this is minutes of CPU and ~3 GB.
 */
export async function compileLedgerVk(cache: string): Promise<{ vk: LedgerVk; ms: number; cpuMs: number }> {
  const { loadO1js } = await import('./o1js.js');
  const { defineLedger } = await import('./circuit.js');
  const o = await loadO1js();
  const t0 = performance.now();
  const c0 = cpuMs();
  const { verificationKey } = await defineLedger(o).program.compile({ cache: o.Cache.FileSystem(cache) });
  const vk: LedgerVk = { program: LEDGER_PROGRAM, o1js: o1jsVersion(), hash: verificationKey.hash.toString(), data: verificationKey.data };
  return { vk, ms: performance.now() - t0, cpuMs: cpuMs() - c0 };
}

// `node dist/gateway/prover/vk.js --write|--check [--cache DIR]`: compile (keys from and into
// the cache) and write the key file, or check that the committed one is this circuit's
// (exit 1 if not). scripts/run-tests.mjs runs --check in the background at low priority
// while the rest of the suite runs, so the o1js tests find the keys cached.
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/')) && (process.argv.includes('--write') || process.argv.includes('--check'))) {
  const { defaultZkCache } = await import('./o1js.js');
  const i = process.argv.indexOf('--cache');
  const cache = i > 0 ? process.argv[i + 1]! : defaultZkCache();
  const { vk, ms, cpuMs: cpu } = await compileLedgerVk(cache);
  const took = `compiled in ${(ms / 1000).toFixed(1)} s, ${(cpu / 1000).toFixed(1)} s CPU, keys cached in ${cache}`;
  if (process.argv.includes('--write')) {
    writeFileSync(vkPath(), JSON.stringify(vk, null, 2) + '\n');
    console.log(`wrote ${vkPath()} (vk hash ${vk.hash}; ${took})`);
  } else {
    const committed = readLedgerVk();
    const same = committed.hash === vk.hash && committed.data === vk.data;
    console.log(same ? `the committed verification key is this circuit's (${took})` : `the circuit changed: its vk hash is ${vk.hash}, the committed one ${committed.hash}; run \`node dist/gateway/prover/vk.js --write\` (${took})`);
    process.exitCode = same ? 0 : 1;
  }
}
