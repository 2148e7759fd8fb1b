/**
 * The one door to o1js (an optional dependency: only a proving gateway and `swarmlet proof
 * check` of a ledger proof need it; the device agent never loads it). Imported lazily, so a
 * gateway without o1js runs with proofs disabled. The native backend (@o1js/native, a
 * prebuilt kimchi for this platform) proves ~2-3x faster than wasm; it is used when present
 * unless SWARMLET_ZK_BACKEND=wasm.
 */
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';

export type O1js = typeof import('o1js');

export class ZkUnavailable extends Error {
  override readonly name = 'ZkUnavailable';
}

let loading: Promise<O1js> | null = null;

/** Where compiled circuit keys are cached (shared by the gateway's prover, the benchmark and tests). */
export const defaultZkCache = (): string => process.env.SWARMLET_ZK_CACHE ?? join(homedir(), '.cache', 'swarmlet', 'zk');

function nativeInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve(`@o1js/native-${process.platform}-${process.arch}`);
    return true;
  } catch {
    return false;
  }
}

/** Which backend loadO1js picks (before it is loaded). */
export function zkBackend(): 'native' | 'wasm' {
  const want = process.env.SWARMLET_ZK_BACKEND;
  if (want === 'wasm') return 'wasm';
  return nativeInstalled() ? 'native' : 'wasm';
}

/**
 * Load o1js once. `importer` is for tests that simulate a missing package.
 * Throws ZkUnavailable with the reason when it cannot be loaded.
 */
export function loadO1js(importer: () => Promise<O1js> = () => import('o1js')): Promise<O1js> {
  loading ??= (async () => {
    let o: O1js;
    try {
      o = await importer();
    } catch (e) {
      loading = null;
      const missing = (e as { code?: string }).code === 'ERR_MODULE_NOT_FOUND';
      throw new ZkUnavailable(missing ? 'o1js is not installed (optional dependency; npm install o1js to enable ledger proofs)' : `o1js failed to load: ${(e as Error).message}`);
    }
    try { o.setBackend(zkBackend()); } catch { /* already initialised by an earlier caller */ }
    await o.initializeBindings();
    return o;
  })();
  return loading;
}

