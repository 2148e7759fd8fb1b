/**
 * Instrumented (metered) modules on disk, by the hash of the original module: the package
 * ships the catalogue pre-metered (tasks/build/metered/, made by `swarmlet task build`), and
 * an agent keeps the ones it metered itself under its data folder. binaryen costs ~100 MB
 * resident and seconds to load on a small board; with the store it loads only for a module
 * this device has never seen.
 *
 * Files live under a folder named for the metering rules (METERING_VERSION plus a hash of
 * meter.js itself), so a module metered by other rules is never used: fuel numbers stay
 * those of the code that runs here.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256Hex } from '../../protocol/hash.js';
import { METERING_VERSION } from './meter.js';

export interface MeteredStore {
  /** The instrumented bytes for the original module's hash (hex), if stored. */
  get(hashHex: string): Uint8Array | undefined;
  /** Keep instrumented bytes (best effort: a cache). */
  put(hashHex: string, wasm: Uint8Array): void;
}

/** Set by scripts/bundle-agent.mjs in the device bundle, where meter.js is not a file of its own. */
declare const SWARMLET_METER_FP: string | undefined;
let fp: string | undefined;
/** Names the metering rules: METERING_VERSION and the instrumenter's own code (meter.js). */
export function meteringFingerprint(): string {
  if (typeof SWARMLET_METER_FP === 'string') return SWARMLET_METER_FP;
  return (fp ??= `v${METERING_VERSION}-${sha256Hex(readFileSync(new URL('./meter.js', import.meta.url))).slice(0, 16)}`);
}

const HEX = /^[0-9a-f]{64}$/;
/** Most modules a device keeps metered (each a few KB to a MB). */
const MAX_FILES = 64;

/** Reads from `readOnly` folders (the shipped catalogue) and `writable` (the device's cache); writes to `writable`. */
export function fileMeteredStore(opts: { readOnly?: string[]; writable?: string }): MeteredStore {
  const sub = meteringFingerprint();
  const dirs = [...(opts.readOnly ?? []), ...(opts.writable ? [opts.writable] : [])].map((d) => join(d, sub));
  let own: string | null = null;
  if (opts.writable) {
    own = join(opts.writable, sub);
    try {
      // Modules metered by older rules are of no use any more.
      for (const d of readdirSync(opts.writable)) if (d !== sub) rmSync(join(opts.writable, d), { recursive: true, force: true });
    } catch { /* not there yet */ }
  }
  return {
    get(hashHex) {
      if (!HEX.test(hashHex)) return undefined;
      for (const d of dirs) {
        try {
          return new Uint8Array(readFileSync(join(d, `${hashHex}.wasm`)));
        } catch { /* not in this one */ }
      }
      return undefined;
    },
    put(hashHex, wasm) {
      if (!own || !HEX.test(hashHex)) return;
      try {
        mkdirSync(own, { recursive: true });
        const file = join(own, `${hashHex}.wasm`);
        // Called after metering afresh: replaces a damaged file; a full folder takes no more.
        if (!existsSync(file) && readdirSync(own).length >= MAX_FILES) return;
        const tmp = `${file}.${process.pid}.tmp`;
        writeFileSync(tmp, wasm);
        renameSync(tmp, file);
      } catch { /* a cache only */ }
    },
  };
}

/**
 * Meter every module of a built catalogue into `outDir/<fingerprint>/<hash>.wasm`, with the
 * instrumenter the runtime uses; folders for other rules are removed. Returns how many were made.
 */
export async function premeterCatalogue(modules: { hashHex: string; wasm: Uint8Array }[], outDir: string): Promise<number> {
  const sub = meteringFingerprint();
  const dir = join(outDir, sub);
  try {
    for (const d of readdirSync(outDir)) if (d !== sub && !d.endsWith('.tmp')) rmSync(join(outDir, d), { recursive: true, force: true });
  } catch { /* first build */ }
  const todo = modules.filter((m) => !existsSync(join(dir, `${m.hashHex}.wasm`)));
  if (todo.length === 0) return 0;
  const { instrument, loadBinaryen } = await import('./meter.js');
  const binaryen = await loadBinaryen();
  mkdirSync(dir, { recursive: true });
  for (const m of todo) {
    // Under a private name first: parallel builds must never see half a file.
    const file = join(dir, `${m.hashHex}.wasm`);
    writeFileSync(`${file}.${process.pid}.tmp`, instrument(binaryen, m.wasm).wasm);
    renameSync(`${file}.${process.pid}.tmp`, file);
  }
  return todo.length;
}
