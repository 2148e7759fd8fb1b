/**
 * The gateway's view of the task runtime (agent/runtime): the catalogue of task modules
 * (name -> hash and wasm) and a runner for re-executing tasks to check results. Loaded
 * lazily so a gateway process starts even where the tasks are not built; then it can
 * still accept jobs for nothing and says so in its log, and re-execution is off.
 */
import { seal } from '../protocol/envelope.js';
import type { Identity } from '../protocol/identity.js';
import type { TaskRunner } from '../agent/runtime/types.js';
import type { Logger } from '../util/log.js';
import type { TaskLayout } from '../protocol/layout.js';

export interface CatalogueEntryLike {
  name: string;
  hash: Uint8Array;
  hashHex: string;
  wasm: Uint8Array;
  description?: string;
  /** Typed input and output (catalogue entries declare one). */
  layout?: TaskLayout;
}

export interface GatewayRuntime {
  catalogue: { entries: readonly CatalogueEntryLike[] };
  /** null = no re-execution here (results are checked by redundancy alone). */
  runner: TaskRunner | null;
  /** The signed, retained `module` envelope for an entry (publisher = the gateway). */
  moduleEnvelope(entry: CatalogueEntryLike, publisher: Identity): Uint8Array;
}

/** A module envelope sealed here, for runtimes that do not provide one. */
export function sealModule(entry: CatalogueEntryLike, publisher: Identity, now = Date.now()): Uint8Array {
  return seal('module', { name: entry.name, hash: entry.hash, wasm: entry.wasm, description: (entry.description ?? '').slice(0, 1024), publishedAt: now }, publisher).bytes;
}

interface RuntimeModule {
  loadCatalogue(dir?: string): { entries: CatalogueEntryLike[] };
  createWorkerPool(opts?: { size?: number }): TaskRunner;
  publishModuleEnvelope?(entry: CatalogueEntryLike, publisher: Identity): Uint8Array;
}

/** Load agent/runtime's catalogue and a one-worker pool for spot checks. */
export async function loadRuntime(log: Logger, opts: { workers?: number; catalogueDir?: string } = {}): Promise<GatewayRuntime> {
  // A computed specifier keeps the runtime out of the gateway's static import graph.
  const spec = '../agent/runtime/index.js';
  let mod: RuntimeModule;
  try {
    mod = (await import(spec)) as RuntimeModule;
  } catch (e) {
    log.warn({ err: (e as Error).message }, 'task runtime not available: no catalogue, no re-execution');
    return { catalogue: { entries: [] }, runner: null, moduleEnvelope: sealModule };
  }
  let entries: CatalogueEntryLike[] = [];
  try {
    entries = mod.loadCatalogue(opts.catalogueDir).entries;
  } catch (e) {
    log.warn({ err: (e as Error).message }, 'task catalogue not found (run: swarmlet task build)');
  }
  const runner = mod.createWorkerPool({ size: opts.workers ?? 1 });
  const publishEnv = mod.publishModuleEnvelope;
  return {
    catalogue: { entries },
    runner,
    moduleEnvelope: publishEnv ? (e, p) => publishEnv(e, p) : sealModule,
  };
}
