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

// `node dist/gateway/prover/vk.js --write [--cache DIR]`: compile and write the key file.
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/')) && process.argv.includes('--write')) {
  const { loadO1js } = await import('./o1js.js');
  const { defineLedger } = await import('./circuit.js');
  const { defaultZkCache } = await import('./o1js.js');
  const i = process.argv.indexOf('--cache');
  const cache = i > 0 ? process.argv[i + 1]! : defaultZkCache();
  const o = await loadO1js();
  const t0 = performance.now();
  const { verificationKey } = await defineLedger(o).program.compile({ cache: o.Cache.FileSystem(cache) });
  const out: LedgerVk = { program: LEDGER_PROGRAM, o1js: o1jsVersion(), hash: verificationKey.hash.toString(), data: verificationKey.data };
  writeFileSync(vkPath(), JSON.stringify(out, null, 2) + '\n');
  console.log(`wrote ${vkPath()} (vk hash ${out.hash}, compiled in ${Math.round((performance.now() - t0) / 1000)} s)`);
}
